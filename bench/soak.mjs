// Soak (docs/reliability.md, "Soak"; not part of npm test): BENCH_SOAK_SECONDS (default
// 3600) of role flaps and app restarts against a fake LiteFS. Every minute
// (BENCH_SOAK_GC_SAMPLE_MS) the supervisor itself forces a full GC and records its RSS and heap
// (bench/gc-sampler.mjs, preloaded with --expose-gc); every 10 s this script samples RSS and
// open fds from /proc and checks /health/live. The forced-GC samples go to BENCH_SOAK_OUT (JSON
// lines, default bench/results/soak-<date>.jsonl) and their curve to BENCH_SOAK_SVG (default
// docs/soak-rss.svg). Prints the figures and whether RSS levels off.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { FakeLitefs } from '../dist-testkit/testkit/fake-litefs.js';
import { fdCount, get, litefsArgs, NODE, procStats, ROOT, spawnCli, tmp } from './lib.mjs';
import { soakSvg } from './soak-plot.mjs';

const seconds = Number(process.env.BENCH_SOAK_SECONDS ?? 3600);
const gcEveryMs = Number(process.env.BENCH_SOAK_GC_SAMPLE_MS ?? 60_000);
const started = new Date();
const stamp = started.toISOString().slice(0, 16).replace(/[:T]/g, '-');
const outFile = process.env.BENCH_SOAK_OUT ?? join(ROOT, `bench/results/soak-${stamp}.jsonl`);
const svgFile = process.env.BENCH_SOAK_SVG ?? join(ROOT, 'docs/soak-rss.svg');
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, '');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// The app lives 1-4 s, then exits 1: --restart always brings it back (backoff 1 s .. 30 s).
const APP = [NODE, '-e', 'setTimeout(() => process.exit(1), 1000 + Math.random() * 3000)'];

const fake = await FakeLitefs.start({ role: { replicaOf: 'node-b' }, dbs: ['sqlite.db'] });
const { dir, done } = tmp('soak');
const cli = spawnCli(
  [
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
  ],
  {
    nodeArgs: ['--expose-gc', '--import', join(ROOT, 'bench/gc-sampler.mjs')],
    env: { GC_SAMPLE_FILE: outFile, GC_SAMPLE_MS: String(gcEveryMs) },
  },
);
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
await cli.stop();
await fake.close();
done();

const gcSamples = readFileSync(outFile, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l));
const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`;
console.log(`soak_date=${started.toISOString()}`);
console.log(`soak_machine="${machine}"`);
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
console.log(`soak_gc_samples=${gcSamples.length}`);
console.log(`soak_gc_file=${outFile}`);
if (gcSamples.length >= 4) {
  // Levelling off: the second half of the run against the first half's end. A process that
  // levels off grows by less than 1 MB of RSS (and 0.5 MB of heap) over its second half.
  const half = gcSamples.filter((s) => s.t >= gcSamples.at(-1).t / 2);
  const first = half[0];
  const end = gcSamples.at(-1);
  const rssGrowth = end.rssMb - first.rssMb;
  const heapGrowth = end.heapUsedMb - first.heapUsedMb;
  console.log(`soak_gc_rss_first_mb=${gcSamples[0].rssMb.toFixed(1)}`);
  console.log(`soak_gc_rss_half_mb=${first.rssMb.toFixed(1)}`);
  console.log(`soak_gc_rss_last_mb=${end.rssMb.toFixed(1)}`);
  console.log(`soak_gc_heap_first_mb=${gcSamples[0].heapUsedMb.toFixed(2)}`);
  console.log(`soak_gc_heap_half_mb=${first.heapUsedMb.toFixed(2)}`);
  console.log(`soak_gc_heap_last_mb=${end.heapUsedMb.toFixed(2)}`);
  console.log(`soak_gc_rss_growth_second_half_mb=${rssGrowth.toFixed(2)}`);
  console.log(`soak_gc_heap_growth_second_half_mb=${heapGrowth.toFixed(2)}`);
  console.log(`soak_levels_off=${rssGrowth < 1 && heapGrowth < 0.5 ? 'yes' : 'no'}`);
  mkdirSync(dirname(svgFile), { recursive: true });
  writeFileSync(
    svgFile,
    soakSvg(
      gcSamples,
      `soak ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${Math.round(seconds / 60)} min, ${flaps} role flaps, ${restarts} app restarts (MB after a full GC)`,
    ),
  );
  console.log(`soak_svg=${svgFile}`);
}
