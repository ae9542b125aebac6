// npm run bench: every benchmark in turn, each printing name=value lines; then every budgeted
// figure next to its budget, and exit 1 when one is missed (or a benchmark failed), so a
// regression is visible. BENCH_RUNS sets the repetitions (default 7), BENCH_IDLE_SECONDS the
// idle window (default 60). `node bench/run.mjs startup idle` runs only those; `memory` (the
// account by module, bench/memory.mjs) and `soak` (an hour) run only when named.

import { spawnSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

/** The budgets of docs/performance.md; `max` is inclusive. */
export const BUDGETS = [
  { figure: 'startup_ratio', max: 1.5, what: 'start-up, x bare node' },
  { figure: 'idle_rss_over_bare_mb', max: 20, what: 'idle RSS over bare node, MB' },
  { figure: 'idle_cpu_percent_of_core', max: 0.15, what: 'idle CPU, % of a core' },
  { figure: 'reaction_events_ms', max: 50, what: 'reaction to primaryChange, ms' },
  { figure: 'reaction_polling_only_ms', max: 1050, what: 'reaction, polling only, ms' },
  { figure: 'signal_forward_ms', max: 10, what: 'signal forwarding, ms' },
  { figure: 'health_latency_p99_ms', max: 5, what: 'health p99 at concurrency 50, ms' },
];

const only = process.argv.slice(2);
const all = ['startup', 'replica-path', 'reaction', 'signal', 'health', 'idle'];
console.log(`bench_date=${new Date().toISOString()}`);
console.log(
  `bench_machine="${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}"`,
);
console.log(`bench_load_average_1m=${loadavg()[0].toFixed(1)}`);
const figures = new Map();
const failed = [];
const names = only.length > 0 ? only : all;
for (const name of names) {
  console.log(`# ${name}`);
  const r = spawnSync(
    process.execPath,
    [fileURLToPath(new URL(`./${name}.mjs`, import.meta.url))],
    { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 64 * 2 ** 20 },
  );
  process.stdout.write(r.stdout ?? '');
  for (const line of (r.stdout ?? '').split('\n')) {
    const m = /^([a-z0-9_]+)=(-?[0-9.]+)$/.exec(line.trim());
    if (m) figures.set(m[1], Number(m[2]));
  }
  if (r.status !== 0) failed.push(name);
}
console.log(`bench_load_average_1m_end=${loadavg()[0].toFixed(1)}`);

console.log('\n# budgets');
let missed = 0;
for (const b of BUDGETS) {
  const value = figures.get(b.figure);
  if (value === undefined) {
    // Not run this time (a subset was asked for): nothing to compare.
    if (only.length === 0) {
      missed++;
      console.log(`${b.figure.padEnd(28)} ${'-'.padStart(9)}  <= ${b.max}  MISSING (${b.what})`);
    }
    continue;
  }
  const ok = value <= b.max;
  if (!ok) missed++;
  console.log(
    `${b.figure.padEnd(28)} ${String(value).padStart(9)}  <= ${String(b.max).padEnd(5)} ${ok ? 'met   ' : 'MISSED'} (${b.what})`,
  );
}
for (const name of failed) console.log(`benchmark ${name} failed (non-zero exit)`);
console.log(`bench_budgets_missed=${missed}`);
process.exit(missed === 0 && failed.length === 0 ? 0 : 1);
