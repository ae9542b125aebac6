// The cluster record on real LiteFS 0.5.11 (docs/design.md section 3, "cluster record"; S2,
// S3): a primary that passed its checks records in Consul that the cluster has data in each
// gated db, so a former member that comes back empty while the data holder is stopped (it kept
// data.dir/clusterid, so LiteFS's own cluster-ID guard lets it take the lease) is fenced instead
// of bootstrapping a new database whose TXID 1 snapshot would overwrite the holder. Without the
// record nothing tells that node the cluster ever had data: it runs alone, so it asks only
// itself (Fly's DNS lists only running machines), and its state file went with its data.
//
// Scenarios: a former member back empty (its db dir gone; a zero-byte db without LTX files)
// while the holder is stopped; the record unreadable (Consul KV 500) while that node holds the
// lease; a new cluster that bootstraps once, also after a failed first migration; a `litefs
// import` repair of a history-lost primary; a changed lease.consul.key with and without
// FLY_APP_NAME (docs/deploying.md, "The cluster record").
//
// Data is judged by rows in each node's own file (through its mount, or the data dir's copy
// while stopped), availability by the supervisor's /health and the app's own port.

import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, rmSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { ROWS, rowsOf, snapshotLines } from '../../testkit/real-incident.js';
import { waitFor } from '../helpers/wait.js';
import {
  CLI,
  type Cluster,
  createCluster,
  FIXTURES,
  type LitefsNode,
  type LogRecord,
  ltxDir,
  type SupervisorLine,
  skipUnlessReal,
} from './harness.js';

interface RecordedDb {
  since: string;
  node: string;
}
interface ClusterRecord {
  version: number;
  clusterId: string;
  dbs: Record<string, RecordedDb>;
}

/** The record's default key without FLY_APP_NAME: `litefs-supervisor/<lease.consul.key>`. */
const recordKeyFor = (leaseKey: string) => `litefs-supervisor/${leaseKey}`;

async function readRecord(c: Cluster, key: string): Promise<ClusterRecord | undefined> {
  const text = await c.consul.kv(key);
  return text === undefined ? undefined : (JSON.parse(text) as ClusterRecord);
}

/** The record once it names `db`, or undefined after the deadline (asserted by the caller). */
async function recordWith(
  c: Cluster,
  key: string,
  db = 'app.db',
  timeoutMs = 10_000,
): Promise<ClusterRecord | undefined> {
  try {
    return await waitFor(
      async () => {
        const r = await readRecord(c, key);
        return r?.dbs?.[db] ? r : undefined;
      },
      { timeoutMs, intervalMs: 200, message: `record ${key} with ${db}` },
    );
  } catch {
    return readRecord(c, key).catch(() => undefined);
  }
}

const has = (n: LitefsNode, event: string) => n.events().includes(event);
const find = (n: LitefsNode, event: string): LogRecord | undefined =>
  n.records().find((r) => r.event === event);
const decisions = (n: LitefsNode) =>
  n
    .events()
    .filter((e) => /^(fence|primary|peers|record|migrate|handoff|db|hwm)\./.test(e))
    .join(' ');

/** The example app's own port, from its `example app listening on` line (this run). */
function appUrl(n: LitefsNode): string | undefined {
  const all = [...n.output().matchAll(/example app listening on (http:\/\/\S+)/g)];
  return all.at(-1)?.[1];
}

/** The supervisor says healthy (200) and the app answers on its own port. */
async function serves(n: LitefsNode, timeoutMs = 30_000): Promise<boolean> {
  try {
    await waitFor(
      async () => {
        if ((await n.health('/health')).status !== 200) return false;
        const url = appUrl(n);
        if (!url) return false;
        const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        return res.status === 200;
      },
      { timeoutMs, intervalMs: 200, message: `${n.name} serves` },
    );
    return true;
  } catch {
    return false;
  }
}

async function exitWithin(
  n: LitefsNode,
  ms: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined> {
  return Promise.race([
    n.exited(),
    new Promise<undefined>((r) => setTimeout(() => r(undefined), ms)),
  ]);
}

/**
 * Samples a node's row count every 250 ms (its own file: mount or data dir) until stopped: the
 * smallest count seen proves "kept throughout", not only at the end.
 */
function watchRows(
  t: Test,
  n: LitefsNode,
): { stop(): { min: number | undefined; samples: number } } {
  let min: number | undefined;
  let samples = 0;
  const timer = setInterval(() => {
    try {
      const r = rowsOf(n) ?? 0;
      samples++;
      min = min === undefined ? r : Math.min(min, r);
    } catch {
      // A read racing a mount or unmount: not evidence either way.
    }
  }, 250);
  timer.unref();
  t.teardown(() => clearInterval(timer));
  return {
    stop() {
      clearInterval(timer);
      return { min, samples };
    },
  };
}

function line(c: Cluster, n: LitefsNode, peers: string[], more: SupervisorLine = {}): string {
  return c.supervisorCmd(n, { peers: c.peers(...peers), ...more });
}

/**
 * node-a alone (--peers only itself) bootstraps, migrates and holds ROWS rows; node-b joins as
 * a replica (promote: false, no --promote) and syncs them. Both running on return.
 */
async function twoNodesWithData(
  t: Test,
  opts: { names?: string[]; env?: Record<string, string> } = {},
): Promise<{ c: Cluster; a: LitefsNode; b: LitefsNode }> {
  const c = await createCluster(t, opts.names ?? ['node-a', 'node-b']);
  const [a, b] = [c.node('node-a'), c.node('node-b')];
  const env = opts.env ?? {};
  a.configure({ env, exec: [{ cmd: line(c, a, ['node-a']) }] });
  b.configure({
    env,
    exec: [{ cmd: line(c, b, ['node-a', 'node-b'], { promote: false }) }],
  });
  a.start();
  await a.waitPrimary(20_000);
  await a.waitEvent('app.start', 30_000);
  const values = Array.from({ length: ROWS }, (_, i) => `('row ${i + 1}')`).join(', ');
  a.exec(`INSERT INTO visits (user_agent) VALUES ${values}`);
  b.start();
  await waitFor(() => b.rows('visits') === ROWS, { timeoutMs: 20_000, message: 'rows on node-b' });
  await b.waitEvent('app.start', 20_000);
  return { c, a, b };
}

/** How node-b comes back empty in scenarios 1 and 2. */
type Emptying = (b: LitefsNode) => void;

const wholeDbDir: Emptying = (b) => {
  rmSync(join(b.dataDir, 'dbs', 'app.db'), { recursive: true, force: true });
};

/**
 * The database file truncated to zero bytes and its LTX files removed. (Truncation alone is no
 * emptying on LiteFS 0.5.11: it logs `database file is zero length on initialization` and
 * rebuilds the file from its LTX files.)
 */
const truncatedNoLtx: Emptying = (b) => {
  truncateSync(join(b.dataDir, 'dbs', 'app.db', 'database'), 0);
  const ltx = ltxDir(b);
  for (const f of readdirSync(ltx)) rmSync(join(ltx, f), { force: true });
};

/**
 * Scenarios 1 and 2: node-b comes back empty while node-a (the data holder) is stopped, takes
 * the lease alone, and must be fenced by the record; node-a comes back and ends up serving.
 * With `holderPromotes` node-a runs with --promote and takes the lease from the fenced node as
 * soon as it is synced; without, node-b can hand the lease to nobody (its --peers names only
 * itself) and exits 4 after --fence-timeout, which frees the lease for node-a.
 */
async function formerMemberBackEmpty(
  t: Test,
  empty: Emptying,
  holderPromotes: boolean,
): Promise<void> {
  const t0 = Date.now();
  const { c, a, b } = await twoNodesWithData(t);
  const key = recordKeyFor(c.key);
  const rec = await recordWith(c, key);
  t.ok(rec?.dbs['app.db'], `the record ${key} names app.db once node-a has data`);
  t.equal(rec?.dbs['app.db']?.node, 'node-a', 'recorded by node-a');
  t.match(rec?.clusterId ?? '', /^LFSC/, 'with the cluster ID');
  t.comment(`record: ${JSON.stringify(rec)}`);
  t.comment(`healthy two-node cluster with ${ROWS} rows: ${Date.now() - t0} ms`);

  await b.stop('SIGINT');
  empty(b);
  rmSync(b.stateFile, { force: true });
  await a.stop('SIGINT');
  t.equal(rowsOf(a), ROWS, `node-a's file has ${ROWS} rows while stopped`);
  const rowsA = watchRows(t, a);

  // node-b alone: it kept data.dir/clusterid, so LiteFS lets it take the lease.
  b.configure({
    exec: [{ cmd: line(c, b, ['node-b'], { promote: false, extra: ['--fence-timeout', '10s'] }) }],
  });
  const tb = Date.now();
  b.start();
  await b.waitPrimary(20_000);
  const fence = await b.waitEvent('fence.enter', 20_000).catch(() => undefined);
  t.ok(fence, 'node-b, empty and primary, is fenced');
  t.match(fence?.msg ?? '', /cluster record/, 'the fence names the record');
  t.comment(`node-b fence.enter ${Date.now() - tb} ms after its start: ${fence?.msg}`);
  t.notOk(has(b, 'migrate.start'), 'node-b never started a migration');
  t.equal((await b.health('/health')).status, 503, 'node-b /health 503');
  const status = (await b.health('/status')).body as { clusterRecord?: { state?: string } };
  t.equal(status.clusterRecord?.state, 'present', "node-b's /status: clusterRecord present");

  // node-a comes back.
  a.configure({
    exec: [{ cmd: line(c, a, ['node-a', 'node-b'], { promote: holderPromotes }) }],
  });
  const ta = Date.now();
  a.start();
  await a.waitLog(/connected to cluster, ready|primary lease acquired/, 30_000);
  if (holderPromotes) {
    await a.waitPrimary(30_000).catch((err: Error) => t.fail(err.message));
    t.comment(`node-a primary ${Date.now() - ta} ms after its start (its --promote)`);
    t.ok(has(a, 'promote.request'), 'node-a asked for the lease (--promote)');
    const left = await b.waitEvent('fence.leave', 10_000).catch(() => undefined);
    t.ok(left, 'node-b left the fence as a replica');
    t.ok(b.running(), 'node-b keeps running');
  } else {
    // node-b exits 4 after --fence-timeout so LiteFS frees the lease.
    const end = await exitWithin(b, 30_000);
    t.same(end, { code: 4, signal: null }, 'node-b exited 4 (fenced, no peer to hand to)');
    t.ok(has(b, 'fence.exit'), 'node-b logged fence.exit');
    t.comment(`node-b LiteFS exited ${JSON.stringify(end)} ${Date.now() - tb} ms after its start`);
    t.equal(rowsOf(a), ROWS, `node-a has ${ROWS} rows once node-b's run ended`);
    const te = Date.now();
    await a.waitPrimary(30_000).catch((err: Error) => t.fail(err.message));
    t.comment(`node-a primary ${Date.now() - te} ms after node-b exited`);
  }
  const up = await serves(a);
  t.ok(up, 'node-a serves (/health 200, app answers)');
  t.comment(`node-a primary and serving ${Date.now() - ta} ms after its start`);
  t.ok(has(a, 'primary.cleared'), 'node-a cleared its checks');
  t.equal(a.rows('visits'), ROWS, `node-a has ${ROWS} rows through its mount`);
  const seen = rowsA.stop();
  t.equal(
    seen.min,
    ROWS,
    `node-a's file never had fewer than ${ROWS} rows (${seen.samples} samples)`,
  );
  t.same(
    snapshotLines(a).filter((l) => l.includes('snapshot received')),
    [],
    'no snapshot overwrote node-a',
  );
  t.ok((await a.info()).isPrimary, 'node-a ends primary');
  t.comment(`node-b (fenced run): ${decisions(b)}`);

  if (!b.running()) {
    // node-b again, with both peers.
    b.configure({ exec: [{ cmd: line(c, b, ['node-a', 'node-b'], { promote: false }) }] });
    b.start();
  }
  await waitFor(() => b.rows('visits') === ROWS, { timeoutMs: 30_000, message: 'node-b synced' })
    .then(() => t.pass(`node-b synced ${ROWS} of ${ROWS}`))
    .catch((err: Error) => t.fail(err.message));
  t.ok(await serves(b), 'node-b serves as a replica');
  const after = await readRecord(c, key);
  t.same(after, rec, 'the record is unchanged');
  t.comment(`node-a: ${decisions(a)}`);
  t.comment(`scenario ${Date.now() - t0} ms`);
}

if (!skipUnlessReal(t)) {
  t.setTimeout(600_000);

  t.test('a former member back with no db dir is fenced by the record, exits 4', (t) =>
    formerMemberBackEmpty(t, wholeDbDir, false),
  );

  t.test('a former member back with a zero-byte db and no LTX is fenced, promoted away', (t) =>
    formerMemberBackEmpty(t, truncatedNoLtx, true),
  );

  t.test('an unreadable record counts as a silent peer: wait, then fence', async (t) => {
    const t0 = Date.now();
    const { c, a, b } = await twoNodesWithData(t);
    const key = recordKeyFor(c.key);
    t.ok((await recordWith(c, key))?.dbs['app.db'], 'the record names app.db');
    await b.stop('SIGINT');
    wholeDbDir(b);
    rmSync(b.stateFile, { force: true });
    await a.stop('SIGINT');
    t.equal(rowsOf(a), ROWS, `node-a's file has ${ROWS} rows while stopped`);

    // Consul's KV fails for the record's keys only; the lease keeps working.
    await c.consul.failKv('litefs-supervisor/');
    b.configure({
      exec: [
        {
          // The harness gives every supervisor --peer-wait 5s.
          cmd: line(c, b, ['node-b'], { promote: false, extra: ['--fence-timeout', '10s'] }),
        },
      ],
    });
    b.start();
    await b.waitPrimary(20_000);
    const check = await b.waitEvent('primary.check', 20_000);
    const fence = await b.waitEvent('fence.enter', 20_000).catch(() => undefined);
    const waitedMs = Number(fence?.at) - Number(check.at);
    t.ok(fence, 'node-b is fenced');
    t.match(fence?.msg ?? '', /cluster record/, 'naming the unreadable record');
    t.ok(waitedMs >= 4_500, `after waiting --peer-wait (${waitedMs} ms)`);
    t.comment(`node-b: fence.enter ${waitedMs} ms after primary.check: ${fence?.msg}`);
    const report = b.records().find((r) => r.event === 'peers.report' && r.record);
    t.match(report?.record ?? '', /^unreadable/, `peers.report record=${report?.record}`);
    t.notOk(has(b, 'migrate.start'), 'no migration');
    t.notOk(
      b.records().some((r) => r.event === 'primary.cleared'),
      'never cleared (never bootstraps)',
    );
    t.notMatch(b.output(), /Bootstrap: this run initialises/, 'no bootstrapping migration ran');
    const status = (await b.health('/status')).body as { clusterRecord?: { state?: string } };
    t.equal(status.clusterRecord?.state, 'unreadable', '/status: clusterRecord unreadable');
    const end = await exitWithin(b, 30_000);
    t.same(end, { code: 4, signal: null }, 'node-b exited 4 after --fence-timeout');
    t.equal(rowsOf(a), ROWS, `node-a's file still has ${ROWS} rows`);

    // The holder comes back while the fault lasts: a primary with data is not affected by an
    // unreadable record (docs/deploying.md, "The cluster record").
    a.configure({ exec: [{ cmd: line(c, a, ['node-a']) }] });
    const ta = Date.now();
    a.start();
    await a.waitPrimary(30_000);
    t.ok(await serves(a), 'node-a serves during the KV fault');
    t.comment(`node-a serving ${Date.now() - ta} ms after its start, record unreadable`);
    const reportA = a.records().find((r) => r.event === 'peers.report' && r.record);
    t.match(reportA?.record ?? '', /^unreadable/, `node-a read record=${reportA?.record}`);
    t.equal(a.rows('visits'), ROWS, `node-a has ${ROWS} rows`);
    await c.consul.endFailKv();
    t.ok((await readRecord(c, key))?.dbs['app.db'], 'the record is intact after the fault');
    t.comment(`node-b: ${decisions(b)}`);
    t.comment(`scenario ${Date.now() - t0} ms`);
  });

  t.test('a new cluster bootstraps once, also after a failed first migration', async (t) => {
    const t0 = Date.now();
    const c = await createCluster(t, ['node-a', 'node-b']);
    const [a, b] = [c.node('node-a'), c.node('node-b')];
    const key = recordKeyFor(c.key);
    a.configure({
      exec: [
        {
          cmd: line(c, a, ['node-a'], {
            migrate: [`node ${join(FIXTURES, 'migrate-fail.mjs')}`],
            extra: ['--migrate-retries', '0'],
          }),
        },
      ],
    });
    a.start();
    const first = await exitWithin(a, 30_000);
    t.same(first, { code: 3, signal: null }, 'first run: the migration failed, exit 3');
    t.ok(has(a, 'migrate.fail'), 'migrate.fail logged');
    t.equal(await readRecord(c, key), undefined, 'no record after a run that wrote nothing');

    a.configure({ exec: [{ cmd: line(c, a, ['node-a']) }] });
    a.start();
    await a.waitPrimary(30_000);
    t.ok(await serves(a), 'second run: node-a serves');
    const cleared = find(a, 'primary.cleared');
    t.match(
      cleared?.msg ?? '',
      /initialising a new cluster/,
      'it bootstrapped (no record, no peer)',
    );
    t.equal(find(a, 'migrate.start')?.bootstrap, 'true', 'migrate.start bootstrap=true');
    t.match(a.output(), /Bootstrap: this run initialises/, 'the migration saw BOOTSTRAP=1');
    const rec = await recordWith(c, key);
    t.equal(rec?.version, 1, 'record version 1');
    t.equal(rec?.clusterId, (await a.info()).clusterID, "record clusterId is LiteFS's");
    t.equal(rec?.dbs['app.db']?.node, 'node-a', 'record names app.db, by node-a');
    t.ok(
      !Number.isNaN(Date.parse(rec?.dbs['app.db']?.since ?? '')),
      `since is a time (${rec?.dbs['app.db']?.since})`,
    );
    t.same(Object.keys(rec?.dbs ?? {}), ['app.db'], 'only app.db');
    t.ok(has(a, 'record.write'), 'record.write logged');
    t.comment(`record: ${JSON.stringify(rec)}`);
    // `litefs-supervisor record --json` on the node shows the same record.
    const recordCli = (args: string[]) =>
      spawnSync(process.execPath, [CLI, 'record', '--litefs-config', a.configPath, ...args], {
        encoding: 'utf8',
      });
    const shown = recordCli(['--db', 'app.db', '--json']);
    t.equal(shown.status, 0, 'record --json exits 0');
    const body = JSON.parse(shown.stdout || '{}') as Record<string, unknown>;
    t.same(
      { key: body.key, state: body.state, record: body.record },
      { key, state: 'present', record: rec },
      '`litefs-supervisor record --json` shows it',
    );
    // Without --db (the form `record [--litefs-config F] [--json]`): the record lists its own dbs.
    const bare = recordCli(['--json']);
    t.equal(bare.status, 0, 'record without --db exits 0', { stderr: bare.stderr });
    t.equal(bare.stdout, shown.stdout, 'and shows the same record');
    const values = Array.from({ length: ROWS }, (_, i) => `('row ${i + 1}')`).join(', ');
    a.exec(`INSERT INTO visits (user_agent) VALUES ${values}`);

    // A second node (not a candidate: the lease stays with node-a across its restart).
    b.configure({
      candidate: false,
      exec: [{ cmd: line(c, b, ['node-a', 'node-b'], { promote: false }) }],
    });
    b.start();
    await waitFor(() => b.rows('visits') === ROWS, { timeoutMs: 20_000, message: 'node-b synced' });
    t.ok(await serves(b), 'node-b serves as a replica');

    await a.stop('SIGINT');
    a.configure({ exec: [{ cmd: line(c, a, ['node-a', 'node-b']) }] });
    a.start();
    await a.waitPrimary(30_000);
    t.ok(await serves(a), 'restarted node-a serves');
    const again = find(a, 'primary.cleared');
    t.ok(again, 'restarted node-a cleared its checks');
    t.notMatch(again?.msg ?? '', /new cluster/, 'and did not bootstrap again');
    t.equal(find(a, 'migrate.start')?.bootstrap, undefined, 'migrate.start without bootstrap');
    t.notMatch(a.output(), /Bootstrap: this run initialises/, 'no bootstrapping migration');
    t.notOk(has(a, 'record.write'), 'no record.write: the record had app.db already');
    t.equal(a.rows('visits'), ROWS, `node-a has ${ROWS} rows`);
    t.equal(b.rows('visits'), ROWS, `node-b has ${ROWS} rows`);
    const after = await readRecord(c, key);
    t.same(after, rec, 'the record is unchanged');
    t.comment(`scenario ${Date.now() - t0} ms`);
  });

  t.test('a litefs import repair of a history-lost primary is not blocked', async (t) => {
    const t0 = Date.now();
    const { c, a, b } = await twoNodesWithData(t);
    const key = recordKeyFor(c.key);
    t.ok((await recordWith(c, key))?.dbs['app.db'], 'the record names app.db');
    await b.stop('SIGINT');
    await a.stop('SIGINT');
    const ltx = ltxDir(a);
    for (const f of readdirSync(ltx)) rmSync(join(ltx, f), { force: true });

    a.configure({
      exec: [{ cmd: line(c, a, ['node-a'], { extra: ['--fence-timeout', '5m'] }) }],
    });
    a.start();
    await a.waitPrimary(20_000);
    await a.waitEvent('db.history-lost', 20_000);
    const fence = await a.waitEvent('fence.enter', 20_000);
    t.comment(`node-a fenced: ${fence.msg}`);
    t.equal(a.rows('visits'), ROWS, `node-a keeps ${ROWS} rows at TXID 0`);

    // The operator's repair (docs/deploying.md): export, check, import on the primary.
    const file = join(c.dir, 'app-export.db');
    execFileSync(c.litefsBin, ['export', '-name', 'app.db', '-url', a.url, file]);
    const copy = new Database(file, { readonly: true });
    t.equal(copy.prepare('SELECT count(*) FROM visits').pluck().get(), ROWS, 'export has the rows');
    copy.close();
    const ti = Date.now();
    execFileSync(c.litefsBin, ['import', '-name', 'app.db', '-url', a.url, file]);
    const vars = (await fetch(`${a.url}/debug/vars`).then((r) => r.json())) as {
      store: { dbs: Record<string, { txid: string }> };
    };
    t.comment(`after import: node-a TXID ${vars.store.dbs['app.db']?.txid}`);

    // The S13 fence ends by itself once the db has a new history (TXID 1): the mark of the lost
    // history was retired, and the record lists app.db while node-a has it, so the checks pass.
    const cleared = await waitFor(() => has(a, 'primary.cleared'), {
      timeoutMs: 15_000,
      message: 'node-a cleared after the import',
    }).catch(() => false);
    t.ok(cleared, 'node-a cleared its checks after the import, without a restart');
    t.ok(has(a, 'hwm.retired'), "the lost history's high-water mark was retired");
    const up = await serves(a, 20_000);
    t.ok(up, 'node-a serves after the import');
    t.comment(`node-a ${up ? 'serving' : 'not serving'} ${Date.now() - ti} ms after the import`);
    t.equal(a.rows('visits'), ROWS, `node-a has ${ROWS} rows`);
    t.comment(`node-a: ${decisions(a)}`);
    const rec = await readRecord(c, key);
    t.ok(rec?.dbs['app.db'], 'the record still names app.db');

    b.configure({ exec: [{ cmd: line(c, b, ['node-a', 'node-b'], { promote: false }) }] });
    b.start();
    await waitFor(() => b.rows('visits') === ROWS, {
      timeoutMs: 30_000,
      message: 'node-b synced',
    })
      .then(() => t.pass(`node-b synced ${ROWS} of ${ROWS}`))
      .catch((err: Error) => t.fail(err.message));
    t.comment(`scenario ${Date.now() - t0} ms`);
  });

  t.test('a changed lease key with FLY_APP_NAME: a fresh node is fenced', async (t) => {
    const t0 = Date.now();
    const app = `rec-${Math.random().toString(16).slice(2, 8)}`;
    const env = { FLY_APP_NAME: app };
    const { c, a, b } = await twoNodesWithData(t, { names: ['node-a', 'node-b', 'node-c'], env });
    const key = `litefs-supervisor/${app}`;
    t.ok((await recordWith(c, key))?.dbs['app.db'], `the record ${key} names app.db`);
    t.equal(await readRecord(c, recordKeyFor(c.key)), undefined, 'nothing under the lease key');
    await b.stop('SIGINT');
    await a.stop('SIGINT');

    // Every node moves to a new lease key; a fresh volume (node-c) takes its lease first.
    const newKey = `${c.key}-new`;
    const n = c.node('node-c');
    n.configure({
      env,
      leaseKey: newKey,
      exec: [
        { cmd: line(c, n, ['node-c'], { promote: false, extra: ['--fence-timeout', '10s'] }) },
      ],
    });
    const rowsA = watchRows(t, a);
    n.start();
    await n.waitPrimary(20_000);
    const fence = await n.waitEvent('fence.enter', 20_000).catch(() => undefined);
    t.ok(fence, 'node-c (fresh, new key) is fenced');
    t.match(fence?.msg ?? '', /record/i, 'by the record');
    t.notOk(has(n, 'migrate.start'), 'node-c never migrated');

    a.configure({ env, leaseKey: newKey, exec: [{ cmd: line(c, a, ['node-a', 'node-c']) }] });
    a.start();
    const end = await exitWithin(n, 30_000);
    t.same(end, { code: 4, signal: null }, 'node-c exited 4');
    // node-c's new cluster ID differs from the record's: a warning, once a run; it still counts.
    t.equal(
      n.events().filter((e) => e === 'record.other-cluster').length,
      1,
      'record.other-cluster logged once in the run',
    );
    // LiteFS's own cluster-ID guard: node-c, with no cluster ID of its own, stamped a new one on
    // the new key when it took the lease, so node-a (the old ID) can neither follow nor lead.
    const guard = await a
      .waitLog(/lease already initialized with different ID/, 20_000)
      .catch(() => undefined);
    t.ok(guard, `node-a's LiteFS refuses the new key: ${guard?.msg}`);
    t.notOk((await a.info()).isPrimary, 'node-a is not primary under the new key');
    t.same(a.events(), [], "so LiteFS never started node-a's supervisor");
    t.equal(rowsOf(a), ROWS, `node-a's file still has ${ROWS} rows`);

    // The operator's way out: delete the new key's cluster ID (node-c is gone); node-a's LiteFS
    // then takes the lease with its own ID and its supervisor clears against the record.
    const clusterIdKey = (await c.consul.state()).kv
      .map((e) => e.Key)
      .find((k) => k.endsWith(`${newKey}/clusterid`));
    t.ok(clusterIdKey, `the new key's cluster ID is in Consul (${clusterIdKey})`);
    const tr = Date.now();
    if (clusterIdKey) await c.consul.deleteKv(clusterIdKey);
    await a.waitPrimary(30_000).catch((err: Error) => t.fail(err.message));
    t.ok(await serves(a), 'node-a serves under the new key');
    t.comment(`node-a serving ${Date.now() - tr} ms after the cluster ID was deleted`);
    t.ok(has(a, 'primary.cleared'), 'node-a cleared its checks');
    t.notOk(has(a, 'record.other-cluster'), "the record is of node-a's own cluster");
    const seen = rowsA.stop();
    t.equal(seen.min, ROWS, `node-a's file never had fewer than ${ROWS} rows`);
    t.equal(a.rows('visits'), ROWS, `node-a has ${ROWS} rows`);
    t.equal((await readRecord(c, key))?.dbs['app.db']?.node, 'node-a', 'the record is unchanged');
    t.comment(`node-c: ${decisions(n)}`);
    t.comment(`node-a: ${decisions(a)}`);
    t.comment(`scenario ${Date.now() - t0} ms`);
  });

  t.test('a changed lease key without FLY_APP_NAME: the holder records anew', async (t) => {
    const t0 = Date.now();
    const { c, a, b } = await twoNodesWithData(t);
    const old = await recordWith(c, recordKeyFor(c.key));
    t.ok(old?.dbs['app.db'], 'record under the old key');
    await b.stop('SIGINT');
    await a.stop('SIGINT');

    const newKey = `${c.key}-new`;
    const newRecordKey = recordKeyFor(newKey);
    a.configure({ leaseKey: newKey, exec: [{ cmd: line(c, a, ['node-a', 'node-b']) }] });
    b.configure({
      leaseKey: newKey,
      exec: [{ cmd: line(c, b, ['node-a', 'node-b'], { promote: false }) }],
    });
    a.start();
    await a.waitPrimary(20_000);
    b.start();
    t.ok(await serves(a), 'node-a serves under the new key');
    const rec = await recordWith(c, newRecordKey);
    t.equal(rec?.dbs['app.db']?.node, 'node-a', `a new record ${newRecordKey} names app.db`);
    // docs/deploying.md, "The cluster record": a changed key starts a new record, with a warning.
    const warning = find(a, 'record.absent');
    t.ok(warning, 'record.absent: the new key had no record while node-a has data');
    t.comment(`record.absent: ${warning?.msg}`);
    t.ok(has(a, 'record.write'), 'record.write');
    t.equal(rec?.clusterId, old?.clusterId, "node-a's cluster ID went with it to the new key");
    t.same(await readRecord(c, recordKeyFor(c.key)), old, 'the old record is left as it was');
    await waitFor(() => b.rows('visits') === ROWS, { timeoutMs: 30_000, message: 'node-b synced' });
    t.ok(await serves(b), 'node-b serves as a replica');
    t.equal(a.rows('visits'), ROWS, `node-a has ${ROWS} rows`);
    t.ok((await a.info()).isPrimary, 'node-a ends primary');
    t.comment(`scenario ${Date.now() - t0} ms`);
  });
}
