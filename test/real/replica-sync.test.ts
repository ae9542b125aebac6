// Real LiteFS 0.5.11: a replica is synced only with every gated db replicated here.
// LiteFS sends heartbeats while the primary has no database, so `.lag` is small on a replica
// that has no copy at all; before the fix its app started and /health said 200 on no data.

import t from 'tap';
import { observeFor } from '../../testkit/real-incident.js';
import { waitFor } from '../helpers/wait.js';
import { createCluster, FIXTURES, skipUnlessReal } from './harness.js';

if (!skipUnlessReal(t)) {
  t.setTimeout(90_000);

  t.test('no app and no /health 200 on a replica before the primary created the db', async (t) => {
    const c = await createCluster(t, ['node-a', 'node-b']);
    const [a, b] = [c.node('node-a'), c.node('node-b')];
    // node-a holds the lease and runs no supervisor: nothing creates app.db until the test does.
    a.configure({ exec: [{ cmd: 'sleep 600' }] });
    b.configure({
      exec: [
        {
          cmd: c.supervisorCmd(b, {
            promote: false,
            migrate: [],
            app: `node ${FIXTURES}app-forever.mjs`,
          }),
        },
      ],
    });
    a.start();
    await a.waitLog(/primary lease acquired/);
    b.start();
    await b.waitEvent('sync.wait', 30_000);
    // LiteFS's heartbeats: .lag becomes small although app.db does not exist on either node.
    const lag = await waitFor(
      async () => {
        const s = (await b.health('/status')).body as { lagMs?: number; lag?: unknown };
        const ms = typeof s.lagMs === 'number' ? s.lagMs : undefined;
        return ms !== undefined && ms < 5_000 ? ms : undefined;
      },
      { timeoutMs: 15_000, message: 'a small lag on node-b' },
    ).catch(() => undefined);
    t.comment(`node-b lag while the primary has no db: ${lag ?? 'not reported'} ms`);
    await observeFor(2_500);
    const st = (await b.health('/status')).body as { state: string; reason: string };
    t.equal(st.state, 'syncing', 'node-b is still syncing');
    t.match(st.reason, /app\.db does not exist here yet/, 'and says why');
    t.equal((await b.health('/health')).status, 503, '/health 503');
    t.equal((await b.health('/replica')).status, 503, '/replica 503');
    t.notOk(b.events().includes('app.start'), 'no app started');
    t.equal(b.rows('items'), undefined, 'no database on node-b');

    // The primary creates the db: it replicates, node-b is synced and starts its app.
    a.exec('CREATE TABLE items (id INTEGER PRIMARY KEY); INSERT INTO items DEFAULT VALUES;');
    await b.waitEvent('app.start', 20_000);
    await waitFor(async () => (await b.health('/health')).status === 200, {
      timeoutMs: 15_000,
      message: 'node-b /health 200',
    });
    t.equal(b.rows('items'), 1, 'the row arrived before the app started');
  });
}
