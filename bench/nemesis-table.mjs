// `node bench/nemesis-table.mjs FILE.json...`: the nemesis results (npm run nemesis) as one
// Markdown table, a row per seed and setup (sorted by schedule, seed, setup), with the load
// average at each run's start and end, then the runs' total wall time.

import { readFileSync } from 'node:fs';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node bench/nemesis-table.mjs bench/results/nemesis-*.json');
  process.exit(2);
}
const runs = files
  .map((f) => JSON.parse(readFileSync(f, 'utf8')))
  .sort(
    (a, b) =>
      a.schedule.localeCompare(b.schedule) ||
      a.seed - b.seed ||
      a.setup.localeCompare(b.setup) ||
      b.nodes - a.nodes ||
      a.startedAt.localeCompare(b.startedAt),
  );
const liveness = (r) =>
  r.liveness.ok
    ? 'ok'
    : r.liveness.nodes
        .filter((n) => n.state !== 'healthy' && n.state !== 'stopped')
        .map((n) => `${n.node} ${n.state}${n.exitCode == null ? '' : ` ${n.exitCode}`}`)
        .join(', ');
const rows = [
  [
    'seed',
    'setup',
    'steps',
    'acked',
    'lost',
    'asyncWindowLost',
    'emptied',
    'twoWriters',
    'failed',
    'longest / total unavailable (ms)',
    'liveness',
    'wall (s)',
    'load start/end',
    'UTC',
  ],
  ...runs.map((r) => [
    (r.schedule === 'random' ? String(r.seed) : r.schedule) +
      (r.nodes === 3 ? '' : ` (${r.nodes} nodes)`),
    r.setup,
    String(r.steps),
    String(r.acked),
    String(r.lostAcked),
    String(r.asyncWindowLost),
    String(r.emptied),
    String(r.twoWriters),
    String(r.failedRequests),
    `${r.longestUnavailableMs} / ${r.totalUnavailableMs}`,
    liveness(r),
    (r.wallMs / 1000).toFixed(0),
    `${r.load.start[0].toFixed(1)}/${r.load.end[0].toFixed(1)}`,
    r.startedAt.slice(11, 16),
  ]),
];
console.log(`| ${rows[0].join(' | ')} |`);
console.log(`|${rows[0].map(() => '---').join('|')}|`);
for (const row of rows.slice(1)) console.log(`| ${row.join(' | ')} |`);
const wall = runs.reduce((s, r) => s + r.wallMs, 0);
console.log(
  `\n${runs.length} runs, ${(wall / 60_000).toFixed(1)} min of schedules (setup and teardown not included)`,
);
