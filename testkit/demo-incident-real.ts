// `npm run demo:incident -- --real`: the seed incident replayed on real LiteFS (the binary of
// LITEFS_BIN, PATH or ../shared/litefs, with the Consul stand-in), twice from the same start:
// with LiteFS's own exec block (`promote: true`, migrations `if-candidate`) the data holder's
// rows are lost; with litefs-supervisor as the exec command they are kept, through the seed's
// restart of the data holder (as test/real/incident-supervisor.test.ts replays it), and the end
// state is printed: who is primary for LiteFS and Consul, each supervisor's state, which app
// serves. Then the sleeping data holder, both ways: the node with the data is stopped while the
// other, its database deleted, takes the lease; only the cluster record in Consul remembers the
// data. Needs root, /dev/fuse and fusermount3; otherwise it says why and exits 2. Development
// only (testkit is not shipped).

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  askApp,
  breakLikeTheThread,
  healthyThenStopped,
  holderThenEmptiedJoins,
  litefsExecBlock,
  ROWS,
  readRows,
  restartTheHolder,
  rowsOf,
} from './real-incident.js';
import {
  type Cluster,
  createCluster,
  type LitefsNode,
  type Owner,
  realSkipReason,
  waitFor,
} from './real-litefs.js';

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const heading = (s: string) => console.log(`\n${bold(`== ${s}`)}`);

/** The demo's own teardown list, run at the end of each run and on Ctrl-C. */
class DemoOwner implements Owner {
  private fns: (() => unknown)[] = [];
  teardown(fn: () => unknown): void {
    this.fns.push(fn);
  }
  async close(): Promise<void> {
    for (const fn of this.fns.splice(0).reverse()) {
      try {
        await fn();
      } catch {}
    }
  }
}

function show(c: Cluster, when: string): void {
  const counts = c.nodes.map((n) => `${n.name} ${describeRows(n)}`).join(', ');
  console.log(`  ${when}: rows in visits: ${counts}`);
}

async function withExecBlock(owner: Owner): Promise<number | undefined> {
  heading("1. LiteFS's own exec block (promote: true, migrations if-candidate)");
  const c = await healthyThenStopped(owner);
  const [a, b] = [c.node('node-a'), c.node('node-b')];
  show(c, 'healthy cluster, both stopped');
  breakLikeTheThread(a, b);
  console.log(
    '  rm node-a/data/dbs/app.db/ltx/*, rm -rf node-b/data/dbs/app.db (as in the thread)',
  );
  for (const n of [a, b]) n.configure({ promote: true, exec: litefsExecBlock() });
  a.start();
  await a.waitLog(/starting background subprocess/);
  show(c, 'node-a back (TXID 0, pages kept) as primary');
  b.start();
  console.log('  node-b (empty) joins: LiteFS promotes it, its migration writes TXID 1 ...');
  await waitFor(() => /snapshot received/.test(a.output()), { timeoutMs: 20_000 }).catch(() => {});
  await waitFor(() => rowsOf(a) === 0, { timeoutMs: 5_000 }).catch(() => {});
  show(c, 'after node-b took the lease and migrated');
  await endState(c);
  return rowsOf(a);
}

async function withSupervisor(owner: Owner): Promise<number | undefined> {
  heading('2. litefs-supervisor as the exec command (promote: false, --promote)');
  const c = await healthyThenStopped(owner);
  const [a, b] = [c.node('node-a'), c.node('node-b')];
  show(c, 'healthy cluster, both stopped');
  breakLikeTheThread(a, b);
  console.log('  the same rm on both nodes; each keeps its state file (high-water mark)');
  for (const n of [a, b]) {
    n.configure({
      promote: false,
      exec: [{ cmd: c.supervisorCmd(n, { extra: ['--fence-timeout', '5m'] }) }],
    });
  }
  console.log('  node-a (TXID 0, pages kept) starts and takes the lease; node-b (empty) joins ...');
  await holderThenEmptiedJoins(a, b);
  said(a, ['fence.enter', 'primary.cleared', 'db.history-lost']);
  said(b, ['sync.wait', 'fence.enter']);
  show(c, 'after both decided');
  console.log('  a deploy restarts node-a, as in the thread: the lease goes to node-b (empty) ...');
  await restartTheHolder(a, b);
  said(b, ['fence.enter', 'migrate.start', 'primary.wait-db', 'handoff.request']);
  said(a, ['fence.enter', 'promote.request', 'primary.cleared']);
  show(c, 'after node-a restarted');
  await endState(c);
  return rowsOf(a);
}

/** The first event of these a node's supervisor logged in this run, with its message. */
function said(n: LitefsNode, events: string[]): void {
  const r = n.records().find((x) => events.includes(x.event ?? ''));
  console.log(`  ${n.name}: ${r ? `${r.event}: ${r.msg}` : `none of ${events.join(', ')}`}`);
}

/** Who is primary (LiteFS on each node, the lease key in Consul), each supervisor's state, apps. */
async function endState(c: Cluster): Promise<void> {
  for (const n of c.nodes) {
    const info = await n.info().catch((err: Error) => ({ error: err.message }));
    const role =
      'error' in info
        ? `/info failed (${info.error})`
        : info.isPrimary
          ? 'primary'
          : `replica of ${info.primary?.hostname ?? 'no one'}`;
    const status = await n.health('/status').catch(() => undefined);
    const body = status?.body as { state?: string; reason?: string } | undefined;
    const app = await askApp(n, '/healthz', 2_000);
    const serves = 'status' in app ? `app answers ${app.status}` : 'no app serves';
    console.log(
      `  ${n.name}: LiteFS ${role}; supervisor ${body?.state ?? 'none answers'}${
        body?.reason ? ` (${body.reason})` : ''
      }; ${serves}; rows ${describeRows(n)}`,
    );
  }
  const holder = (await c.consul.lease(c.key)).key?.hostname;
  console.log(`  Consul: the lease key names ${holder ?? 'no one'}`);
}

function describeRows(n: LitefsNode): string {
  const r = readRows(n);
  return `${r.count ?? 'no database'} (${r.file})`;
}

/** The exec line with --peers naming only `nodes`: on Fly, DNS lists running machines only. */
function peersOnly(c: Cluster, cmd: string, nodes: LitefsNode[]): string {
  const all = `--peers ${c.peers()}`;
  if (!cmd.includes(all)) throw new Error(`no ${all} in the exec line`);
  return cmd.replace(all, `--peers ${nodes.map((n) => n.url).join(',')}`);
}

const say = (s: string) => console.log(`  ${s}`);
const INSERT = `INSERT INTO visits (user_agent) VALUES ${Array.from(
  { length: ROWS },
  (_, i) => `('row ${i + 1}')`,
).join(', ')}`;

/**
 * The sleeping data holder on real LiteFS: node-a alone bootstraps and gets ROWS rows; node-b
 * joins and syncs; node-b stops and its database is deleted (no state file); node-a stops
 * (auto-stop: node-b's peers then show only node-b); node-b starts and takes the lease; node-a
 * starts and connects to node-b. Returns node-a's row count at the end.
 */
async function sleepingHolder(owner: Owner, supervisor: boolean): Promise<number | undefined> {
  heading(
    supervisor
      ? '4. The sleeping data holder, with litefs-supervisor as the exec command'
      : "3. The sleeping data holder, with LiteFS's own exec block (promote: true)",
  );
  const c = await createCluster(owner, ['node-a', 'node-b']);
  const [a, b] = [c.node('node-a'), c.node('node-b')];
  const line = (n: LitefsNode, peers: LitefsNode[], extra: string[] = []) => [
    { cmd: peersOnly(c, c.supervisorCmd(n, { extra }), peers) },
  ];
  const configure = (n: LitefsNode, peers: LitefsNode[], extra: string[] = []) =>
    supervisor
      ? n.configure({ promote: false, exec: line(n, peers, extra) })
      : n.configure({ promote: true, exec: litefsExecBlock() });

  configure(a, [a]);
  a.start();
  await a.waitLog(/primary lease acquired/);
  if (supervisor) await a.waitEvent('app.started', 30_000);
  else await a.waitLog(/starting background subprocess/, 30_000);
  await waitFor(() => rowsOf(a) !== undefined, { timeoutMs: 20_000 }).catch(() => {});
  a.exec(INSERT);
  say(`node-a starts alone, bootstraps; ${rowsOf(a)} rows in visits.`);
  if (supervisor) {
    const rec = await a.waitEvent('record.write', 20_000).catch(() => undefined);
    say(`node-a's supervisor: ${rec ? `record.write: ${rec.msg}` : 'no record.write (!)'}`);
  }

  configure(b, [a, b]);
  b.start();
  await waitFor(() => rowsOf(b) === ROWS, { timeoutMs: 30_000 }).catch(() => {});
  if (supervisor) await b.waitEvent('app.started', 30_000).catch(() => {});
  say(`node-b joins and syncs: ${rowsOf(b) ?? 'no database'} of ${ROWS} rows.`);

  await b.stop('SIGINT');
  rmSync(join(b.dataDir, 'dbs', 'app.db'), { recursive: true, force: true });
  rmSync(b.stateFile, { force: true });
  say('node-b stops; rm -rf node-b/data/dbs/app.db, no state file (its clusterid stays).');
  await a.stop('SIGINT');
  say('node-a stops too (auto-stop): the data sleeps on node-a, and DNS lists only node-b.');

  // A fence long enough for node-a to come back while node-b is fenced.
  configure(b, [b], ['--fence-timeout', '10s']);
  b.start();
  await b.waitLog(/primary lease acquired/, 30_000);
  say('node-b starts with an empty database and takes the free lease.');
  if (supervisor) {
    const fence = await b.waitEvent('fence.enter', 30_000).catch(() => undefined);
    say(`node-b's supervisor: ${fence ? `fence.enter: ${fence.msg}` : 'did not fence (!)'}`);
  } else {
    await b.waitLog(/starting background subprocess/, 30_000).catch(() => {});
    say("node-b's exec block ran `migrate.mjs` (if-candidate) on the empty database: TXID 1.");
  }

  configure(a, [a, b]);
  say(
    `node-a starts again (${rowsOf(a) ?? 'no database'} rows in its file) and connects to node-b.`,
  );
  a.start();
  if (!supervisor) {
    await waitFor(() => /snapshot received/.test(a.output()), { timeoutMs: 20_000 }).catch(
      () => {},
    );
    await waitFor(() => rowsOf(a) === 0, { timeoutMs: 10_000 }).catch(() => {});
    say(`node-a: LiteFS logs "snapshot received"; node-a now has ${rowsOf(a)} rows.`);
    return rowsOf(a);
  }
  // node-b is fenced and node-a has the data: the lease moves to node-a, either because node-a's
  // supervisor asks for it (--promote) and node-b hands it over, or because node-b's supervisor
  // exits 4 after its fence timeout and LiteFS on node-b lets it go.
  await a.waitPrimary(60_000).catch(() => {});
  const cleared = await a.waitEvent('primary.cleared', 30_000).catch(() => undefined);
  await a.waitEvent('migrate.complete', 30_000).catch(() => {});
  const how = a.records().some((r) => r.event === 'promote.request')
    ? "node-a's supervisor, a candidate with the data, asked for the lease and node-b handed it over"
    : b.records().some((r) => r.event === 'fence.exit')
      ? "node-b's supervisor gave up after its fence timeout (exit 4) and node-a took the lease"
      : 'the lease moved to node-a';
  say(`${how}.`);
  say(`node-a's supervisor: ${cleared ? `primary.cleared: ${cleared.msg}` : 'not cleared (!)'}`);
  const migratedB = b.records().some((r) => r.event === 'migrate.start');
  say(`node-b ${migratedB ? 'MIGRATED' : 'never migrated'}; node-a has ${rowsOf(a)} rows.`);
  return rowsOf(a);
}

export async function runRealDemo(): Promise<number> {
  const reason = realSkipReason();
  if (reason !== undefined) {
    console.error(`Real LiteFS is not available here: ${reason}`);
    console.error('Run `npm run demo:incident` (without --real) for the simulated replay.');
    return 2;
  }
  console.log(
    bold('The seed incident on real LiteFS: two nodes, a Consul lease, the same start twice.'),
  );
  const owner = new DemoOwner();
  const onSignal = () => void owner.close().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  let lost: number | undefined;
  let kept: number | undefined;
  let sleepingLost: number | undefined;
  let sleepingKept: number | undefined;
  try {
    lost = await withExecBlock(owner);
    await owner.close();
    kept = await withSupervisor(owner);
    await owner.close();
    sleepingLost = await sleepingHolder(owner, false);
    await owner.close();
    sleepingKept = await sleepingHolder(owner, true);
  } finally {
    await owner.close();
    process.off('SIGINT', onSignal);
  }
  heading('Result');
  console.log(`  exec block:        node-a ends with ${lost ?? 'no database'} of ${ROWS} rows.`);
  console.log(`  litefs-supervisor: node-a ends with ${kept ?? 'no database'} of ${ROWS} rows.`);
  console.log(
    `  sleeping data holder, exec block:        node-a ends with ${sleepingLost ?? 'no database'} of ${ROWS} rows.`,
  );
  console.log(
    `  sleeping data holder, litefs-supervisor: node-a ends with ${sleepingKept ?? 'no database'} of ${ROWS} rows.`,
  );
  return lost === 0 && kept === ROWS && sleepingLost === 0 && sleepingKept === ROWS ? 0 : 1;
}
