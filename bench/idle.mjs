// (c) Idle RSS and CPU as a synced replica with default intervals, over BENCH_IDLE_SECONDS
// (default 60), next to a bare `node` HTTP server's RSS.

import { spawn } from 'node:child_process';
import { FakeLitefs } from '../dist-testkit/testkit/fake-litefs.js';
import { IDLE_APP, litefsArgs, median, NODE, procStats, spawnCli, tmp } from './lib.mjs';

const seconds = Number(process.env.BENCH_IDLE_SECONDS ?? 60);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const bare = spawn(NODE, ['-e', "require('http').createServer((q,s)=>s.end('ok')).listen(0)"], {
  stdio: 'ignore',
});
await sleep(1000);
const bareRss = procStats(bare.pid).rssBytes;
bare.kill('SIGTERM');

const fake = await FakeLitefs.start({ role: { replicaOf: 'primary-host' }, dbs: ['sqlite.db'] });
const { dir, done } = tmp('idle');
const cli = spawnCli([...litefsArgs(fake, dir), '--health-addr', '127.0.0.1:0', '--', ...IDLE_APP]);
await cli.waitFor('event=app.started');
await sleep(2000); // let start-up work settle
const pid = cli.child.pid;
const start = procStats(pid);
const rss = [];
const t0 = performance.now();
while (performance.now() - t0 < seconds * 1000) {
  await sleep(Math.min(5000, seconds * 200));
  rss.push(procStats(pid).rssBytes);
}
const end = procStats(pid);
const wall = (performance.now() - t0) / 1000;
const cpuPct = ((end.cpuSeconds - start.cpuSeconds) / wall) * 100;
const mb = (b) => (b / 1024 / 1024).toFixed(1);
console.log(`idle_seconds=${wall.toFixed(0)}`);
console.log(`idle_rss_bare_node_mb=${mb(bareRss)}`);
console.log(`idle_rss_supervisor_mb=${mb(median(rss))}`);
console.log(`idle_rss_supervisor_mb_min=${mb(Math.min(...rss))}`);
console.log(`idle_rss_supervisor_mb_max=${mb(Math.max(...rss))}`);
console.log(`idle_rss_over_bare_mb=${mb(median(rss) - bareRss)}`);
console.log('idle_rss_budget_over_bare_mb=20');
console.log(`idle_cpu_percent_of_core=${cpuPct.toFixed(3)}`);
console.log('idle_cpu_budget_percent=0.15');
await cli.stop();
await fake.close();
done();
