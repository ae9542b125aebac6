// (f) Health API throughput and latency at concurrency 50 (BENCH_HEALTH_CONCURRENCY), keep-alive, against a running
// supervisor in standalone mode.

import http from 'node:http';
import { IDLE_APP, percentile, spawnCli, standaloneArgs, tmp } from './lib.mjs';

const total = Number(process.env.BENCH_HEALTH_REQUESTS ?? 20_000);
const concurrency = Number(process.env.BENCH_HEALTH_CONCURRENCY ?? 50);
const { dir, done } = tmp('health');
const cli = spawnCli([...standaloneArgs(dir), '--health-addr', '127.0.0.1:0', '--', ...IDLE_APP]);
await cli.waitFor('event=state.running');
const base = /event=health\.listen url=(\S+)/.exec(cli.stderr())[1];
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const one = () =>
  new Promise((resolve, reject) => {
    const t0 = performance.now();
    http
      .get(`${base}/health`, { agent }, (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(performance.now() - t0)
            : reject(new Error(`status ${res.statusCode}`)),
        );
      })
      .on('error', reject);
  });
// warm-up
for (let i = 0; i < 500; i++) await one();
const latencies = [];
let next = 0;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < total) {
      next++;
      latencies.push(await one());
    }
  }),
);
const secs = (performance.now() - t0) / 1000;
console.log(`health_requests=${latencies.length}`);
console.log(`health_concurrency=${concurrency}`);
console.log(`health_throughput_rps=${(latencies.length / secs).toFixed(0)}`);
console.log(`health_latency_p50_ms=${percentile(latencies, 50).toFixed(2)}`);
console.log(`health_latency_p99_ms=${percentile(latencies, 99).toFixed(2)}`);
console.log(`health_latency_max_ms=${Math.max(...latencies).toFixed(2)}`);
console.log('health_p99_budget_ms=5');
agent.destroy();
await cli.stop();
done();
