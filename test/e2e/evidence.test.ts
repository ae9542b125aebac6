// End-to-end replays of content evidence (S13) on the simulated cluster: the seed's data holder
// reports TXID 0 with every row (LiteFS rebuilds positions from LTX files only), so only evidence
// read from the database itself (pages) keeps a fresh node from bootstrapping over it. Each replay
// asserts on the data holder's rows at the end, and on the snapshots the cluster recorded.

import { join } from 'node:path';
import t, { type Test } from 'tap';
import { supervisorArgsFor } from '../../testkit/args.js';
import { FakeCluster } from '../../testkit/cluster.js';
import { countRows, createUserDb, userDbCommand } from '../../testkit/sqlite.js';
import { freePort } from '../../testkit/wait.js';
import { FIXTURES, getJson, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const DB = 'sqlite.db';

interface Node {
  name: string;
  healthPort: number;
}

async function start(t: Test, names: string[], primary?: string) {
  const cluster = await FakeCluster.start({
    nodes: names.map((name) => ({ name })),
    db: DB,
    ...(primary ? { primary } : {}),
  });
  t.teardown(() => cluster.close());
  const nodes: Node[] = [];
  for (const name of names) nodes.push({ name, healthPort: await freePort() });
  return { cluster, nodes };
}

/**
 * The supervisor for `name`, with every node in --peers and each peer's supervisor health port
 * named by `#health=PORT` (all nodes share one host here).
 */
function supervise(
  t: Test,
  cluster: FakeCluster,
  nodes: Node[],
  name: string,
  dir: string,
  extra: string[] = [],
) {
  const self = nodes.find((n) => n.name === name)!;
  const args = [
    ...supervisorArgsFor(cluster.node(name), {
      dataDir: dir,
      stateFile: join(dir, `${name}-state.json`),
      db: DB,
      healthAddr: `127.0.0.1:${self.healthPort}`,
    }),
    '--peers',
    nodes.map((n) => `${cluster.node(n.name).url}#health=${n.healthPort}`).join(','),
    '--peer-wait',
    '2s',
    // The migration adds one row: a real write on whichever node runs it.
    '--migrate',
    userDbCommand(cluster.dbPath(name), 1),
    ...extra,
    '--',
    process.execPath,
    `${FIXTURES}app-forever.mjs`,
  ];
  return startCli(t, args);
}

function overwritesOf(cluster: FakeCluster, name: string) {
  return cluster.history.filter((e) => e.type === 'snapshot' && e.to === name && e.overwrote);
}

/**
 * The seed's shape: `holder` has 8 users and no LTX files (TXID 0 on restart); `fresh` has a
 * new volume (no state file, no db) and holds the lease.
 */
async function seedShape(t: Test) {
  const { cluster, nodes } = await start(t, ['holder', 'fresh'], 'holder');
  createUserDb(cluster.dbPath('holder'), 8);
  cluster.flush();
  await waitFor(() => countRows(cluster.dbPath('fresh')) === 8, { message: 'replicated' });
  await cluster.kill('fresh');
  await cluster.restartNode('holder', { dropLtx: true });
  await cluster.restartNode('fresh', { wipe: true, keepClusterId: true });
  await cluster.elect('fresh');
  t.equal(cluster.primary, 'fresh');
  t.equal(cluster.position('holder', DB).txid, 0n, 'the holder reports TXID 0...');
  t.equal(countRows(cluster.dbPath('holder')), 8, '...with all 8 users');
  return { cluster, nodes };
}

t.test(
  'data holder at TXID 0, no supervisor on it: the fresh node hands the lease back',
  async (t) => {
    const dir = t.testdir();
    const { cluster, nodes } = await seedShape(t);
    const cli = supervise(t, cluster, nodes, 'fresh', dir);
    await cli.waitEvent('hwm.none');
    const fence = await cli.waitEvent('fence.enter');
    t.match(fence.msg, /sqlite\.db is empty here .* has data \(TXID 0000000000000000, \d+ page/);
    const report = await cli.waitEvent('peers.report');
    t.match(report.peers, /\[litefs\]/, 'evidence from LiteFS alone: no supervisor answered');
    const handoff = await cli.waitEvent('handoff.request');
    t.equal(handoff.nodeId, cluster.node('holder').nodeId);
    await cli.waitEvent('fence.leave');
    await waitFor(() => cluster.primary === 'holder', { message: 'the lease went back' });
    t.notOk(cli.events().includes('migrate.start'), 'the fresh node never migrated');
    t.equal(countRows(cluster.dbPath('holder')), 8, 'the holder kept all 8 users');
    t.same(overwritesOf(cluster, 'holder'), [], 'no snapshot overwrote the holder');
    cli.child.kill('SIGTERM');
    await cli.exited;
  },
);

t.test(
  'data holder at TXID 0 with a supervisor: evidence from its /status; S13 fences it',
  async (t) => {
    const dir = t.testdir();
    const { cluster, nodes } = await seedShape(t);
    const holder = supervise(t, cluster, nodes, 'holder', dir, ['--fence-timeout', '4s']);
    const lost = await holder.waitEvent('db.history-lost');
    t.equal(lost.db, DB);
    await holder.healthUrl();
    const fresh = supervise(t, cluster, nodes, 'fresh', dir);
    const report = await fresh.waitEvent('peers.report');
    t.match(report.peers, /\[supervisor\]/, "the holder's supervisor vouched for its data");
    await fresh.waitEvent('fence.enter');
    await fresh.waitEvent('handoff.request');
    await waitFor(() => cluster.primary === 'holder', { message: 'the lease went to the holder' });
    // As primary the holder is fenced by S13 and never hands the lease to the empty node.
    const fence = await holder.waitEvent('fence.enter');
    t.match(fence.msg, /TXID 0.*S13/);
    const { code } = await holder.exited;
    t.equal(code, 4, 'no node with at least its evidence: exit 4 after --fence-timeout');
    t.notOk(holder.events().includes('handoff.request'), 'never handed the lease to an empty node');
    t.notOk(holder.events().includes('migrate.start'));
    t.notOk(fresh.events().includes('migrate.start'));
    t.equal(countRows(cluster.dbPath('holder')), 8, 'all 8 users kept');
    t.same(overwritesOf(cluster, 'holder'), []);
    fresh.child.kill('SIGTERM');
    await fresh.exited;
  },
);

t.test('the real-LiteFS sequence, step by step', async (t) => {
  // As tried on LiteFS 0.5.11: supervisors on both, the holder's mark says TXID 2, its LTX files
  // gone; the other volume fresh. Before content evidence the holder handed the lease to the empty
  // node ("the most advanced candidate"), which then saw TXID 0 on its peer and bootstrapped.
  const dir = t.testdir();
  const { cluster, nodes } = await start(t, ['node-a', 'node-b'], 'node-a');
  // --handoff-timeout 0: this stop must leave node-a the lease holder, as in the run on real
  // LiteFS (with the default, a stopping primary hands the lease to node-b first: handover on
  // stop).
  const first = supervise(t, cluster, nodes, 'node-a', dir, ['--handoff-timeout', '0']);
  await first.waitEvent('migrate.complete');
  await first.waitEvent('app.started');
  createUserDb(cluster.dbPath('node-a'), 7); // 1 migration row + 7 users
  cluster.flush();
  first.child.kill('SIGTERM');
  await first.exited;
  await cluster.restartNode('node-a', { dropLtx: true });
  await cluster.restartNode('node-b', { wipe: true, keepClusterId: true });
  await cluster.elect('node-a');
  t.equal(cluster.position('node-a', DB).txid, 0n);
  t.equal(countRows(cluster.dbPath('node-a')), 8);

  const a = supervise(t, cluster, nodes, 'node-a', dir, ['--fence-timeout', '4s']);
  const b = supervise(t, cluster, nodes, 'node-b', dir, ['--fence-timeout', '4s']);
  await a.waitEvent('db.history-lost');
  const fence = await a.waitEvent('fence.enter');
  t.match(fence.msg, /S13|high-water mark/);
  // Its mark (TXID 2), retired for its own checks, says its rows are the newest the cluster
  // had: it keeps the lease past --fence-timeout (S13) rather than free it for an older copy.
  t.match(fence.fenceTimeout, /none: keeps the lease/);
  await new Promise((r) => setTimeout(r, 10_000));
  t.equal(a.child.exitCode, null, 'the holder keeps running, fenced, 10 s past --fence-timeout 4s');
  t.notOk(a.events().includes('fence.exit'));
  t.notOk(a.events().includes('handoff.request'), 'no handoff to the empty node');
  // Its machine stops anyway (an operator, a deploy): LiteFS releases the lease; the empty node
  // takes it.
  a.child.kill('SIGTERM');
  await a.exited;
  await cluster.kill('node-a');
  await cluster.elect('node-b');
  const bFence = await b.waitEvent('fence.enter');
  t.match(
    bFence.msg,
    /not every peer answered/,
    'the absent holder may hold the data: no bootstrap',
  );
  t.notOk(b.events().includes('migrate.start'), 'the empty node never bootstrapped');
  t.equal(countRows(cluster.dbPath('node-a')), 8, 'the holder kept its 8 rows');
  t.same(overwritesOf(cluster, 'node-a'), []);
  b.child.kill('SIGTERM');
  await b.exited;
});

t.test('two fenced nodes passing the lease back and forth end with exit 4', async (t) => {
  // Both hold the data at TXID 0 (history lost): each is eligible for the other, and each is
  // fenced as primary (S13). Fenced time adds up across the flaps.
  const dir = t.testdir();
  const { cluster, nodes } = await start(t, ['a', 'b'], 'a');
  createUserDb(cluster.dbPath('a'), 4);
  cluster.flush();
  await waitFor(() => countRows(cluster.dbPath('b')) === 4, { message: 'replicated' });
  await cluster.kill('b');
  await cluster.restartNode('a', { dropLtx: true });
  await cluster.restartNode('b', { dropLtx: true });
  await cluster.elect('a');
  const extra = ['--fence-timeout', '5s'];
  const a = supervise(t, cluster, nodes, 'a', dir, extra);
  const b = supervise(t, cluster, nodes, 'b', dir, extra);
  // The first to run out of fenced time exits 4 (its LiteFS would then release the lease).
  let timer: NodeJS.Timeout | undefined;
  const first = await Promise.race([
    a.exited.then((e) => ({ cli: a, ...e })),
    b.exited.then((e) => ({ cli: b, ...e })),
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), 40_000);
    }),
  ]);
  clearTimeout(timer);
  const flaps = cluster.history.filter((e) => e.type === 'lease' && e.to !== undefined).length;
  t.comment(`lease moves: ${flaps}`);
  t.ok(flaps >= 3, 'the lease did flap');
  t.equal(first?.code, 4, 'a node ended it with exit 4');
  const exit = first?.cli.records.find((r) => r.event === 'fence.exit');
  t.ok(Number(exit?.spells) >= 2, `fenced time added up over ${exit?.spells} spells`);
  t.ok(Number(exit?.fencedMs) >= 5000, `${exit?.fencedMs} ms fenced in all`);
  t.notOk([...a.events(), ...b.events()].includes('migrate.start'));
  t.equal(countRows(cluster.dbPath('a')), 4);
  t.equal(countRows(cluster.dbPath('b')), 4);
  for (const c of [a, b]) if (c.child.exitCode === null) c.child.kill('SIGTERM');
});

t.test('a genuinely new cluster still bootstraps, once', async (t) => {
  const dir = t.testdir();
  const { cluster, nodes } = await start(t, ['a', 'b'], 'a');
  const a = supervise(t, cluster, nodes, 'a', dir);
  const b = supervise(t, cluster, nodes, 'b', dir);
  const cleared = await a.waitEvent('primary.cleared');
  t.match(cleared.msg, /initialising a new cluster/);
  await a.waitEvent('migrate.complete');
  await a.waitEvent('app.started');
  await b.waitEvent('app.started');
  t.equal(a.events().filter((e) => e === 'migrate.start').length, 1, 'one migration on a');
  t.notOk(b.events().includes('migrate.start'), 'none on the replica');
  await waitFor(() => countRows(cluster.dbPath('b')) === 1, { message: 'b has the row' });
  const url = `http://127.0.0.1:${nodes[1]!.healthPort}/status`;
  const pages = async () =>
    ((await getJson(url)).body.dbs as { pageCount: number | null }[] | undefined)?.[0]?.pageCount;
  await waitFor(async () => (await pages()) === 2, {
    message: "b's /status shows the data",
  });
  const status = await getJson(url);
  t.match(status.body, {
    evidence: 1,
    nodeId: cluster.node('b').nodeId,
    dbs: [{ name: DB, txid: '0000000000000001', pageCount: 2, hasData: true }],
  });
  for (const c of [a, b]) c.child.kill('SIGTERM');
  await Promise.all([a.exited, b.exited]);
});

for (const [what, fault] of [
  ['fails', { status: 500, body: 'write snapshot: disk I/O error' }],
  ['hangs', { hang: true as const }],
] as const) {
  t.test(`a peer whose /export ${what} is not taken for empty`, async (t) => {
    const dir = t.testdir();
    const { cluster, nodes } = await seedShape(t);
    cluster.node('holder').failRoute('/export', fault);
    const cli = supervise(t, cluster, nodes, 'fresh', dir);
    const report = await cli.waitEvent('peers.report');
    t.match(report.unanswered, /export/, 'reported as not answered');
    const fence = await cli.waitEvent('fence.enter', () => true, 20_000);
    t.match(fence.msg, /not every peer answered/);
    t.notOk(cli.events().includes('migrate.start'), 'never bootstrapped');
    t.equal(countRows(cluster.dbPath('holder')), 8);
    cli.child.kill('SIGTERM');
    await cli.exited;
  });
}
