// Real LiteFS 0.5.11, two nodes, the supervisor as each node's only exec command:
// one migration on the primary, none on the replica, both apps up, the health routes agree
// with LiteFS's own view; rows written on the primary are read back through both mounts.
// Then a requested stop (SIGINT to the primary's litefs, as Fly does): the supervisor hands the
// lease to the synced replica, then dies of the signal, so LiteFS keeps the lease for the
// handoff and unmounts (docs/design.md section 9); in Consul the lease is the same session.

import t from 'tap';
import { waitFor } from '../helpers/wait.js';
import { assertLeaseByHandoff, createCluster, skipUnlessReal } from './harness.js';

if (!skipUnlessReal(t)) {
  t.setTimeout(120_000);

  t.test('main path on two real nodes', async (t) => {
    const c = await createCluster(t, ['node-a', 'node-b']);
    const [a, b] = c.nodes as [(typeof c.nodes)[0], (typeof c.nodes)[0]];
    // --promote on node-a only: with --promote on every node each start moves the lease (a
    // later issue, "deploys without a write gap"); node-b is a candidate that waits its turn.
    a.configure({ exec: [{ cmd: c.supervisorCmd(a) }] });
    b.configure({ exec: [{ cmd: c.supervisorCmd(b, { promote: false }) }] });

    const started = Date.now();
    // Both at once, as a new cluster comes up: node-a first so it takes the lease.
    a.start();
    await a.waitLog(/primary lease acquired/);
    b.start();
    await a.waitEvent('app.start', 30_000);
    await b.waitEvent('app.start', 30_000);
    await waitFor(async () => (await b.health()).status === 200, {
      timeoutMs: 15_000,
      message: 'node-b /health 200',
    });
    t.comment(`cold start of two nodes to both /health 200: ${Date.now() - started} ms`);

    // The exec line runs the CLI as `node .../dist/cli/main.js`: recognised, no warning about
    // it. The harness's litefs.yml leaves lease.reconnect-delay at LiteFS's 1s on a Consul
    // candidate: that warning, once, at start (docs/design.md section 1).
    for (const n of [a, b]) {
      const warnings = n
        .records()
        .filter((r) => r.event === 'config.warning')
        .map((r) => String(r.msg));
      const delay = (m: string) => m.startsWith('litefs.yml lease.reconnect-delay is not set');
      t.same(
        warnings.filter((m) => !delay(m)),
        [],
        `${n.name}: no config.warning for its exec line`,
      );
      t.equal(warnings.filter(delay).length, 1, `${n.name}: the reconnect-delay warning, once`);
    }

    // One migration, on the primary only (S1).
    t.equal(a.events().filter((e) => e === 'migrate.start').length, 1, 'primary migrated once');
    t.equal(b.events().filter((e) => e === 'migrate.start').length, 0, 'replica never migrated');

    // LiteFS's own view.
    t.match(await a.info(), { isPrimary: true, candidate: true, primary: { hostname: 'node-a' } });
    t.match(await b.info(), { isPrimary: false, primary: { hostname: 'node-a' } });

    // The supervisors' view.
    t.equal((await a.health('/health')).status, 200, 'a /health');
    t.equal((await a.health('/primary')).status, 200, 'a /primary');
    t.equal((await a.health('/replica')).status, 503, 'a /replica');
    t.equal((await b.health('/health')).status, 200, 'b /health');
    t.equal((await b.health('/primary')).status, 503, 'b /primary');
    t.equal((await b.health('/replica')).status, 200, 'b /replica');
    const sa = (await a.health('/status')).body as Record<string, unknown>;
    const sb = (await b.health('/status')).body as Record<string, unknown>;
    t.match(sa, { state: 'running', role: 'primary' });
    t.match(sb, { state: 'running', role: 'replica' });

    // Data: the schema the migration made, and rows written on the primary, on both nodes.
    a.exec(
      "INSERT INTO visits (user_agent) VALUES ('r1'), ('r2'), ('r3'), ('r4'), ('r5'), ('r6'), ('r7')",
    );
    t.equal(a.rows('visits'), 7, 'seven rows on the primary');
    await waitFor(() => b.rows('visits') === 7, { timeoutMs: 10_000, message: 'rows on b' });
    t.equal(b.rows('visits'), 7, 'the same seven rows on the replica');
    t.equal(b.rows('_migrations'), 2, 'both example migrations recorded, replicated');
    t.throws(() => b.exec("INSERT INTO visits (user_agent) VALUES ('x')"), 'replica is read-only');

    // A requested stop: SIGINT to the primary's LiteFS.
    const watch = await c.consul.watchLease(c.key);
    const sent = Date.now();
    const end = await a.stop('SIGINT');
    const stoppedMs = Date.now() - sent;
    t.same(end, { code: 0, signal: null }, 'LiteFS exited 0 after SIGINT');
    t.notOk(a.mounted(), 'the mount is gone');
    // node-b is a synced candidate, so the supervisor first hands it the lease (handover on
    // stop); without one LiteFS destroys the lease as it exits (handover.test.ts).
    t.match(a.output(), /exiting primary, preserving lease for handoff/);
    t.notMatch(
      a.output(),
      /cannot wait for exec process/,
      'LiteFS accepted how the supervisor ended',
    );
    const exit = a.records().find((r) => r.event === 'supervisor.signal-exit');
    t.match(exit, { signal: 'SIGINT' }, 'the supervisor logged the app code and died of SIGINT');
    await b.waitPrimary(5_000);
    const movedMs = Date.now() - sent;
    t.comment(
      `SIGINT to node-a's litefs: exited in ${stoppedMs} ms; node-b primary after ${movedMs} ms`,
    );
    // Not left to expire: node-b re-acquired node-a's own Consul session.
    await assertLeaseByHandoff(t, watch, { from: a, to: b, since: sent });
    await waitFor(async () => (await b.health('/primary')).status === 200, {
      timeoutMs: 15_000,
      message: 'node-b /primary 200',
    });
    t.equal(b.rows('visits'), 7, 'no row lost on the new primary');
  });
}
