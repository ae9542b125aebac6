// The real-LiteFS files (test/real/), in a serial pass of their own after the fast suite: each
// starts LiteFS nodes, a Consul stand-in and FUSE mounts, and their timings (leases, TTLs,
// handoffs) must not compete with another file for the 2 cores. One tap run per file, one at a
// time; each file's wall time is printed (`real-litefs: FILE Ns`). Exits non-zero when any
// file failed. Without LiteFS, root or FUSE each file reports itself skipped with the reason,
// except in CI (CI=true): there a real suite that cannot run fails the run, so the proof on real
// LiteFS can never vanish from a green CI.

import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

if (process.env.CI === 'true') {
  const { realSkipReason } = await import('../dist-testkit/testkit/real-litefs.js');
  const reason = realSkipReason();
  if (reason !== undefined) {
    console.error(`real-litefs: CI=true and the real-LiteFS suite cannot run here: ${reason}`);
    process.exit(1);
  }
}

const dir = 'test/real';
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.test.ts'))
  .sort()
  .map((f) => join(dir, f));
let failed = 0;
const times = [];
for (const file of files) {
  const started = Date.now();
  const r = spawnSync('npx', ['tap', '--jobs=1', '--disable-coverage', file], { stdio: 'inherit' });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  times.push(`real-litefs: ${file} ${seconds}s${r.status === 0 ? '' : ' (failed)'}`);
  console.log(times.at(-1));
  if (r.status !== 0) failed += 1;
}
console.log(times.join('\n'));
process.exit(failed === 0 ? 0 : 1);
