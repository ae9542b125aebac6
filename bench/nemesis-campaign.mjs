// `node bench/nemesis-campaign.mjs --seeds 1-10 [--steps 10] [--setups supervisor,litefs-exec]
//   [--incident]` (after `npm run build && npm run build:testkit`): one `bench/nemesis.mjs` run
// per seed and setup, one after another (each in its own process, so a run that fails does not
// end the campaign), the same seeds for every setup. Each run stores its JSON in bench/results/
// and its progress in /tmp/nemesis-logs/campaign-<setup>-<seed>.err (each node's output in the
// run's log dir, which that file names); the summary lines go to stdout as runs end,
// then the table (bench/nemesis-table.mjs) of this campaign's runs and its wall time. --incident
// adds the seed incident's schedule (the positive control) for every setup.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1-10' },
    steps: { type: 'string', default: '10' },
    setups: { type: 'string', default: 'supervisor,litefs-exec' },
    incident: { type: 'boolean', default: false },
  },
  strict: true,
});
const m = /^(\d+)(?:-(\d+))?$/.exec(values.seeds);
if (!m) {
  console.error(`--seeds must be N or N-M (got ${values.seeds})`);
  process.exit(2);
}
const seeds = [];
for (let s = Number(m[1]); s <= Number(m[2] ?? m[1]); s++) seeds.push(s);
const setups = values.setups.split(',');
const root = new URL('..', import.meta.url).pathname;
const results = join(root, 'bench/results');
const before = new Set(readdirSync(results));
mkdirSync('/tmp/nemesis-logs', { recursive: true });

const started = Date.now();
const runs = [
  ...(values.incident ? setups.map((setup) => ['--schedule', 'incident', '--setup', setup]) : []),
  ...seeds.flatMap((seed) =>
    setups.map((setup) => ['--seed', String(seed), '--steps', values.steps, '--setup', setup]),
  ),
];
for (const args of runs) {
  const tag = args.join(' ');
  console.error(`${new Date().toISOString()} ${tag} (load ${loadavg()[0].toFixed(1)})`);
  const r = spawnSync(process.execPath, [join(root, 'bench/nemesis.mjs'), ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
  const name = `campaign-${args[args.indexOf('--setup') + 1]}-${args.includes('--seed') ? args[args.indexOf('--seed') + 1] : 'incident'}`;
  writeFileSync(join('/tmp/nemesis-logs', `${name}.err`), r.stderr);
  const line = r.stdout.trim() || `${tag}: run failed (exit ${r.status}): ${r.stderr.slice(-500)}`;
  console.log(line);
}
const mine = readdirSync(results)
  .filter((f) => f.startsWith('nemesis-') && f.endsWith('.json') && !before.has(f))
  .map((f) => join(results, f));
console.log('');
const table = spawnSync(process.execPath, [join(root, 'bench/nemesis-table.mjs'), ...mine], {
  encoding: 'utf8',
});
console.log(table.stdout);
console.log(
  `campaign wall time ${((Date.now() - started) / 60_000).toFixed(1)} min, ${runs.length} runs`,
);
