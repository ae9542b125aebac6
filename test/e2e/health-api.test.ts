// End to end on the built CLI (standalone mode, no LiteFS needed): health api.

import t from 'tap';
import { FIXTURES, getJson, startCli } from '../helpers/cli.js';
import { node, standalone } from '../helpers/standalone.js';
import { waitFor } from '../helpers/wait.js';

t.test('the health API answers as docs/design.md section 7 says', async (t) => {
  const s = standalone(t);
  const cli = startCli(t, [...s.args, '--', node, `${FIXTURES}app-forever.mjs`], { env: s.env });
  await cli.waitEvent('app.started');
  const url = await cli.healthUrl();
  await waitFor(async () => (await getJson(`${url}/health`)).status === 200, {
    timeoutMs: 5000,
    message: 'healthy',
  });
  t.match((await getJson(`${url}/health`)).body, { ok: true, state: 'running', role: 'primary' });
  t.equal((await getJson(`${url}/health/live`)).status, 200);
  t.equal((await getJson(`${url}/primary`)).status, 200);
  const replica = await getJson(`${url}/replica`);
  t.equal(replica.status, 503);
  t.ok(replica.headers.get('retry-after'));
  const status = await getJson(`${url}/status`);
  t.equal(status.status, 200);
  t.match(status.body, {
    state: 'running',
    role: 'primary',
    app: { state: 'running' },
    standalone: true,
  });
  t.ok(Array.isArray(status.body.transitions) && (status.body.transitions as unknown[]).length > 0);
  t.equal((await getJson(`${url}/replica?max_lag=nonsense`)).status, 400);
  const head = await fetch(`${url}/health`, { method: 'HEAD' });
  t.equal(head.status, 200);
  const post = await getJson(`${url}/health`, { method: 'POST' });
  t.equal(post.status, 405);
  t.match(post.body, { ok: false });
  const missing = await getJson(`${url}/nope`);
  t.equal(missing.status, 404);
  t.match(missing.body, { ok: false });
  const metrics = await fetch(`${url}/metrics`);
  t.match(await metrics.text(), /litefs_supervisor_state\{state="running"\} 1/);
  t.notOk(
    cli.events().some((e) => e.startsWith('request')),
    'no request logging at info',
  );
  cli.child.kill('SIGTERM');
  await cli.exited;
});
