// (a) Start-up: spawn to the first 200 from /health/live, next to a bare `node` HTTP server
// (the floor), and the ratio. Standalone mode, so nothing but the supervisor is measured.

import { spawn } from 'node:child_process';
import {
  freePort,
  IDLE_APP,
  NODE,
  report,
  runs,
  spawnCli,
  standaloneArgs,
  tmp,
  until,
} from './lib.mjs';

const BARE =
  "require('http').createServer((q,s)=>s.end('ok')).listen(Number(process.env.PORT),'127.0.0.1')";

async function bare() {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(NODE, ['-e', BARE], {
    stdio: 'ignore',
    env: { ...process.env, PORT: String(port) },
  });
  const t1 = await until(`http://127.0.0.1:${port}/`);
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
  return t1 - t0;
}

async function supervisor() {
  const port = await freePort();
  const { dir, done } = tmp('startup');
  const t0 = performance.now();
  const cli = spawnCli([
    ...standaloneArgs(dir),
    '--health-addr',
    `127.0.0.1:${port}`,
    '--',
    ...IDLE_APP,
  ]);
  const t1 = await until(`http://127.0.0.1:${port}/health/live`);
  await cli.stop();
  done();
  return t1 - t0;
}

const b = [];
const s = [];
for (let i = 0; i < runs; i++) {
  b.push(await bare());
  s.push(await supervisor());
}
report('startup_bare_node', b, 'ms');
report('startup_supervisor', s, 'ms');
const sorted = (xs) => [...xs].sort((x, y) => x - y);
const med = (xs) => sorted(xs)[Math.floor(xs.length / 2)];
console.log(`startup_ratio=${(med(s) / med(b)).toFixed(2)}`);
console.log('startup_budget_ratio=1.5');
