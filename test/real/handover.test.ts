// Handover on stop and --promote-when new-version on real LiteFS 0.5.11: a primary asked to stop
// (SIGINT to its litefs, as Fly does) hands the lease to a synced candidate before stopping its
// app, and stops as before when there is none; with --promote on every node, a restart of the same
// version (FLY_IMAGE_REF) leaves the lease where it is, and the first node of a new version takes
// it once.

import t, { type Test } from 'tap';
import { waitFor } from '../helpers/wait.js';
import {
  assertLeaseByHandoff,
  assertLeaseByRelease,
  assertLeaseKept,
  type Cluster,
  createCluster,
  type LitefsNode,
  skipUnlessReal,
  withPeerHealth,
} from './harness.js';

const count = (n: LitefsNode, event: string) => n.events().filter((e) => e === event).length;

/** A node running the supervisor with --promote and this app version. */
function configure(c: Cluster, n: LitefsNode, version: string, candidate = true): void {
  n.configure({
    candidate,
    env: { FLY_IMAGE_REF: version },
    exec: [{ cmd: withPeerHealth(c, c.supervisorCmd(n, { extra: ['--handoff-timeout', '2s'] })) }],
  });
}

async function healthy(n: LitefsNode): Promise<void> {
  await waitFor(async () => (await n.health('/health')).status === 200, {
    timeoutMs: 30_000,
    message: `${n.name} /health 200`,
  });
}

/** node-a primary, node-b its synced replica, both v1, rows written. */
async function twoNodes(t: Test, bCandidate = true) {
  const c = await createCluster(t, ['node-a', 'node-b']);
  const [a, b] = [c.node('node-a'), c.node('node-b')];
  configure(c, a, 'v1');
  configure(c, b, 'v1', bCandidate);
  a.start();
  await a.waitLog(/primary lease acquired/);
  b.start();
  await healthy(a);
  await healthy(b);
  a.exec("INSERT INTO visits (user_agent) VALUES ('1'), ('2'), ('3')");
  await waitFor(() => b.rows('visits') === 3, { timeoutMs: 10_000, message: 'rows on b' });
  return { c, a, b };
}

if (!skipUnlessReal(t)) {
  t.setTimeout(180_000);

  t.test('handover on stop: the lease moves by a handoff before the app stops', async (t) => {
    const { c, a, b } = await twoNodes(t);
    // Same version: node-b's --promote did not take the lease (S5, --promote-when
    // new-version).
    t.equal(count(b, 'promote.request'), 0, 'node-b (same version) never asked for the lease');
    t.ok((await a.info()).isPrimary, 'node-a still primary');

    const watch = await c.consul.watchLease(c.key);
    const sent = Date.now();
    const stopped = a.stop('SIGINT');
    await b.waitPrimary(10_000);
    const movedMs = Date.now() - sent;
    const end = await stopped;
    t.same(end, { code: 0, signal: null }, 'node-a LiteFS exited 0');
    t.notMatch(a.output(), /cannot wait for exec process/, 'LiteFS accepted how it ended');
    const ev = a.events();
    const at = (e: string) => ev.indexOf(e);
    t.ok(at('handover.request') >= 0, 'asked LiteFS to hand over');
    t.ok(at('handover.done') >= 0, 'saw the lease move');
    t.ok(
      at('handover.done') < at('signal.forward'),
      'the app was stopped only after the lease had moved',
    );
    const done = a.records().find((r) => r.event === 'handover.done');
    t.comment(
      `SIGINT to node-a: node-b primary after ${movedMs} ms; handover.done after ${done?.durationMs} ms`,
    );
    t.match(
      b.output(),
      /acquiring existing lease from handoff/,
      "node-b's LiteFS took the lease by a handoff",
    );
    t.ok(movedMs < 3_000, `the lease moved within the handoff budget (${movedMs} ms)`);
    await assertLeaseByHandoff(t, watch, { from: a, to: b, since: sent });
    await waitFor(async () => (await b.health('/primary')).status === 200, {
      timeoutMs: 20_000,
      message: 'node-b /primary 200',
    });
    t.equal(b.rows('visits'), 3, 'no row lost');
    b.exec("INSERT INTO visits (user_agent) VALUES ('4')");
    t.equal(b.rows('visits'), 4, 'node-b takes writes');
  });

  t.test('no candidate: stops as before and LiteFS releases the lease', async (t) => {
    const { c, a, b } = await twoNodes(t, false);
    const watch = await c.consul.watchLease(c.key);
    const since = Date.now();
    const end = await a.stop('SIGINT');
    t.same(end, { code: 0, signal: null }, 'node-a LiteFS exited 0');
    t.ok(a.events().includes('handover.none'), 'no candidate to hand to');
    t.notOk(a.events().includes('handover.request'), 'no handoff asked');
    t.match(a.output(), /exiting primary, destroying lease/, 'LiteFS closed its lease on exit');
    await assertLeaseByRelease(t, watch, { from: a, since });
    // node-b's LiteFS found the key empty and, not a candidate, left it so.
    await waitFor(
      () =>
        b
          .records()
          .some((r) => Number(r.at) >= since && /ineligible to become primary/.test(r.msg ?? '')),
      { timeoutMs: 10_000, message: 'node-b: no primary, not a candidate' },
    );
    const now = await c.consul.lease(c.key);
    t.equal(now.key?.session, undefined, 'Consul: nobody holds the lease key');
  });

  t.test('same-version restart leaves the lease; a new version takes it once', async (t) => {
    const { c, a, b } = await twoNodes(t);
    const watch = await c.consul.watchLease(c.key);
    // Restart the replica with the same version.
    let since = Date.now();
    await b.stop('SIGINT');
    b.start();
    await healthy(b);
    t.ok(b.events().includes('promote.skip'), 'node-b: same version, not asking');
    t.equal(count(b, 'promote.request'), 0);
    t.ok((await a.info()).isPrimary, 'the lease stayed on node-a');
    assertLeaseKept(t, watch, { node: a, since });
    t.equal(count(b, 'migrate.start'), 0, 'node-b ran no migration');

    // Restart it with a new version: it takes the lease once and migrates.
    await b.stop('SIGINT');
    configure(c, b, 'v2');
    since = Date.now();
    b.start();
    await b.waitPrimary(30_000);
    await assertLeaseByHandoff(t, watch, { from: a, to: b, since });
    await waitFor(async () => (await b.health('/primary')).status === 200, {
      timeoutMs: 30_000,
      message: 'node-b /primary 200',
    });
    t.ok(b.events().includes('promote.new-version'), 'node-b: new version');
    t.equal(count(b, 'promote.request'), 1, 'asked once');
    t.equal(count(b, 'migrate.start'), 1, 'node-b migrated once');

    // The rest of the deploy: node-a restarts with v2 and leaves the lease on node-b.
    since = Date.now();
    await a.stop('SIGINT');
    configure(c, a, 'v2');
    a.start();
    await healthy(a);
    t.ok(a.events().includes('promote.skip'), 'node-a: same version as the primary');
    t.equal(count(a, 'promote.request'), 0);
    t.ok((await b.info()).isPrimary, 'the lease stayed on node-b');
    assertLeaseKept(t, watch, { node: b, since });
    t.equal(b.rows('visits'), 3, 'no row lost');
  });
}
