// Readiness on real LiteFS 0.5.11 (docs/design.md section 6): a primary whose app boots for 2 s
// answers /health 503 until the app accepts connections, then 200; rows written through the
// mount are untouched by the wait. Timings are printed, not asserted (they belong to the bench).

import t from 'tap';
import { freePort } from '../../testkit/wait.js';
import { waitFor } from '../helpers/wait.js';
import { createCluster, FIXTURES, skipUnlessReal } from './harness.js';

if (!skipUnlessReal(t)) {
  t.setTimeout(120_000);

  t.test('/health waits for the app to accept connections', async (t) => {
    const c = await createCluster(t, ['node-a']);
    const a = c.node('node-a');
    const port = await freePort();
    a.configure({
      env: { PORT: String(port), FIXTURE_LISTEN_DELAY_MS: '2000' },
      exec: [
        {
          cmd: c.supervisorCmd(a, {
            extra: ['--app-ready', `tcp://localhost:${port}`],
            app: `node ${FIXTURES}app-forever.mjs`,
          }),
        },
      ],
    });
    a.start();
    const started = await a.waitEvent('app.started', 30_000);
    const early = await a.health('/health');
    t.equal(early.status, 503, 'the app started and does not accept connections yet: 503');
    t.match(early.body, { reason: /not ready yet/ });
    t.equal((await a.health('/primary')).status, 503, '/primary waits too');
    const ready = await a.waitEvent('app.ready', 20_000);
    t.equal(ready.pid, started.pid, 'the app that started is the one that became ready');
    t.comment(`boot time reported: ${ready.bootMs} ms (the app listens after 2000 ms)`);
    t.ok(Number(ready.bootMs) >= 1900, 'not ready before the app listened');
    await waitFor(async () => (await a.health('/health')).status === 200, {
      timeoutMs: 5000,
      message: '/health 200 once ready',
    });
    const status = (await a.health('/status')).body as { app: { ready: boolean; bootMs: number } };
    t.match(status.app, { ready: true, bootMs: Number(ready.bootMs) });
    a.exec("INSERT INTO visits (user_agent) VALUES ('after ready')");
    t.equal(a.rows('visits'), 1, 'the primary takes writes');
  });
}
