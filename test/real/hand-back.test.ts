// S14 a serving primary and handover on stop (docs/design.md section 4) on real LiteFS 0.5.11,
// judged by what users see: every app sits behind LiteFS's proxy and boots for a while
// (test/fixtures/app-boot-delay.mjs), writes are HTTP requests through the proxies following
// fly-replay (testkit/http-writer.ts), the primary is who LiteFS's /info names, and rows are
// read from every node's file. Causality, not durations: "while B's app was not ready, A was
// primary and acknowledged a write through the proxy" is checked by reading B's /status before
// and after that write, never by timing it.
//
// 1. hand-back while a new version boots, and taken back once its app is ready;
// 2. a migration failing under a write lock really held through the mount: between tries the
//    lease is with the ready node, and once the lock is gone the next try succeeds;
// 3. a crashed app hands the lease over while it waits for its restart, and does not take it back;
// 4. handover on stop prefers a peer whose app is ready.

import { join } from 'node:path';
import t, { type Test } from 'tap';
import { gatedMigration, holdWriteLock, linesOf, shellScript } from '../../testkit/contention.js';
import { type HttpWriter, startHttpWriter, type WriteRecord } from '../../testkit/http-writer.js';
import { waitFor } from '../helpers/wait.js';
import {
  type Cluster,
  createCluster,
  EXAMPLE,
  FIXTURES,
  keysOn,
  type LitefsNode,
  type LogRecord,
  skipUnlessReal,
  withPeerHealth,
} from './harness.js';

const APP = `node ${FIXTURES}app-boot-delay.mjs`;
const BASE_MIGRATION = `node ${join(EXAMPLE, 'migrate.mjs')}`;

interface NodeSetup {
  version: string;
  bootMs: number;
  migrate?: string[];
  extra?: string[];
}

/** The supervisor with --promote (new-version), peers read through their /status, this app. */
function configure(c: Cluster, n: LitefsNode, setup: NodeSetup): void {
  n.configure({
    env: { FLY_IMAGE_REF: setup.version, BOOT_DELAY_MS: String(setup.bootMs) },
    exec: [
      {
        cmd: withPeerHealth(
          c,
          c.supervisorCmd(n, {
            app: APP,
            migrate: setup.migrate ?? [BASE_MIGRATION],
            extra: setup.extra ?? [],
          }),
        ),
      },
    ],
  });
}

const countOf = (records: LogRecord[], event: string) =>
  records.filter((r) => r.event === event).length;

interface Status {
  role: string;
  state: string;
  synced: boolean;
  nodeId: string | null;
  app: { state: string; pid: number | null; ready: boolean; restarts: number };
  migrations: { state: string; failures: number }[];
  dbs: { txid: string | null }[];
  handBack: { why: string; to: string | null; moved: boolean; reclaims: number } | null;
}

async function status(n: LitefsNode): Promise<Status> {
  return (await n.health('/status')).body as Status;
}

/** /health 200: running, app ready, primary or a synced replica (what Fly's check waits for). */
async function healthy(n: LitefsNode, timeoutMs = 40_000): Promise<void> {
  await waitFor(async () => (await n.health('/health')).status === 200, {
    timeoutMs,
    intervalMs: 50,
    message: `${n.name} /health 200`,
  });
}

/** A new cluster of proxied nodes: the first takes the lease and bootstraps, all v1. */
async function cluster(
  t: Test,
  names: string[],
  setups: Record<string, Partial<NodeSetup>> = {},
): Promise<{ c: Cluster; nodes: LitefsNode[] }> {
  const c = await createCluster(t, names, { proxy: true });
  const nodes = names.map((name) => c.node(name));
  for (const n of nodes) configure(c, n, { version: 'v1', bootMs: 2000, ...setups[n.name] });
  const [first, ...rest] = nodes;
  first!.start();
  await first!.waitLog(/primary lease acquired/, 30_000);
  for (const n of rest) n.start();
  return { c, nodes };
}

/**
 * Waits until the cluster is at rest: the `ready` nodes healthy, no hand-back under way on any
 * node, and LiteFS naming one primary; returns it. A new cluster's first primary may itself
 * hand the lease to a replica whose app got ready first (S14 at a cold start), so which node
 * serves is read, not assumed.
 */
async function settle(c: Cluster, ready: LitefsNode[]): Promise<LitefsNode> {
  for (const n of ready) await healthy(n);
  return waitFor(
    async () => {
      for (const n of c.nodes) if (n.running() && (await status(n)).handBack !== null) return;
      return c.primary();
    },
    { timeoutMs: 20_000, intervalMs: 50, message: 'one primary and no hand-back under way' },
  );
}

/** Users' writes: each acknowledged key is kept, so the end can look for it in every file. */
function users(t: Test, c: Cluster) {
  const proxies = Object.fromEntries(c.nodes.map((n) => [n.name, n.proxyUrl]));
  const acked: WriteRecord[] = [];
  const inService = new Set<string>();
  let background: HttpWriter | undefined;
  t.teardown(async () => {
    await background?.stop();
  });
  return {
    acked,
    inService,
    /** One write entering `entry`'s proxy; fly-replay followed. */
    async write(entry: LitefsNode): Promise<WriteRecord> {
      const w = startHttpWriter({
        proxies,
        entries: [entry.name],
        maxWrites: 1,
        timeoutMs: 15_000,
      });
      const rec = (await w.done).records[0]!;
      if (rec.ok) acked.push(rec);
      return rec;
    },
    /** A write every 100 ms into the proxies of the nodes in service, until stopped. */
    start(): void {
      background = startHttpWriter({
        proxies,
        entries: () => [...inService],
        intervalMs: 100,
        durationMs: 10 * 60_000,
        timeoutMs: 15_000,
      });
    },
    async stop() {
      const summary = await background?.stop();
      background = undefined;
      if (summary) acked.push(...summary.records.filter((r) => r.ok));
      return summary;
    },
  };
}

/**
 * Every acknowledged write is in every node's file. No exception: the supervisor halts the old
 * primary's writes across every lease move it causes (docs/design.md section 4), so LiteFS's
 * handoff has no window to commit a write that a snapshot then overwrites; a LiteFS log line
 * clearing a replica that got ahead ("exceeds primary transaction id", "checksum is
 * mismatched") would be that loss, and is reported with the missing keys.
 */
async function everyAckedOnEvery(
  t: Test,
  acked: WriteRecord[],
  nodes: LitefsNode[],
): Promise<void> {
  const missing = () => {
    const have = nodes.map((n) => keysOn(n));
    return acked.filter((w) => !have.every((h) => h.has(w.key)));
  };
  // Replication may still be on its way.
  const gone =
    (await waitFor(() => (missing().length === 0 ? [] : undefined), {
      timeoutMs: 15_000,
      intervalMs: 100,
      message: 'files converge',
    }).catch(() => undefined)) ?? missing();
  const cleared = nodes.flatMap((n) =>
    n
      .allRecords()
      .filter((r) => /exceeds primary transaction id|checksum is mismatched/.test(r.msg ?? ''))
      .map((r) => `${n.name}: ${r.msg}`),
  );
  t.same(
    gone.map((w) => `${w.key} (acknowledged by ${w.servedBy})`),
    [],
    `all ${acked.length} acknowledged writes on every one of ${nodes.map((n) => n.name)}${cleared.length ? ` (LiteFS: ${cleared.join('; ')})` : ''}`,
  );
}

/** Index of the first record with this event (and fields) at or after `from`, or -1. */
function indexOf(records: LogRecord[], event: string, from = 0, fields: LogRecord = {}): number {
  for (let i = from; i < records.length; i++) {
    const r = records[i]!;
    if (r.event === event && Object.entries(fields).every(([k, v]) => r[k] === v)) return i;
  }
  return -1;
}

async function waitRecord(
  n: LitefsNode,
  event: string,
  fields: LogRecord = {},
  timeoutMs = 30_000,
): Promise<LogRecord> {
  const i = await waitFor(
    () => {
      const at = indexOf(n.records(), event, 0, fields);
      return at >= 0 ? at + 1 : !n.running() ? -1 : 0;
    },
    { timeoutMs, intervalMs: 20, message: `${n.name}: ${event} ${JSON.stringify(fields)}` },
  );
  if (i < 0)
    throw new Error(`${n.name}: LiteFS exited before ${event}\n${n.output().slice(-6000)}`);
  return n.records()[i - 1]!;
}

if (!skipUnlessReal(t)) {
  t.setTimeout(240_000);

  t.test('hand-back while a new version boots; taken back once its app is ready', async (t) => {
    // node-a bootstraps the cluster (the only migration so far) with the slowest app, so it
    // hands the lease at once to a replica whose app is ready (S14 at a cold start).
    const { c, nodes } = await cluster(t, ['node-a', 'node-b', 'node-c'], {
      'node-a': { bootMs: 4000 },
    });
    const primary = await settle(c, nodes);
    // The deploy's first new node is the replica that migrated, if node-a is one: then whichever
    // node gets the lease from it never migrated in this run, and only the hand-back (its
    // /status handBack.to) keeps S7 from migrating there, as it would on a promotion.
    const ran = (n: LitefsNode) => countOf(n.records(), 'migrate.start') > 0;
    const v2 = nodes.find((n) => n !== primary && ran(n)) ?? nodes.find((n) => n !== primary)!;
    const [a, b] = nodes.filter((n) => n !== v2) as [LitefsNode, LitefsNode];
    const u = users(t, c);
    for (const n of nodes) u.inService.add(n.name);
    u.start();

    // A replica restarts as v2 with a real migration of its own (sqlite3 through the mount).
    const runs = join(c.dir, 'v2-runs');
    const v2Migration = shellScript(c.dir, 'migrate-v2.sh', [
      `echo run >> ${runs}`,
      `exec sqlite3 ${join(v2.mountDir, 'app.db')} "CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"`,
    ]);
    u.inService.delete(v2.name);
    await v2.stop('SIGINT');
    const migratedBefore = new Map(
      [a, b].map((n) => [n.name, countOf(n.allRecords(), 'migrate.start')]),
    );
    configure(c, v2, { version: 'v2', bootMs: 3000, migrate: [BASE_MIGRATION, v2Migration] });
    v2.start();
    const done = await waitRecord(v2, 'handback.done', { why: 'boot' });
    // While the v2 node's app boots: LiteFS names another node primary, and a write entering
    // the v2 node's proxy is replayed there and acknowledged by that node's app.
    const booting1 = await status(v2);
    const holder = await c.primary();
    const w = await u.write(v2);
    const booting2 = await status(v2);
    t.notOk(booting1.app.ready, `${v2.name} (v2): its app was not ready yet ...`);
    t.ok(holder && holder !== v2, `... LiteFS named ${holder?.name} primary ...`);
    t.match(
      w,
      { ok: true, servedBy: holder?.name },
      '... which acknowledged a write through the proxies ...',
    );
    t.equal(booting2.app.ready, false, `... before ${v2.name}'s app was ready`);
    t.equal(booting2.role, 'replica', `${v2.name} a replica during its boot`);
    const receiver = holder!;

    // Once its app is ready the v2 node takes the lease back and serves.
    await waitRecord(v2, 'handback.reclaimed', {}, 30_000);
    await v2.waitPrimary(10_000);
    const ready = indexOf(v2.records(), 'app.ready');
    const reclaim = indexOf(v2.records(), 'handback.reclaim');
    t.ok(
      ready >= 0 && ready < reclaim,
      `${v2.name} asked for the lease back only after its app was ready`,
    );
    await healthy(v2);
    u.inService.add(v2.name);
    const after = await u.write(a);
    t.match(
      after,
      { ok: true, servedBy: v2.name },
      `a write entering ${a.name} is served by ${v2.name}`,
    );

    // The migration ran once, on the v2 node only; the node that got the lease back ran none.
    t.equal(linesOf(runs), 1, 'the v2 migration ran exactly once');
    t.equal(countOf(v2.allRecords(), 'migrate.fail'), 0, 'and did not fail');
    for (const n of [a, b]) {
      t.equal(
        countOf(n.allRecords(), 'migrate.start'),
        migratedBefore.get(n.name),
        `${n.name} started no migration during the deploy`,
      );
    }
    const got = receiver.records();
    const cleared = got.map((r) => r.event).lastIndexOf('primary.cleared');
    t.ok(cleared >= 0, `${receiver.name} passed its checks when the lease came to it`);
    t.equal(
      indexOf(got, 'migrate.start', cleared),
      -1,
      `${receiver.name} ran no migration for the hand-back`,
    );
    if (migratedBefore.get(receiver.name) === 0) {
      // It never migrated in this run: S7 would have run its migrations had it taken this for a
      // promotion; the v2 node's /status handBack.to told it otherwise.
      t.match(
        got[indexOf(got, 'migrate.skip', cleared)],
        { from: new RegExp(`:${v2.httpPort}\\b`) },
        `${receiver.name}: not a promotion, handed back by ${v2.name}`,
      );
    }
    t.comment(
      `${v2.name} (v2) handed the lease to ${receiver.name} (${migratedBefore.get(receiver.name) === 0 ? 'which never migrated in this run' : 'which had migrated in this run'}); handback.done ${done.durationMs} ms after it began`,
    );

    const summary = await u.stop();
    t.comment(
      `background writes: ${summary?.acked}/${summary?.attempts} acknowledged, failures ${JSON.stringify(summary?.failures)}`,
    );
    // Where the failed writes were sent, against the v2 node's steps (for the report only).
    const steps = v2
      .allRecords()
      .filter((r) =>
        /^(promote\.request|migrate\.start|app\.started|handback\.(request|done|reclaim|reclaimed))$/.test(
          r.event ?? '',
        ),
      )
      .map((r) => [r.event, Number(r.at)] as const);
    const phase = (at: number) => steps.filter(([, when]) => when <= at).pop()?.[0] ?? 'before';
    const failed = (summary?.records ?? []).filter((r) => !r.ok);
    t.comment(
      `failed writes by when they were sent: ${JSON.stringify(failed.map((r) => `${phase(r.sentAt)}:${r.entry}->${r.servedBy}`))}`,
    );
    for (const n of nodes) {
      await waitFor(() => n.rows('tags') !== undefined, {
        timeoutMs: 10_000,
        message: `tags on ${n.name}`,
      });
    }
    // S5's promotion and the reclaim move the lease away from a serving v1 app.
    await everyAckedOnEvery(t, u.acked, nodes);
  });

  t.test('a migration failing under a write lock held through the mount', async (t) => {
    const { c, nodes } = await cluster(t, ['node-a', 'node-b']);
    const a = await settle(c, nodes);
    const b = nodes.find((n) => n !== a)!;
    const u = users(t, c);
    u.inService.add(a.name);
    u.start();

    // The replica (b) restarts as v2, whose migration is the sqlite3 CLI without a busy timeout.
    // The test takes the write lock through b's mount once the first try is due (b primary),
    // then lets it run: only so is the lock there before the first try, whatever the load.
    const db = join(b.mountDir, 'app.db');
    const v2 = gatedMigration(
      c.dir,
      'migrate-v2',
      db,
      'CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL)',
    );
    await b.stop('SIGINT');
    configure(c, b, {
      version: 'v2',
      bootMs: 2000,
      migrate: [v2.cmd],
      extra: ['--migrate-retries', '5'],
    });
    b.start();
    await b.waitPrimary(30_000);
    await v2.waitTry(1);
    const lock = holdWriteLock(t, db);
    v2.allow(Infinity);

    const fail = await waitRecord(b, 'migrate.fail');
    t.match(fail.output, /database is locked/, "the try failed with SQLite's own error");
    const request = await waitRecord(b, 'handback.request', { why: 'retry' });
    t.equal(request.nodeId, await a.nodeId(), `the lease offered to ${a.name}, whose app is ready`);
    await a.waitPrimary(10_000);
    // LiteFS 0.5.11 finding: the handoff itself is not held up by the lock (a takes the lease
    // at once), but a node that stops being primary runs Store.Recover, which waits for the
    // write lock of every db with no timeout (store.go monitorLease, db.go DB.Recover). While the
    // test holds its transaction b's LiteFS neither reconnects as a replica nor knows a primary
    // (/info primary.hostname ""), so b's supervisor sees no move yet (handback.done comes after
    // the release) and b's proxy has no primary to send writes to.
    const stuck = await b.info();
    t.match(
      stuck,
      { isPrimary: false, primary: { hostname: '' } },
      `${b.name}'s LiteFS knows no primary while the lock is held`,
    );
    // Between tries: LiteFS names a primary and a write entering a's proxy is acknowledged by
    // a's app, while b's supervisor still hands back with the migration failed, not tried again.
    const away1 = await status(b);
    const holder = await c.primary();
    const w = await u.write(a);
    const away2 = await status(b);
    const between = (st: Status) =>
      st.role !== 'primary' &&
      st.handBack?.why === 'retry' &&
      st.handBack.to === request.nodeId &&
      st.migrations[0]?.state === 'failed';
    t.ok(between(away1), `${b.name}'s try failed and it handed the lease to ${a.name} ...`);
    t.equal(holder, a, `... LiteFS named ${a.name} primary ...`);
    t.match(
      w,
      { ok: true, servedBy: a.name },
      `... a write through the proxy was acknowledged by ${a.name} ...`,
    );
    t.ok(between(away2), `... before ${b.name} tried again`);
    t.equal(
      indexOf(b.records(), 'handback.done'),
      -1,
      `no move seen by ${b.name} while the lock is held`,
    );
    t.notOk(b.events().includes('app.start'), `${b.name}'s app never started on the old schema`);

    t.doesNotThrow(() => lock.release(), 'the held transaction ends cleanly after the demotion');
    await waitRecord(b, 'handback.done', { why: 'retry' });
    const complete = await waitRecord(b, 'migrate.complete', {}, 60_000);
    t.ok(complete, 'once the lock was released a try succeeded');
    await waitFor(
      async () => (await b.info()).isPrimary && (await b.health('/primary')).status === 200,
      {
        timeoutMs: 40_000,
        intervalMs: 50,
        message: `${b.name} primary with its app ready`,
      },
    );
    u.inService.add(b.name);
    t.match(await u.write(a), { ok: true, servedBy: b.name }, `${b.name} (v2) serves the writes`);
    const tries = v2.tries();
    t.equal(countOf(b.records(), 'migrate.fail'), tries - 1, 'every try but the last failed');
    t.comment(
      `${tries} tries; the lease moved ${countOf(b.records(), 'handback.done')} times away from ${b.name}`,
    );
    const summary = await u.stop();
    t.comment(
      `background writes: ${summary?.acked}/${summary?.attempts} acknowledged, failures ${JSON.stringify(summary?.failures)}`,
    );
    // S5's promotion and the reclaims move the lease away from a's serving app.
    await everyAckedOnEvery(t, u.acked, nodes);
    t.equal(a.rows('tags'), 0, `the migrated table reached ${a.name}`);
  });

  t.test("a crashed app's hand-over: the lease moves while it waits to restart", async (t) => {
    const restart = { extra: ['--restart', 'on-failure', '--restart-delay', '3s'] };
    const { c, nodes } = await cluster(t, ['node-a', 'node-b'], {
      'node-a': restart,
      'node-b': restart,
    });
    const a = await settle(c, nodes);
    const b = nodes.find((n) => n !== a)!;
    const u = users(t, c);
    for (const n of nodes) u.inService.add(n.name);
    u.start();

    const pid = (await status(a)).app.pid;
    t.ok(pid, `the primary's (${a.name}) app pid from /status`);
    process.kill(pid!, 'SIGKILL'); // the app only: LiteFS and the supervisor stay up
    t.match(await waitRecord(a, 'app.exit'), { signal: 'SIGKILL' }, 'the app died of SIGKILL');
    await waitRecord(a, 'handback.done', { why: 'crash' });
    const waiting1 = await status(a);
    const holder = await c.primary();
    const w = await u.write(a);
    const waiting2 = await status(a);
    t.equal(waiting1.state, 'restarting', `while ${a.name}'s app waited to restart ...`);
    t.equal(holder, b, `... LiteFS named ${b.name} primary ...`);
    t.match(
      w,
      { ok: true, servedBy: b.name },
      `... and a write entering ${a.name} was acknowledged by ${b.name} ...`,
    );
    t.equal(waiting2.state, 'restarting', `... before ${a.name} restarted its app`);

    // The app restarts as a replica; once it is ready its node carries on as one.
    await waitRecord(a, 'handback.end', { why: 'crash' });
    await healthy(a);
    const run = a.records();
    t.equal(countOf(run, 'app.started'), 2, `${a.name}'s app started again`);
    t.equal(
      indexOf(run, 'handback.reclaim', indexOf(run, 'app.exit')),
      -1,
      `${a.name} did not ask for the lease back`,
    );
    t.equal(indexOf(run, 'promote.request', indexOf(run, 'app.exit')), -1, 'nor promote');
    t.ok((await b.info()).isPrimary, `${b.name} still primary`);
    t.match(
      await u.write(a),
      { ok: true, servedBy: b.name },
      `writes entering ${a.name} go to ${b.name}`,
    );
    const summary = await u.stop();
    t.comment(
      `background writes: ${summary?.acked}/${summary?.attempts} acknowledged, failures ${JSON.stringify(summary?.failures)}`,
    );
    // The only handoff was away from an app that had died: nothing may be missing.
    await everyAckedOnEvery(t, u.acked, nodes);
  });

  t.test('handover on stop prefers a peer whose app is ready', async (t) => {
    // node-b's app never gets ready in this test (it listens after 60 s).
    const { c, nodes } = await cluster(t, ['node-a', 'node-b', 'node-c'], {
      'node-b': { bootMs: 60_000, extra: ['--app-ready-timeout', '5m'] },
    });
    const booting = c.node('node-b');
    const p = await settle(c, [c.node('node-a'), c.node('node-c')]);
    const ready = nodes.find((n) => n !== p && n !== booting)!;
    const synced = async () =>
      waitFor(
        async () =>
          (await status(booting)).synced && (await booting.info()).primary?.hostname === p.name,
        { timeoutMs: 30_000, intervalMs: 50, message: `${booting.name} a synced replica` },
      );
    await synced();
    // Among equal evidence the lower node ID wins (peers.ts): the booting node gets the lower
    // one, so that only readiness can make the other the target. LiteFS draws a node ID at each
    // start: restart whichever replica is likelier to fix the order (at least half the time).
    for (let i = 0; ; i++) {
      const [ib, ir] = [await booting.nodeId(), await ready.nodeId()];
      if (ib < ir) break;
      if (i >= 12) throw new Error(`${booting.name}'s ID ${ib} never drew below ${ir}`);
      const share = (id: string) => Number.parseInt(id.slice(0, 8), 16) / 2 ** 32;
      const n = share(ir) >= 1 - share(ib) ? booting : ready;
      await n.stop('SIGINT');
      n.start();
      await (n === booting ? synced() : healthy(ready));
    }
    t.equal((await status(booting)).app.ready, false, `${booting.name}'s app is not ready`);
    const u = users(t, c);
    t.match(await u.write(booting), { ok: true, servedBy: p.name }, `${p.name} serves the writes`);
    // Equal evidence on both replicas: at the primary's position before the stop.
    await waitFor(
      async () => {
        const txids = await Promise.all(nodes.map(async (n) => (await status(n)).dbs[0]?.txid));
        return txids.every((x) => x !== undefined && x !== null && x === txids[0]);
      },
      { timeoutMs: 10_000, intervalMs: 50, message: "both replicas at the primary's TXID" },
    );

    const stopped = p.stop('SIGINT');
    await ready.waitPrimary(15_000);
    t.same(await stopped, { code: 0, signal: null }, `${p.name} LiteFS exited 0`);
    t.match(
      p.records().find((r) => r.event === 'handover.request'),
      { nodeId: await ready.nodeId() },
      `${p.name} handed the lease to ${ready.name}, whose app is ready`,
    );
    t.notOk((await booting.info()).isPrimary, `not to ${booting.name}, the lower node ID`);
    for (const entry of [booting, ready]) {
      t.match(
        await u.write(entry),
        { ok: true, servedBy: ready.name },
        `a write entering ${entry.name} is acknowledged by ${ready.name}`,
      );
    }
    await everyAckedOnEvery(t, u.acked, [booting, ready]);
  });
}
