// (e) Signal forwarding: SIGTERM to the supervisor until the app receives it. Both clocks are
// performance.timeOrigin + now(), comparable across processes on one machine.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NODE, report, runs, spawnCli, standaloneArgs, tmp } from './lib.mjs';

const APP = `
const fs = require('fs');
process.on('SIGTERM', () => { fs.writeFileSync(process.env.GOT, String(performance.timeOrigin + performance.now())); process.exit(0); });
fs.writeFileSync(process.env.READY, '1');
setInterval(() => {}, 1 << 30);
`;

const xs = [];
for (let i = 0; i < runs; i++) {
  const { dir, done } = tmp('signal');
  const got = join(dir, 'got');
  const ready = join(dir, 'ready');
  const cli = spawnCli([...standaloneArgs(dir), '--health-addr', 'off', '--', NODE, '-e', APP], {
    env: { GOT: got, READY: ready },
  });
  await cli.waitFor('event=state.running');
  for (let n = 0; n < 2000; n++) {
    try {
      readFileSync(ready);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  await new Promise((r) => setTimeout(r, 100));
  const sent = performance.timeOrigin + performance.now();
  cli.child.kill('SIGTERM');
  await cli.exited;
  xs.push(Number(readFileSync(got, 'utf8')) - sent);
  done();
}
report('signal_forward', xs, 'ms', 2);
console.log('signal_forward_budget_ms=10');
