// The lease moves on real LiteFS 0.5.11, by /handoff and by stopping the
// primary; the supervisors follow (reaction times from LiteFS's own log line to the
// supervisor's role.change), S7 (a running replica that becomes primary migrates while its app
// keeps running), S6 (a migration stopped when the lease leaves mid-way), and no row is lost.

import t from 'tap';
import { waitFor } from '../helpers/wait.js';
import {
  assertLeaseByHandoff,
  createCluster,
  EXAMPLE,
  type LitefsNode,
  type LogRecord,
  msBetween,
  skipUnlessReal,
} from './harness.js';

/** ms from LiteFS's "primary lease acquired" (or the given line) to the supervisor's role.change. */
async function reaction(
  n: LitefsNode,
  after: number,
  to: 'primary' | 'replica',
): Promise<number | undefined> {
  const fresh = (r: LogRecord) => Number(r.at) >= after;
  const lease = await waitFor(
    () =>
      n
        .records()
        .find(
          (r) =>
            fresh(r) &&
            (to === 'primary'
              ? /primary lease acquired/
              : /existing primary found|connecting as replica/
            ).test(r.msg ?? ''),
        ),
    { timeoutMs: 15_000, message: `${n.name}: LiteFS says ${to}` },
  );
  const change = await waitFor(
    () => n.records().find((r) => fresh(r) && r.event === 'role.change' && r.to === to),
    { timeoutMs: 15_000, message: `${n.name}: supervisor role.change to ${to}` },
  );
  return msBetween(lease, change);
}

const count = (n: LitefsNode, event: string) => n.events().filter((e) => e === event).length;

if (!skipUnlessReal(t)) {
  t.setTimeout(120_000);

  t.test('handoff, S7, S6, stop: the supervisors follow and nothing is lost', async (t) => {
    const c = await createCluster(t, ['node-a', 'node-b']);
    const [a, b] = [c.node('node-a'), c.node('node-b')];
    // A slow first migration gives S6 a window; the example's migrations follow.
    const migrate = ['sleep 6', `node ${EXAMPLE}/migrate.mjs`];
    a.configure({ exec: [{ cmd: c.supervisorCmd(a, { migrate }) }] });
    b.configure({ exec: [{ cmd: c.supervisorCmd(b, { migrate, promote: false }) }] });
    a.start();
    await a.waitLog(/primary lease acquired/);
    b.start();
    await a.waitEvent('app.start', 40_000);
    await b.waitEvent('app.start', 40_000);
    a.exec("INSERT INTO visits (user_agent) VALUES ('1'), ('2'), ('3'), ('4'), ('5')");
    await waitFor(() => b.rows('visits') === 5, { timeoutMs: 10_000, message: 'rows on b' });

    // 1. /handoff from node-a to node-b.
    const watch = await c.consul.watchLease(c.key);
    let since = Date.now();
    const res = await fetch(`${a.url}/handoff?nodeID=${await b.nodeId()}`, { method: 'POST' });
    t.equal(res.status, 200, '/handoff accepted');
    await b.waitPrimary(10_000);
    const handoffMs = Date.now() - since;
    const bReacts = await reaction(b, since, 'primary');
    t.comment(
      `/handoff: node-b primary ${handoffMs} ms after the request; its supervisor followed LiteFS's line in ${bReacts} ms`,
    );
    t.ok(
      bReacts !== undefined && bReacts < 1000,
      `node-b's supervisor followed within 1 s (${bReacts} ms)`,
    );
    const session = await assertLeaseByHandoff(t, watch, { from: a, to: b, since });

    // S7: node-b's app keeps running; it runs the migrations as the new primary.
    await waitFor(() => count(b, 'migrate.start') >= 1, {
      timeoutMs: 15_000,
      message: 'S7 migration on node-b',
    });
    t.equal(count(b, 'app.start'), 1, 'S7: node-b app not restarted');
    // S7: its app's writes were halted until its checks passed (docs/design.md S7).
    const own = await waitFor(
      () => b.records().find((r) => r.event === 'halt.held' && r.check === 'S7'),
      { timeoutMs: 10_000, message: "S7: node-b's own lock released" },
    );
    t.equal(
      own.released,
      'the checks passed',
      "S7: node-b's own writes held until its checks passed",
    );
    t.comment(`S7 on node-b: its own lock taken in ${own.waitedMs} ms, held ${own.heldMs} ms`);

    // S6: while node-b's slow first migration runs, the lease goes back to node-a.
    // node-a first has to reconnect as node-b's replica (after "cannot connect to self").
    await waitFor(async () => (await a.info()).primary?.hostname === 'node-b', {
      timeoutMs: 10_000,
      message: 'node-a connected to node-b',
    });
    t.equal(count(b, 'migrate.done'), 0, 'node-b is still in its first (slow) migration');
    since = Date.now();
    const idA = await a.nodeId();
    const back = await waitFor(
      async () => {
        const r = await fetch(`${b.url}/handoff?nodeID=${idA}`, { method: 'POST' });
        await r.arrayBuffer();
        return r.status === 200 ? r : undefined;
      },
      { timeoutMs: 5_000, intervalMs: 200, message: '/handoff back accepted' },
    );
    t.equal(back.status, 200, '/handoff back accepted');
    await a.waitPrimary(10_000);
    t.equal(
      await assertLeaseByHandoff(t, watch, { from: b, to: a, since }),
      session,
      'the handoff back: still the Consul session node-a first acquired',
    );
    const aborted = await waitFor(() => b.records().find((r) => r.event === 'migrate.aborted'), {
      timeoutMs: 10_000,
      message: 'S6: migration aborted on node-b',
    });
    t.ok(aborted, 'S6: the migration on node-b was stopped when the lease left');
    const aReacts = await reaction(a, since, 'primary');
    t.comment(`handoff back: node-a's supervisor followed LiteFS's line in ${aReacts} ms`);
    await waitFor(async () => (await a.health('/primary')).status === 200, {
      timeoutMs: 20_000,
      message: 'node-a /primary 200 again (S7: it migrated again)',
    });
    await waitFor(async () => (await b.health('/replica')).status === 200, {
      timeoutMs: 20_000,
      message: 'node-b /replica 200',
    });
    t.equal(count(a, 'app.start'), 1, 'node-a app never restarted');
    t.equal(count(b, 'app.start'), 1, 'node-b app never restarted');
    t.equal(a.rows('visits'), 5, 'no row lost on node-a');
    t.equal(b.rows('visits'), 5, 'no row lost on node-b');

    // 2. Stopping the primary (SIGINT, as Fly does): its supervisor hands the lease to node-b
    // (a synced candidate) before it stops, so the lease moves at once, by a handoff.
    since = Date.now();
    t.same(await a.stop('SIGINT'), { code: 0, signal: null }, 'node-a LiteFS exited 0');
    t.notOk(a.mounted(), 'node-a unmounted');
    await b.waitPrimary(10_000);
    const stopMs = Date.now() - since;
    const bReacts2 = await reaction(b, since, 'primary');
    t.comment(
      `stop: node-b primary ${stopMs} ms after SIGINT to node-a; its supervisor followed in ${bReacts2} ms`,
    );
    await assertLeaseByHandoff(t, watch, { from: a, to: b, since });
    await waitFor(async () => (await b.health('/primary')).status === 200, {
      timeoutMs: 20_000,
      message: 'node-b /primary 200',
    });
    t.equal(b.rows('visits'), 5, 'no row lost after the stop');
    b.exec("INSERT INTO visits (user_agent) VALUES ('6')");
    t.equal(b.rows('visits'), 6, 'node-b takes writes as primary');
  });
}
