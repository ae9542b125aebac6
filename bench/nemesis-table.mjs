// `node bench/nemesis-table.mjs [--readme] FILE.json...`: the nemesis results (npm run nemesis)
// as one Markdown table, a row per seed and setup (sorted by schedule, seed, setup), with the load
// average at each run's start and end, then the runs' total wall time. With --readme, the README's
// form: a row per seed, the two setups side by side (lost acknowledged writes beyond LiteFS's
// asynchronous window, those in it, emptied nodes, writes from two nodes at once, the longest and
// total time without an acknowledged write), then the totals; a seed needs both setups' runs.

import { readFileSync } from 'node:fs';

const readme = process.argv[2] === '--readme';
const files = process.argv.slice(readme ? 3 : 2);
if (files.length === 0) {
  console.error('usage: node bench/nemesis-table.mjs [--readme] bench/results/nemesis-*.json');
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
if (readme) {
  printReadme(runs);
  process.exit(0);
}
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

function printReadme(all) {
  const seeds = [...new Set(all.filter((r) => r.schedule === 'random').map((r) => r.seed))];
  const pick = (seed, setup) =>
    all.filter((r) => r.schedule === 'random' && r.seed === seed && r.setup === setup).at(-1);
  const lost = (r) =>
    `${r.lostAcked - r.asyncWindowLost}${r.asyncWindowLost ? ` (+${r.asyncWindowLost})` : ''}`;
  const secs = (ms) => (ms / 1000).toFixed(1);
  const avail = (r) => `${secs(r.longestUnavailableMs)} / ${secs(r.totalUnavailableMs)}`;
  // The end state: ok, or what doctor names on each node that neither serves nor was left
  // stopped (its first finding: LiteFS refusing a truncated db, a history-lost holder), or FAIL
  // when one has none.
  const end = (r) => {
    if (r.liveness.ok) return 'ok';
    const bad = r.liveness.nodes.filter(
      (n) => !['healthy', 'stopped', 'waiting'].includes(n.state),
    );
    if (bad.some((n) => (n.doctor?.length ?? 0) === 0)) return 'FAIL';
    const ids = bad.map((n) => n.doctor[0].split(':')[0]);
    return [...new Set(ids)]
      .map(
        (id) =>
          `${id}${ids.filter((x) => x === id).length > 1 ? ` ×${ids.filter((x) => x === id).length}` : ''}`,
      )
      .join(', ');
  };
  const cells = (r) => [lost(r), String(r.emptied), String(r.twoWriters), avail(r), end(r)];
  console.log(
    '| seed | steps | supervisor: lost | emptied | two writers | no write, longest / total (s) | end | exec block: lost | emptied | two writers | no write, longest / total (s) | end |',
  );
  console.log(`|${new Array(12).fill('---').join('|')}|`);
  const sum = { supervisor: [0, 0, 0, 0, 0, 0, 0, 0], 'litefs-exec': [0, 0, 0, 0, 0, 0, 0, 0] };
  let rows = 0;
  for (const seed of seeds.sort((a, b) => a - b)) {
    const s = pick(seed, 'supervisor');
    const e = pick(seed, 'litefs-exec');
    if (!s || !e) continue;
    rows++;
    for (const [setup, r] of [
      ['supervisor', s],
      ['litefs-exec', e],
    ]) {
      const t = sum[setup];
      t[0] += r.lostAcked - r.asyncWindowLost;
      t[1] += r.asyncWindowLost;
      t[2] += r.emptied;
      t[3] += r.twoWriters;
      t[4] += r.totalUnavailableMs;
      t[5] = Math.max(t[5], r.longestUnavailableMs);
      t[6] += r.acked;
      t[7] += r.lostAcked - r.asyncWindowLost > 0 ? 1 : 0;
    }
    console.log(`| ${seed} | ${s.steps} | ${cells(s).join(' | ')} | ${cells(e).join(' | ')} |`);
  }
  const total = (t) => [
    `**${t[0]}**${t[1] ? ` (+${t[1]})` : ''} of ${t[6]} acknowledged, in ${t[7]} of ${rows} runs`,
    `**${t[2]}**`,
    `**${t[3]}**`,
    `${secs(t[5])} / ${secs(t[4])}`,
    '',
  ];
  console.log(
    `| ${rows} seeds | | ${total(sum.supervisor).join(' | ')} | ${total(sum['litefs-exec']).join(' | ')} |`,
  );
}
