// npm run bench: every benchmark in turn, each printing name=value lines. BENCH_RUNS sets the
// repetitions (default 7), BENCH_IDLE_SECONDS the idle window (default 60).

import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

const only = process.argv.slice(2);
const all = ['startup', 'replica-path', 'reaction', 'signal', 'health', 'idle'];
console.log(`bench_date=${new Date().toISOString()}`);
console.log(
  `bench_machine="${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}"`,
);
let failed = 0;
for (const name of only.length > 0 ? only : all) {
  console.log(`# ${name}`);
  const r = spawnSync(
    process.execPath,
    [fileURLToPath(new URL(`./${name}.mjs`, import.meta.url))],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
