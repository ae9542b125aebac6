// The cluster record end to end (docs/design.md section 3, "cluster record"; S2, S3): the built
// CLI on the simulated cluster, which learns of the lease's Consul (testkit/fake-consul.ts) only
// from each node's litefs.yml, as on Fly. A primary with data records the cluster once; an
// empty primary is fenced by the record even when the machines with the data are stopped (and
// so not among its peers); a record that cannot be read is a witness that did not answer; and
// the Consul token in the URL never shows in anything the supervisor prints or serves.

import { join } from 'node:path';
import t, { type Test } from 'tap';
import { supervisorArgsFor } from '../../testkit/args.js';
import { FakeCluster, type FakeClusterOptions } from '../../testkit/cluster.js';
import { countRows, createUserDb, userDbCommand } from '../../testkit/sqlite.js';
import { FIXTURES, getJson, type LogRecord, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const DB = 'sqlite.db';

async function start(t: Test, names: string[], options: Partial<FakeClusterOptions> = {}) {
  const cluster = await FakeCluster.start({
    nodes: names.map((name) => ({ name })),
    db: DB,
    ...options,
  });
  t.teardown(() => cluster.close());
  return cluster;
}

/** Where the supervisor keeps the record by default: litefs-supervisor/<lease.consul.key>. */
function recordKey(cluster: FakeCluster): string {
  return cluster.consul.keyOf(`litefs-supervisor/${cluster.leaseKeyName}`);
}

/**
 * The supervisor's options for a node, with its litefs.yml (the only way it learns of Consul).
 * `peers`: the nodes its --peers names; on Fly a stopped machine is not in DNS, so a test of
 * a sleeping data holder leaves it out.
 */
function args(
  cluster: FakeCluster,
  name: string,
  dir: string,
  o: { peers?: string[]; extra?: string[]; app?: boolean } = {},
): string[] {
  const peers = o.peers ?? cluster.names;
  return [
    ...supervisorArgsFor(cluster.node(name), {
      dataDir: dir,
      stateFile: join(dir, `${name}-state.json`),
      db: DB,
      litefsConfig: cluster.litefsConfig(name),
    }),
    '--peers',
    peers.map((x) => cluster.node(x).url).join(','),
    // The migration adds one row: a real write on whichever node runs it.
    '--migrate',
    userDbCommand(cluster.dbPath(name), 1),
    ...(o.extra ?? []),
    ...(o.app === false ? [] : ['--', process.execPath, `${FIXTURES}app-forever.mjs`]),
  ];
}

function puts(cluster: FakeCluster) {
  return cluster.consul.requestsFor(recordKey(cluster)).filter((r) => r.method === 'PUT');
}

function parseRecord(cluster: FakeCluster) {
  const text = cluster.consul.value(recordKey(cluster));
  return text === undefined ? undefined : (JSON.parse(text) as Record<string, unknown>);
}

/** a primary with 8 users, replicated to the other nodes. */
async function withData(t: Test, names: string[], options: Partial<FakeClusterOptions> = {}) {
  const cluster = await start(t, names, { primary: 'a', ...options });
  createUserDb(cluster.dbPath('a'), 8);
  cluster.flush();
  for (const n of names) {
    await waitFor(() => countRows(cluster.dbPath(n)) === 8, { message: `${n} has 8 users` });
  }
  return cluster;
}

const never = (records: LogRecord[], event: string) => records.filter((r) => r.event === event);

t.test('a primary with data writes the record once; a replica never does', async (t) => {
  const dir = t.testdir();
  const cluster = await withData(t, ['a', 'b']);
  const a = startCli(t, args(cluster, 'a', dir));
  const written = await a.waitEvent('record.write');
  t.equal(written.key, `litefs-supervisor/${cluster.leaseKeyName}`);
  await a.waitEvent('app.started');
  t.match(parseRecord(cluster), {
    version: 1,
    clusterId: cluster.clusterId,
    dbs: { [DB]: { node: 'a', since: /^\d{4}-\d\d-\d\dT/ } },
  });
  t.match(
    puts(cluster).map((r) => r.query),
    ['?cas=0'],
    'created with check-and-set',
  );

  const b = startCli(t, args(cluster, 'b', dir));
  await b.waitEvent('app.started');
  t.same(never(b.records, 'record.write'), [], 'the replica wrote nothing');
  // a stops: its handover gives b the lease (Consul's lease value then names b). b, now
  // primary with the data, reads the record listing its db: nothing to gain, nothing written.
  a.child.kill('SIGTERM');
  await a.exited;
  await b.waitEvent('primary.cleared');
  await waitFor(() => cluster.primary === 'b', { message: 'b holds the lease' });
  const report = b.records.filter((r) => r.event === 'peers.report').at(-1);
  t.match(report?.record, /^present: sqlite\.db has data since .* \(recorded by a\)$/);
  t.match(JSON.parse(cluster.consul.value(cluster.leaseKey) ?? '{}'), { hostname: 'b' });
  t.equal(puts(cluster).length, 1, 'written once');
  t.same(never(b.records, 'record.write'), [], 'b wrote nothing');
});

t.test(
  'the sleeping data holder: an empty primary whose peers cannot see the data is fenced by the record',
  async (t) => {
    const dir = t.testdir();
    const cluster = await withData(t, ['a', 'b']);
    const a = startCli(t, args(cluster, 'a', dir));
    await a.waitEvent('record.write');
    await a.waitEvent('app.started');
    a.child.kill('SIGTERM');
    await a.exited;
    const rows = countRows(cluster.dbPath('a'));

    // b's db is deleted (no state file either); a stops (auto-stop): DNS shows only b, which
    // takes the lease with an empty database.
    await cluster.kill('b');
    await cluster.kill('a');
    await cluster.restartNode('b', { wipe: true, keepClusterId: true });
    await cluster.elect('b');
    const b = startCli(
      t,
      args(cluster, 'b', join(dir, 'b-new'), { peers: ['b'], extra: ['--fence-timeout', '1s'] }),
    );
    const fence = await b.waitEvent('fence.enter');
    t.match(fence.msg, /empty here .*cluster record in Consul .*since .*recorded by a/);
    t.match(fence.action, /start the machines that hold it/);
    t.match(await b.exited, { code: 4 }, 'exit 4 after --fence-timeout, so LiteFS frees the lease');
    t.same(never(b.records, 'migrate.start'), [], 'never migrated');
    t.same(never(b.records, 'app.started'), [], 'never started the app');
    t.equal(countRows(cluster.dbPath('b')), undefined, 'b wrote nothing');
    t.equal(countRows(cluster.dbPath('a')), rows, "a's file keeps its users");
    t.equal(puts(cluster).length, 1, 'the fenced node wrote nothing to the record either');
  },
);

t.test('a record key answering 500: an empty primary waits --peer-wait, then fences', async (t) => {
  const dir = t.testdir();
  // A genuinely new cluster: one node, no data anywhere, no record yet.
  const cluster = await start(t, ['a'], { primary: 'a' });
  const fault = await fetch(
    `${cluster.consul.origin}/_fake/fail-kv/start?prefix=${recordKey(cluster)}`,
    { method: 'POST' },
  );
  t.equal(fault.status, 200);
  const startedAt = Date.now();
  const a = startCli(
    t,
    args(cluster, 'a', dir, { extra: ['--peer-wait', '1s', '--fence-timeout', '1s'] }),
  );
  const waiting = await a.waitEvent('primary.wait-db');
  t.match(waiting.msg, /cluster record in Consul.*HTTP 500.*injected fault/);
  const fence = await a.waitEvent('fence.enter');
  t.ok(Date.now() - startedAt >= 1000, 'not before --peer-wait');
  t.match(fence.msg, /--peer-wait/);
  t.match(fence.action, /let Consul answer/);
  t.match(await a.exited, { code: 4 });
  t.same(never(a.records, 'migrate.start'), [], 'never migrated');

  // Consul answers again: the same node, still empty, may now start the new cluster.
  await fetch(`${cluster.consul.origin}/_fake/fail-kv/end`, { method: 'POST' });
  const again = startCli(t, args(cluster, 'a', dir));
  const migrate = await again.waitEvent('migrate.start');
  t.equal(migrate.bootstrap, 'true');
  await again.waitEvent('record.write');
  t.match(parseRecord(cluster), { dbs: { [DB]: { node: 'a' } } });
});

t.test(
  'the Consul token in lease.consul.url is sent as X-Consul-Token and shown nowhere',
  async (t) => {
    const dir = t.testdir();
    const TOKEN = 'b6f1c2e0-token-9d3a-secret-7e55';
    const cluster = await withData(t, ['a', 'b'], { consul: { prefix: 'prefix', token: TOKEN } });
    t.equal(
      cluster.consul.url,
      `http://:${TOKEN}@127.0.0.1:${new URL(cluster.consul.origin).port}/prefix`,
    );
    const a = startCli(t, args(cluster, 'a', dir));
    await a.waitEvent('record.write');
    await a.waitEvent('app.started');
    t.equal(recordKey(cluster), `prefix/litefs-supervisor/${cluster.leaseKeyName}`);
    t.ok(parseRecord(cluster), 'the record is under the URL path prefix');

    const health = await a.healthUrl();
    const status = await fetch(`${health}/status`).then((r) => r.text());
    t.match(status, /"state":"running"/);
    const metrics = await getJson(`${health}/metrics`);
    // A failing Consul puts its answers in the log: b becomes primary (a's handover) while
    // every key under the prefix answers 500, so b reads the record as unreadable.
    const b = startCli(t, args(cluster, 'b', join(dir, 'b')));
    await b.waitEvent('app.started');
    await fetch(`${cluster.consul.origin}/_fake/fail-kv/start?prefix=prefix/`, { method: 'POST' });
    a.child.kill('SIGTERM');
    await a.exited;
    const unreadable = await b.waitEvent('peers.report', (r) => /^unreadable/.test(r.record ?? ''));
    t.match(unreadable.record, /HTTP 500: rpc error: injected fault/);
    const bStatus = await fetch(`${await b.healthUrl()}/status`).then((r) => r.text());

    const commands = [];
    for (const command of ['check', 'doctor']) {
      const run = startCli(t, [command, ...args(cluster, 'a', join(dir, command))]);
      const { code } = await run.exited;
      t.ok(code === 0 || code === 1, `${command} ran (exit ${code})`);
      commands.push(`${run.stdout()}\n${run.stderr()}`);
    }
    const shown = [
      a.stderr(),
      a.stdout(),
      b.stderr(),
      status,
      bStatus,
      String(metrics.body),
      ...commands,
    ];
    t.ok(
      shown.every((text) => !text.includes(TOKEN)),
      'the token is in no log line, /status, /metrics, check or doctor output',
    );
    const v1 = cluster.consul.requests.filter((r) => r.path.startsWith('/v1/'));
    t.ok(v1.length >= 3, 'the supervisor asked Consul');
    t.ok(
      v1.every((r) => r.tokenHeader === TOKEN),
      'every request carried the token in X-Consul-Token',
    );
    t.ok(
      v1.every((r) => !`${r.path}${r.query}`.includes(TOKEN)),
      'and never in the path or query',
    );
  },
);
