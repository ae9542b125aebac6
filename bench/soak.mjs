// Soak (issue 4; not part of npm test): BENCH_SOAK_SECONDS (default 600) of role flaps and
// app restarts against a fake LiteFS, sampling the supervisor's RSS and open file descriptors.
// Prints the figures and whether they grew beyond noise after the first minute.

import { FakeLitefs } from '../dist/sim/fake-litefs.js';
import { fdCount, get, litefsArgs, NODE, procStats, spawnCli, tmp } from './lib.mjs';

const seconds = Number(process.env.BENCH_SOAK_SECONDS ?? 600);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// The app lives 1-4 s, then exits 1: --restart always brings it back (backoff 1 s .. 30 s).
const APP = [NODE, '-e', 'setTimeout(() => process.exit(1), 1000 + Math.random() * 3000)'];

const fake = await FakeLitefs.start({ role: { replicaOf: 'node-b' }, dbs: ['sqlite.db'] });
const { dir, done } = tmp('soak');
const cli = spawnCli([
  ...litefsArgs(fake, dir),
  '--health-addr',
  '127.0.0.1:0',
  '--restart',
  'always',
  '--restart-max',
  '100000',
  '--migrate',
  `${NODE} -e "0"`,
  '--poll-interval',
  '200ms',
  '--',
  ...APP,
]);
await cli.waitFor('event=app.started');
const url = /event=health\.listen url=(\S+)/.exec(cli.stderr())[1];
const pid = cli.child.pid;

const samples = [];
let flaps = 0;
let liveFailures = 0;
const t0 = performance.now();
let nextSample = 0;
while (performance.now() - t0 < seconds * 1000) {
  // One flap: primary for a moment, no primary, replica of another node.
  const step = flaps % 3;
  if (step === 0) fake.becomePrimary();
  else if (step === 1) fake.loseLeader();
  else {
    fake.becomeReplica(flaps % 2 ? 'node-b' : 'node-c');
    fake.setLag(5);
  }
  flaps++;
  await sleep(700);
  if ((await get(`${url}/health/live`)) !== 200) liveFailures++;
  const elapsed = (performance.now() - t0) / 1000;
  if (elapsed >= nextSample) {
    const { rssBytes } = procStats(pid);
    samples.push({ t: elapsed, rssMb: rssBytes / 2 ** 20, fds: fdCount(pid) });
    nextSample += 10;
  }
}
const restarts = (cli.stderr().match(/event=app\.backoff/g) ?? []).length;
const after = samples.filter((s) => s.t >= 60);
const base = after[0] ?? samples[0];
const last = samples.at(-1);
const maxRss = Math.max(...samples.map((s) => s.rssMb));
console.log(`soak_seconds=${((performance.now() - t0) / 1000).toFixed(0)}`);
console.log(`soak_role_flaps=${flaps}`);
console.log(`soak_app_restarts=${restarts}`);
console.log(`soak_live_failures=${liveFailures}`);
console.log(`soak_rss_first_mb=${samples[0].rssMb.toFixed(1)}`);
console.log(`soak_rss_after_1min_mb=${base.rssMb.toFixed(1)}`);
console.log(`soak_rss_last_mb=${last.rssMb.toFixed(1)}`);
console.log(`soak_rss_max_mb=${maxRss.toFixed(1)}`);
console.log(`soak_fds_after_1min=${base.fds}`);
console.log(`soak_fds_last=${last.fds}`);
const rssGrowth = last.rssMb - base.rssMb;
const grew = rssGrowth > 5 || last.fds > base.fds + 2;
console.log(`soak_rss_growth_mb=${rssGrowth.toFixed(1)}`);
console.log(`soak_grew_beyond_noise=${grew ? 'yes' : 'no'}`);
await cli.stop();
await fake.close();
done();
