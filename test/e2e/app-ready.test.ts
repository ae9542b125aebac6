// Readiness on the built CLI (standalone, no LiteFS): with --app-ready, /health answers 503
// while the app boots and 200 once it accepts connections; an app that never does is stopped
// and the run exits 6 (docs/design.md sections 6, 7 and 9).

import { existsSync } from 'node:fs';
import t from 'tap';
import { freePort } from '../../testkit/wait.js';
import { FIXTURES, getJson, startCli } from '../helpers/cli.js';
import { node, standalone } from '../helpers/standalone.js';
import { waitFor } from '../helpers/wait.js';

t.test('/health waits for the app to accept connections', async (t) => {
  const port = await freePort();
  const s = standalone(t, ['--app-ready', `tcp://localhost:${port}`]);
  const cli = startCli(t, [...s.args, '--', node, `${FIXTURES}app-forever.mjs`], {
    env: { ...s.env, PORT: String(port), FIXTURE_LISTEN_DELAY_MS: '1500' },
  });
  const started = await cli.waitEvent('app.started');
  const url = await cli.healthUrl();
  const early = await getJson(`${url}/health`);
  t.equal(early.status, 503, 'started, not ready: 503');
  t.match(early.body, { reason: /not ready yet/ });
  t.match((await getJson(`${url}/status`)).body, { app: { state: 'running', ready: false } });
  const ready = await cli.waitEvent('app.ready', undefined, 10_000);
  t.ok(Number(ready.bootMs) >= 1400, `boot time ${ready.bootMs} ms`);
  t.equal(ready.pid, started.pid);
  await waitFor(async () => (await getJson(`${url}/health`)).status === 200, {
    timeoutMs: 5000,
    message: 'healthy once ready',
  });
  t.match((await getJson(`${url}/status`)).body, { app: { ready: true } });
  cli.child.kill('SIGTERM');
  await cli.exited;
});

t.test(
  'never ready within --app-ready-timeout: the app is stopped and the run exits 6',
  async (t) => {
    const port = await freePort();
    const s = standalone(t, [
      '--app-ready',
      `tcp://127.0.0.1:${port}`,
      '--app-ready-timeout',
      '1s',
    ]);
    const readyFile = `${s.dir}/ready.json`;
    // No PORT: the app never listens.
    const cli = startCli(t, [...s.args, '--', node, `${FIXTURES}app-forever.mjs`], {
      env: { ...s.env, FIXTURE_READY_FILE: readyFile },
    });
    const started = await cli.waitEvent('app.started');
    const end = await cli.exited;
    t.equal(end.code, 6);
    t.ok(cli.events().includes('app.not-ready'));
    t.ok(existsSync(readyFile), 'the app ran');
    const pid = Number(started.pid);
    t.throws(() => process.kill(pid, 0), 'the app was stopped with the run');
  },
);
