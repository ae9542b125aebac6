// The fake LiteFS cluster follows LiteFS's replication and lease rules (docs/litefs-facts.md "Replication
// rules"; http/server.go streamDB, store.go), so data loss can be
// observed: in the history, in `-pos`, and in the row count of real SQLite files.

import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { get, request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { type ClusterEvent, FakeCluster, type FakeClusterOptions } from '../../testkit/cluster.js';
import { countRows, createUserDb, userDbCommand } from '../../testkit/sqlite.js';
import { waitFor } from '../helpers/wait.js';

const DB = 'sqlite.db';
const UNSYNCED = '+2147483647';

async function startCluster(t: Test, options: Partial<FakeClusterOptions> = {}) {
  const cluster = await FakeCluster.start({
    nodes: [{ name: 'a' }, { name: 'b' }],
    db: DB,
    primary: 'a',
    ...options,
  });
  t.teardown(() => cluster.close());
  t.same(cluster.errors, [], 'no poller errors (checked at start)');
  return cluster;
}

/** A primary `a` whose db has `rows` users after `writes` transactions, replicated to `b`. */
async function withData(t: Test, rows: number, writes = 1) {
  const cluster = await startCluster(t);
  for (let i = 0; i < writes; i++) {
    createUserDb(cluster.dbPath('a'), i === 0 ? rows - (writes - 1) : 1);
    cluster.flush();
  }
  t.equal(cluster.position('a').txid, BigInt(writes));
  t.equal(countRows(cluster.dbPath('b')), rows, 'b has the data');
  return cluster;
}

function mountFile(cluster: FakeCluster, name: string, file: string): string | undefined {
  try {
    return readFileSync(join(cluster.node(name).mountDir, file), 'utf8');
  } catch {
    return undefined;
  }
}

function lagOf(cluster: FakeCluster, name: string): number | 'unsynced' | undefined {
  const text = mountFile(cluster, name, '.lag');
  if (text === undefined) return undefined;
  if (text.startsWith(UNSYNCED)) return 'unsynced';
  return Number(text.trim());
}

function httpPost(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function info(cluster: FakeCluster, name: string) {
  return new Promise<{ isPrimary: boolean; primary: { hostname: string }; clusterID?: string }>(
    (resolve, reject) => {
      get(`${cluster.node(name).url}/info`, { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve(JSON.parse(body)));
      }).on('error', reject);
    },
  );
}

/** Lines of a node's /events stream, collected until teardown. */
function collectEvents(
  t: Test,
  cluster: FakeCluster,
  name: string,
): Array<Record<string, unknown>> {
  const events: Array<Record<string, unknown>> = [];
  const req = get(`${cluster.node(name).url}/events`, { agent: false }, (res) => {
    let buffer = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      let nl = buffer.indexOf('\n');
      while (nl >= 0) {
        events.push(JSON.parse(buffer.slice(0, nl)));
        buffer = buffer.slice(nl + 1);
        nl = buffer.indexOf('\n');
      }
    });
    res.on('error', () => undefined);
  });
  req.on('error', () => undefined);
  t.teardown(() => req.destroy());
  return events;
}

/** The replication-relevant steps, compactly, for order assertions. */
function steps(history: ClusterEvent[], since = 0): string[] {
  return history
    .slice(since)
    .map((e) =>
      [e.type, e.from ?? '-', e.to ?? '-', e.txid === undefined ? '' : String(e.txid)]
        .join(' ')
        .trim(),
    );
}

const execFileAsync = promisify(execFile);

t.test(
  'a write on the primary reaches a connected replica: TXID 1 as a snapshot, then catch-up',
  async (t) => {
    const cluster = await startCluster(t);
    t.equal(mountFile(cluster, 'b', '.primary'), 'a\n');
    t.match(await info(cluster, 'b'), { isPrimary: false, primary: { hostname: 'a' } });
    t.equal(mountFile(cluster, 'a', '.primary'), undefined, 'no .primary on the primary');
    const bEvents = collectEvents(t, cluster, 'b');
    await waitFor(() => bEvents.length >= 1, { message: 'init event on b' });

    // The write comes from a separate process, as a migration would.
    await execFileAsync('/bin/sh', ['-c', userDbCommand(cluster.dbPath('a'), 3)]);
    await waitFor(() => countRows(cluster.dbPath('b')) === 3, { message: 'b has 3 rows' });
    t.same(cluster.position('b'), cluster.position('a'));
    t.equal(cluster.position('b').txid, 1n);
    t.match(cluster.position('a').checksum, /^[89a-f][0-9a-f]{15}$/, 'LTX checksum flag set');
    t.equal(
      readFileSync(`${cluster.dbPath('b')}-pos`, 'utf8'),
      `0000000000000001/${cluster.position('a').checksum}\n`,
    );

    createUserDb(cluster.dbPath('a'), 2);
    await waitFor(() => countRows(cluster.dbPath('b')) === 5, { message: 'b has 5 rows' });
    t.equal(cluster.position('b').txid, 2n);

    const replication = cluster.history.filter((e) =>
      ['write', 'snapshot', 'catch-up'].includes(e.type),
    );
    t.match(replication, [
      { type: 'write', from: 'a', txid: 1n, before: { txid: 0n } },
      {
        type: 'snapshot',
        from: 'a',
        to: 'b',
        txid: 1n,
        overwrote: false,
        reason: /starting from txid 0000000000000001, writing snapshot/,
      },
      { type: 'write', from: 'a', txid: 2n },
      { type: 'catch-up', from: 'a', to: 'b', txid: 2n, before: { txid: 1n } },
    ]);
    t.equal(replication.length, 4);
    await waitFor(
      () =>
        bEvents.some(
          (e) => e.type === 'tx' && (e.data as { txID: string }).txID === '0000000000000002',
        ),
      { message: 'tx event for TXID 2 on the replica' },
    );
    const lag = lagOf(cluster, 'b');
    t.ok(typeof lag === 'number' && lag < 2000, `replica lag is small (${lag})`);
    t.equal(lagOf(cluster, 'a'), 0);
    t.same(cluster.errors, []);
  },
);

t.test(
  'a primary at TXID 0 streams nothing: the replica keeps its data and is ready',
  async (t) => {
    const cluster = await withData(t, 4, 2);
    await cluster.kill('a');
    t.equal(mountFile(cluster, 'b', '.primary'), undefined, 'no primary known');
    await cluster.restartNode('a', { wipe: true, keepClusterId: true });
    t.equal(countRows(cluster.dbPath('a')), undefined, 'a is empty');
    const mark = cluster.history.length;
    await cluster.elect('a');

    t.same(cluster.position('a'), { txid: 0n, checksum: '0000000000000000' });
    t.equal(cluster.position('b').txid, 2n, 'b keeps TXID 2 although the primary is at 0');
    t.equal(countRows(cluster.dbPath('b')), 4, 'b keeps its rows');
    t.equal(mountFile(cluster, 'b', '.primary'), 'a\n');
    const lag = lagOf(cluster, 'b');
    t.ok(typeof lag === 'number' && lag < 2000, `b is "synced" (${lag}): ready came without data`);
    t.same(steps(cluster.history, mark), ['lease - a', 'connect a b']);
    t.match(cluster.history.at(-1), { reason: /nothing to stream/ });
  },
);

t.test('the first write on an empty primary snapshots over a replica that had data', async (t) => {
  const cluster = await withData(t, 4, 2);
  await cluster.kill('a');
  await cluster.restartNode('a', { wipe: true, keepClusterId: true });
  await cluster.elect('a');
  t.equal(countRows(cluster.dbPath('b')), 4);

  // The migration on the empty primary: creates the table, no rows.
  await execFileAsync('/bin/sh', ['-c', userDbCommand(cluster.dbPath('a'), 0)]);
  await waitFor(() => countRows(cluster.dbPath('b')) === 0, { message: 'b overwritten' });
  t.same(cluster.position('b'), cluster.position('a'));
  t.equal(cluster.position('b').txid, 1n, 'b went back from TXID 2 to 1');
  const snapshot = cluster.history.filter((e) => e.type === 'snapshot' && e.to === 'b').at(-1);
  t.match(snapshot, {
    from: 'a',
    txid: 1n,
    before: { txid: 2n },
    overwrote: true,
    reason: /exceeds primary transaction id.*clearing client position.*writing snapshot/,
  });

  t.same(cluster.errors, []);
});

t.test('a replica at the same TXID with another checksum is overwritten too', async (t) => {
  const cluster = await withData(t, 2);
  await cluster.kill('b');
  await cluster.kill('a');
  await cluster.restartNode('a', { wipe: true, keepClusterId: true });
  await cluster.elect('a');
  createUserDb(cluster.dbPath('a'), 0);
  cluster.flush();
  t.equal(cluster.position('a').txid, 1n);
  t.not(cluster.position('a').checksum, cluster.position('b').checksum);
  await cluster.restartNode('b');
  t.equal(countRows(cluster.dbPath('b')), 0);
  t.match(cluster.history.filter((e) => e.type === 'snapshot').at(-1), {
    to: 'b',
    before: { txid: 1n },
    overwrote: true,
    reason: /caught up but checksum is mismatched.*writing snapshot/,
  });
});

t.test(
  'the seed incident: LTX files deleted on the data node, an empty node takes the lease',
  async (t) => {
    const cluster = await startCluster(t, {
      nodes: [{ name: 'e82' }, { name: 'd89' }],
      primary: 'e82',
    });
    createUserDb(cluster.dbPath('e82'), 8);
    cluster.flush();
    t.equal(countRows(cluster.dbPath('d89')), 8);

    // rm -rf the database dir on d89; rm ltx/* on e82; both machines restart.
    await cluster.kill('d89');
    await cluster.restartNode('e82', { dropLtx: true });
    t.same(cluster.position('e82'), { txid: 0n, checksum: '0000000000000000' }, 'TXID 0...');
    t.equal(countRows(cluster.dbPath('e82')), 8, '...with all the data');
    await cluster.elect('e82');
    await cluster.restartNode('d89', { wipe: true, keepClusterId: true });
    t.equal(countRows(cluster.dbPath('d89')), undefined, 'nothing was streamed to d89');
    t.match(cluster.history.at(-1), {
      type: 'connect',
      to: 'd89',
      reason: /ready: nothing to stream/,
    });

    // "node is a candidate, automatically promoting to primary"
    const promote = await httpPost(`${cluster.node('d89').url}/promote`);
    t.equal(promote.status, 200);
    await waitFor(() => cluster.primary === 'd89' && cluster.isConnected('e82'), {
      message: 'd89 primary',
    });
    t.match(cluster.node('e82').requestsTo('/handoff', 'POST'), [
      { url: `/handoff?nodeID=${cluster.node('d89').nodeId}` },
    ]);

    // "executing command: npx [prisma migrate deploy]" on the empty database.
    createUserDb(cluster.dbPath('d89'), 0);
    await waitFor(() => countRows(cluster.dbPath('e82')) === 0, { message: 'e82 lost its users' });
    t.match(cluster.history.filter((e) => e.type === 'snapshot').at(-1), {
      from: 'd89',
      to: 'e82',
      txid: 1n,
      overwrote: true,
      reason: /starting from txid 0000000000000001, writing snapshot/,
    });
  },
);

t.test('handoff: only from the primary, only to a replica connected to it', async (t) => {
  const cluster = await startCluster(t, {
    nodes: [{ name: 'a' }, { name: 'b' }, { name: 'c', candidate: false }],
  });
  const a = cluster.node('a');
  const b = cluster.node('b');
  const c = cluster.node('c');

  t.match(await httpPost(`${b.url}/handoff?nodeID=${a.nodeId}`), {
    status: 500,
    body: /node is not currently primary/,
  });
  t.match(await httpPost(`${a.url}/handoff?nodeID=FFFFFFFFFFFFFFFF`), {
    status: 500,
    body: /target node is not currently connected/,
  });
  cluster.disconnect('b');
  t.match(await httpPost(`${a.url}/handoff?nodeID=${b.nodeId}`), {
    status: 500,
    body: /target node is not currently connected/,
  });
  cluster.reconnect('b');
  t.ok(cluster.isConnected('b'));
  t.equal(cluster.primary, 'a', 'failed handoffs change nothing');

  t.equal((await httpPost(`${a.url}/handoff?nodeID=${b.nodeId.toLowerCase()}`)).status, 200);
  await waitFor(() => cluster.primary === 'b' && cluster.isConnected('a'), {
    message: 'b primary',
  });
  t.equal(mountFile(cluster, 'a', '.primary'), 'b\n');
  t.match(await info(cluster, 'b'), { isPrimary: true, primary: { hostname: 'b' } });

  // LiteFS checks candidacy in /promote and before taking a free lease, but not on handoff
  // (store.go Handoff, monitorLease's AcquireExisting): a non-candidate can be handed the lease.
  t.equal((await httpPost(`${c.url}/promote`)).status, 409);
  t.equal((await httpPost(`${b.url}/handoff?nodeID=${c.nodeId}`)).status, 200);
  await waitFor(() => cluster.primary === 'c', { message: 'c primary' });
  t.match(cluster.history.filter((e) => e.type === 'lease').at(-1), {
    from: 'b',
    to: 'c',
    reason: /not a candidate/,
  });
  await t.rejects(cluster.elect('c'), /not a candidate/, 'but elect() only picks candidates');
});

t.test('/promote asks the current primary for a handoff', async (t) => {
  const cluster = await startCluster(t, {
    nodes: [{ name: 'a' }, { name: 'b' }, { name: 'c', candidate: false }],
    // Long enough that the second handoff below surely arrives during the first.
    switchDelayMs: 200,
  });
  t.match(await httpPost(`${cluster.node('c').url}/promote`), { status: 409 });
  t.equal((await httpPost(`${cluster.node('a').url}/promote`)).status, 200, 'already primary');
  t.equal(cluster.primary, 'a');
  cluster.disconnect('b');
  t.match(await httpPost(`${cluster.node('b').url}/promote`), {
    status: 500,
    body: /no primary is currently available/,
  });
  t.equal(cluster.node('a').requestsTo('/handoff').length, 0, 'not forwarded');
  cluster.reconnect('b');

  const answer = await httpPost(`${cluster.node('b').url}/promote`);
  t.equal(answer.status, 200);
  await waitFor(async () => (await info(cluster, 'b')).isPrimary, { message: 'b primary' });
  t.match(cluster.node('a').requestsTo('/handoff', 'POST'), [
    { url: `/handoff?nodeID=${cluster.node('b').nodeId}` },
  ]);
  t.match(cluster.history.filter((e) => e.type === 'lease').at(-1), {
    from: 'a',
    to: 'b',
    reason: 'handoff requested by POST /promote on b',
  });
  await waitFor(() => cluster.isConnected('a') && cluster.isConnected('c'), {
    message: 'a and c stream from b',
  });

  // A second handoff while one is under way is refused by the primary.
  const first = httpPost(`${cluster.node('b').url}/handoff?nodeID=${cluster.node('a').nodeId}`);
  t.equal((await first).status, 200);
  const second = await httpPost(
    `${cluster.node('b').url}/handoff?nodeID=${cluster.node('c').nodeId}`,
  );
  t.equal(second.status, 500);
  await waitFor(() => cluster.primary === 'a', { message: 'a primary again' });
});

t.test('kill and restart: lease released, new node ID, wiped volume resynced', async (t) => {
  const cluster = await withData(t, 3);
  const oldId = cluster.node('a').nodeId;
  await cluster.kill('a');
  t.equal(cluster.primary, undefined);
  t.notOk(cluster.isRunning('a'));
  t.match(await info(cluster, 'b'), { isPrimary: false, primary: { hostname: '' } });
  await t.rejects(info(cluster, 'a'), /ECONNREFUSED/);

  await cluster.elect('b');
  await cluster.restartNode('a', { wipe: true });
  t.not(cluster.node('a').nodeId, oldId, 'a new LiteFS process has a new node ID');
  t.equal(cluster.node('a').clusterId, cluster.clusterId, 'cluster ID adopted from the primary');
  t.equal(countRows(cluster.dbPath('a')), 3, 'resynced by snapshot');
  t.match(cluster.history.filter((e) => e.type === 'snapshot').at(-1), {
    from: 'b',
    to: 'a',
    overwrote: false,
  });

  // A wiped node without a cluster ID cannot take a lease that has one (store.go monitorLease).
  await cluster.kill('b');
  await cluster.restartNode('a', { wipe: true });
  t.equal(cluster.node('a').clusterId, '');
  t.match(await info(cluster, 'a'), { isPrimary: false });
  t.notOk('clusterID' in (await info(cluster, 'a')));
  await t.rejects(cluster.elect('a'), /no cluster ID/);

  // A transaction cut off by the stop (hot rollback journal) is rolled back on start.
  const journalled = cluster.dbPath('b');
  const committed = readFileSync(journalled);
  writeFileSync(`${journalled}-journal`, Buffer.from('d9d505f920a163d7', 'hex'));
  writeFileSync(journalled, Buffer.concat([committed, Buffer.alloc(4096)]));
  await cluster.restartNode('b');
  t.same(readFileSync(journalled), committed, 'rolled back to the committed bytes');
  t.equal(countRows(journalled), 3);
  await cluster.kill('b');

  // A db file changed behind LiteFS's back no longer matches its position: LiteFS refuses to start.
  writeFileSync(cluster.dbPath('b'), 'VACUUMed outside LiteFS');
  await t.rejects(
    cluster.restartNode('b'),
    /database checksum [0-9a-f]{16} on TXID 0000000000000001 does not match LTX post-apply checksum/,
  );
  t.notOk(cluster.isRunning('b'));
});

t.test('a write on a replica is rejected and undone', async (t) => {
  const cluster = await withData(t, 2);
  const before = cluster.position('b');
  createUserDb(cluster.dbPath('b'), 5);
  await waitFor(() => cluster.history.some((e) => e.type === 'rejected-write'), {
    message: 'rejected write',
  });
  t.match(
    cluster.history.find((e) => e.type === 'rejected-write'),
    {
      to: 'b',
      db: DB,
      reason: /read only replica/,
    },
  );
  t.equal(countRows(cluster.dbPath('b')), 2);
  t.same(cluster.position('b'), before);
  t.equal(cluster.position('a').txid, 1n, 'no transaction anywhere');
});

t.test('.lag: unsynced until ready, then small; it grows while disconnected', async (t) => {
  const cluster = await startCluster(t, { primary: undefined, heartbeatMs: 30 });
  await waitFor(() => lagOf(cluster, 'b') === 'unsynced', { message: 'b unsynced' });
  t.equal(lagOf(cluster, 'a'), 'unsynced');
  t.equal(cluster.primary, undefined);

  await cluster.elect('a');
  t.equal(lagOf(cluster, 'a'), 0);
  const ready = lagOf(cluster, 'b');
  t.ok(typeof ready === 'number' && ready < 100, `small after ready (${ready})`);

  cluster.disconnect('b');
  t.equal(mountFile(cluster, 'b', '.primary'), undefined);
  await waitFor(
    () => {
      const lag = lagOf(cluster, 'b');
      return typeof lag === 'number' && lag >= 150;
    },
    { message: 'lag grows without heartbeats' },
  );
  cluster.reconnect('b');
  await waitFor(
    () => {
      const lag = lagOf(cluster, 'b');
      return typeof lag === 'number' && lag < 100;
    },
    { message: 'lag small after reconnecting' },
  );
});

t.test("autoElect: a stopped primary's lease goes to the first running candidate", async (t) => {
  const cluster = await startCluster(t, {
    nodes: [{ name: 'a' }, { name: 'b', candidate: false }, { name: 'c' }],
    primary: undefined,
    autoElect: true,
  });
  await waitFor(() => cluster.primary === 'a' && cluster.isConnected('c'), {
    message: 'a elected',
  });
  await cluster.kill('a');
  await waitFor(() => cluster.primary === 'c' && cluster.isConnected('b'), {
    message: 'c elected',
  });
  await cluster.restartNode('a');
  t.equal(cluster.primary, 'c');
  t.ok(cluster.isConnected('a'));
});

t.test('history records each step in order', async (t) => {
  const cluster = await startCluster(t);
  const seen: string[] = [];
  const unsubscribe = cluster.onEvent((e) => seen.push(e.type));
  createUserDb(cluster.dbPath('a'), 1);
  cluster.flush();
  await cluster.kill('b');
  createUserDb(cluster.dbPath('a'), 1);
  cluster.flush();
  await cluster.restartNode('b');
  await cluster.elect('b');
  unsubscribe();
  await cluster.kill('a');

  t.same(steps(cluster.history), [
    'lease - a',
    'connect a b',
    'write a - 1',
    'snapshot a b 1',
    'kill - b',
    'write a - 2',
    'restart - b',
    'catch-up a b 2',
    'connect a b',
    'disconnect a b',
    'lease a b',
    'connect b a',
    'kill - a',
  ]);
  t.equal(seen.length, 10, 'the listener saw the steps while subscribed');
  for (const e of cluster.history) t.type(e.at, 'number');
  t.same(cluster.errors, []);
});

// The cluster's Consul (testkit/fake-consul.ts) answers as ../shared/litefs/consul-standin.mjs
// does, and its lease key says what LiteFS 0.5.11 writes there (seen with the stand-in).
t.test("Consul: the lease key names the primary, as LiteFS's leaser writes it", async (t) => {
  const cluster = await startCluster(t, { consul: { prefix: 'pfx', key: 'litefs/app' } });
  const consul = cluster.consul;
  t.equal(cluster.leaseKey, 'pfx/litefs/app');
  const lease = () => {
    const text = consul.value(cluster.leaseKey);
    return {
      holder: text ? (JSON.parse(text) as { hostname: string }).hostname : '',
      session: consul.session(cluster.leaseKey),
    };
  };
  const first = lease();
  t.equal(first.holder, 'a');
  t.ok(first.session, 'held by a session');
  t.equal(consul.value(`${cluster.leaseKey}/clusterid`), cluster.clusterId);
  t.match(readFileSync(cluster.litefsConfig('a'), 'utf8'), /type: "consul"[\s\S]*url: "http/);

  // A handoff keeps the session and rewrites the value; a clean stop releases the key.
  t.match(await httpPost(`${cluster.node('a').url}/handoff?nodeID=${cluster.node('b').nodeId}`), {
    status: 200,
  });
  await waitFor(() => cluster.primary === 'b', { message: 'b primary' });
  t.same(lease(), { holder: 'b', session: first.session });
  await cluster.kill('b');
  t.same(lease(), { holder: '', session: '' }, 'released: an empty value, no session');
  await cluster.restartNode('b');
  await cluster.elect('a');
  t.equal(lease().holder, 'a');
  t.not(lease().session, first.session, 'a new session');
  // An election over a holder: its session ended, and with it the key (Behavior delete).
  await cluster.elect('b');
  t.equal(lease().holder, 'b');
});

t.test('Consul KV: GET, PUT ?cas=, DELETE ?cas=, faults, as the stand-in answers', async (t) => {
  const cluster = await startCluster(t, { consul: { prefix: 'pfx', token: 'tok' } });
  const base = cluster.consul.origin;
  const kv = (method: string, path: string, body?: string) =>
    fetch(`${base}/pfx/v1/kv/${path}`, { method, body, headers: { 'X-Consul-Token': 'tok' } }).then(
      async (r) => ({ status: r.status, text: await r.text() }),
    );
  t.same(await kv('GET', 'pfx/r'), { status: 404, text: '' });
  t.same(await kv('PUT', 'pfx/r?cas=0', 'one'), { status: 200, text: 'true' });
  t.same(await kv('PUT', 'pfx/r?cas=0', 'two'), { status: 200, text: 'false' });
  const [entry] = JSON.parse((await kv('GET', 'pfx/r')).text) as Record<string, unknown>[];
  t.match(entry, { Key: 'pfx/r', Value: Buffer.from('one').toString('base64') });
  t.notOk(entry && 'Session' in entry, 'no Session while no session holds it');
  const index = entry?.ModifyIndex as number;
  t.same(await kv('PUT', `pfx/r?cas=${index + 100}`, 'x'), { status: 200, text: 'false' });
  t.same(await kv('PUT', `pfx/r?cas=${index}`, 'two'), { status: 200, text: 'true' });
  t.same(await kv('DELETE', `pfx/r?cas=${index}`), { status: 200, text: 'false' });
  t.same(await kv('DELETE', 'pfx/gone?cas=7'), { status: 200, text: 'true' });
  t.same(await kv('PUT', 'pfx/r?cas=x', 'y'), {
    status: 500,
    text: 'strconv.ParseUint: parsing "x": invalid syntax',
  });
  await fetch(`${base}/_fake/fail-kv/start?prefix=pfx/r`, { method: 'POST' });
  t.same(await kv('GET', 'pfx/r'), { status: 500, text: 'rpc error: injected fault' });
  t.equal((await kv('GET', cluster.leaseKey)).status, 200, 'other keys still answer');
  await fetch(`${base}/_fake/fail-kv/end`, { method: 'POST' });
  t.equal((await kv('GET', 'pfx/r')).status, 200);
  t.ok(
    cluster.consul.requests.every((r) => r.tokenHeader === 'tok' || r.path.startsWith('/_fake')),
  );
});
