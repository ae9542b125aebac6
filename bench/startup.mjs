// (a) Start-up: spawn to the first 200 from /health/live, next to a bare `node` HTTP server
// (the floor), and the ratio. Standalone mode, so nothing but the supervisor is measured. Also
// the CPU time (user + system, all threads, 10 ms ticks) each process used until that answer:
// unlike wall time it hardly moves when other work loads the machine.

import { spawn } from 'node:child_process';
import {
  freePort,
  IDLE_APP,
  median,
  NODE,
  procStats,
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
  const cpuMs = procStats(child.pid).cpuSeconds * 1000;
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
  return { ms: t1 - t0, cpuMs };
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
  const cpuMs = procStats(cli.child.pid).cpuSeconds * 1000;
  await cli.stop();
  done();
  return { ms: t1 - t0, cpuMs };
}

const b = [];
const s = [];
for (let i = 0; i < runs; i++) {
  b.push(await bare());
  s.push(await supervisor());
}
const wall = (xs) => xs.map((x) => x.ms);
const cpu = (xs) => xs.map((x) => x.cpuMs);
report('startup_bare_node', wall(b), 'ms');
report('startup_supervisor', wall(s), 'ms');
report('startup_bare_node_cpu', cpu(b), 'ms', 0);
report('startup_supervisor_cpu', cpu(s), 'ms', 0);
console.log(`startup_ratio=${(median(wall(s)) / median(wall(b))).toFixed(2)}`);
console.log(`startup_cpu_ratio=${(median(cpu(s)) / median(cpu(b))).toFixed(2)}`);
console.log('startup_budget_ratio=1.5');
