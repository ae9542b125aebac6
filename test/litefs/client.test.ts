import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { LitefsClient } from '../../src/litefs/client.js';
import { emptySqliteDb, FakeLitefs } from '../../testkit/fake-litefs.js';
import { tmpDir } from '../helpers/wait.js';

async function setup(
  t: Test,
  options: Parameters<typeof FakeLitefs.start>[0] = {},
  clientOptions: { headersTimeoutMs?: number } = {},
) {
  const fake = await FakeLitefs.start(options);
  const client = new LitefsClient({ url: fake.url, ...clientOptions });
  t.teardown(async () => {
    await client.close();
    await fake.close();
  });
  return { fake, client };
}

t.test('info: replica, with node and cluster ID headers', async (t) => {
  const { fake, client } = await setup(t, {
    nodeId: '8D1A4FB2C35E0917',
    clusterId: 'LFSC0123456789ABCDEF',
    role: { replicaOf: 'machine-a' },
  });
  t.same(await client.info(), {
    ok: true,
    value: {
      clusterId: 'LFSC0123456789ABCDEF',
      isPrimary: false,
      candidate: true,
      path: fake.dataDir,
      primaryHostname: 'machine-a',
      nodeId: '8D1A4FB2C35E0917',
      clusterIdHeader: 'LFSC0123456789ABCDEF',
    },
  });
});

t.test('info: primary; no cluster ID yet omits clusterID and the header', async (t) => {
  const { fake, client } = await setup(t, { role: 'primary', clusterId: '', hostname: 'self-1' });
  const res = await client.info();
  t.ok(res.ok);
  if (res.ok) {
    t.equal(res.value.isPrimary, true);
    t.equal(res.value.primaryHostname, 'self-1');
    t.equal(res.value.clusterId, '');
    t.equal(res.value.clusterIdHeader, undefined);
    t.equal(res.value.nodeId, fake.nodeId);
  }
});

t.test('info: unreachable, 500, bad JSON and slow answers are ok:false values', async (t) => {
  const { fake, client } = await setup(t, {}, { headersTimeoutMs: 200 });

  fake.failInfo({ status: 500 });
  const s500 = await client.info();
  t.match(s500, { ok: false, status: 500, error: /HTTP 500: "fake \/info failure"/ });

  fake.failInfo({ badJson: true });
  t.match(await client.info(), { ok: false, error: /expected JSON, got/ });

  fake.failInfo({ delayMs: 60_000 });
  t.match(await client.info(), { ok: false, error: /no response headers within 200 ms/ });

  fake.failInfo(null);
  t.match(await client.info(), { ok: true });

  await fake.stop();
  t.match(await client.info(), { ok: false, error: /connection refused|ECONNREFUSED/ });

  await fake.restart();
  t.match(await client.info(), { ok: true }, 'works again after the node comes back');
});

t.test('info: a body of the wrong shape is an error naming the field', async (t) => {
  const { fake, client } = await setup(t);
  fake.failInfo({ body: '{"isPrimary":"yes"}' });
  t.match(await client.info(), { ok: false, error: /\/info: expected boolean "isPrimary"/ });
});

t.test('the URL keeps only its origin, like LiteFS own client', async (t) => {
  const { fake } = await setup(t);
  const other = new LitefsClient({ url: `${fake.url}/ignored/path?x=1` });
  t.teardown(() => other.close());
  t.equal(other.url, fake.url);
  t.match(await other.info(), { ok: true });
  t.throws(() => new LitefsClient({ url: 'ftp://127.0.0.1:1' }), TypeError);
});

t.test('debugVars: per-db positions; no LiteFS headers on that route', async (t) => {
  const { fake, client } = await setup(t, { dbs: ['sqlite.db'] });
  fake.setPos('sqlite.db', 0x3bf5acn, '8a1b2c3d4e5f6071');
  const res = await client.debugVars();
  t.same(res, {
    ok: true,
    value: {
      isPrimary: false,
      candidate: true,
      dbs: { 'sqlite.db': { txid: 0x3bf5acn, checksum: '8a1b2c3d4e5f6071' } },
    },
  });
  const raw = await fetch(`${fake.url}/debug/vars`);
  t.equal(raw.headers.get('litefs-id'), null);
  await raw.arrayBuffer();
  const info = await fetch(`${fake.url}/info`);
  t.equal(info.headers.get('litefs-id'), fake.nodeId);
  await info.arrayBuffer();
});

t.test('promote: 200 requested, 409 not a candidate, 500 no primary', async (t) => {
  const { fake, client } = await setup(t, { role: { replicaOf: 'machine-a' } });
  fake.promoteBehavior = 'stay';
  t.same(await client.promote(), { ok: true, value: undefined });

  fake.loseLeader();
  t.match(await client.promote(), {
    ok: false,
    status: 500,
    error: /no primary is currently available/,
  });

  fake.candidate = false;
  t.match(await client.promote(), { ok: false, status: 409, error: /not eligible/ });
  t.equal(fake.requestsTo('/promote', 'POST').length, 3);
});

t.test('handoff: nodeID passed as given; errors carry status and LiteFS text', async (t) => {
  const { fake, client } = await setup(t, { role: 'primary' });
  t.match(await client.handoff('not-hex'), { ok: false, status: 400, error: /invalid node id/ });
  t.match(await client.handoff('00000000000000AB'), {
    ok: false,
    status: 500,
    error: /target node is not currently connected/,
  });
  fake.connectReplica('00000000000000AB', 'machine-b');
  t.same(await client.handoff('00000000000000AB'), { ok: true, value: undefined });
  t.equal(fake.requestsTo('/handoff').at(-1)?.url, '/handoff?nodeID=00000000000000AB');
});

t.test('exportDb: streams the database into a file; 404 for an unknown db', async (t) => {
  const { fake, client } = await setup(t, { role: 'primary', dbs: ['sqlite.db'] });
  const dir = tmpDir(t);
  const dest = join(dir, 'backup.sqlite');
  const res = await client.exportDb('sqlite.db', createWriteStream(dest));
  t.same(res, { ok: true, value: { bytes: 4096 } });
  const copy = await readFile(dest);
  t.same(copy, await readFile(fake.dbPath('sqlite.db')));
  // The fake's database is a real (empty) SQLite file.
  const db = new Database(dest, { readonly: true });
  t.same(db.prepare('SELECT count(*) AS n FROM sqlite_schema').get(), { n: 0 });
  db.close();

  const written: Buffer[] = [];
  const untouched = new Writable({
    write(chunk: Buffer, _enc, done) {
      written.push(chunk);
      done();
    },
  });
  t.match(await client.exportDb('nope.db', untouched), {
    ok: false,
    status: 404,
    error: /database not found/,
  });
  t.same(written, [], 'nothing written for a refused export');
  t.equal(untouched.writableEnded, false, 'destination left open for the caller');
});

t.test('exportDb: a 200 body that is not a whole SQLite file is refused', async (t) => {
  const { fake, client } = await setup(t, { role: 'primary' });
  const sink = () =>
    new Writable({
      write(_chunk, _enc, done) {
        done();
      },
    });
  // What LiteFS sends when Export fails midway: the pages so far, then Error()'s text.
  const page = emptySqliteDb();
  fake.writeDb('cut.db', {
    bytes: Buffer.concat([page, Buffer.from('write snapshot: context canceled\n')]),
  });
  t.match(await client.exportDb('cut.db', sink()), {
    ok: false,
    error: /not a whole number of 4096-byte pages/,
  });
  fake.writeDb('text.db', { bytes: Buffer.from('hello, world, this is text') });
  t.match(await client.exportDb('text.db', sink()), { ok: false, error: /no SQLite header/ });
  fake.writeDb('zero.db', { size: 0 });
  t.match(await client.exportDb('zero.db', sink()), { ok: false, error: /empty body/ });
});

t.test('close: later calls fail as values, not throws', async (t) => {
  const { client } = await setup(t);
  await client.close();
  await client.close();
  t.match(await client.info(), { ok: false, error: /closed|destroyed/i });
});
