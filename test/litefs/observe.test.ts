import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import t, { type Test } from 'tap';
import { LitefsClient } from '../../src/litefs/client.js';
import { observe, observeStandalone } from '../../src/litefs/observe.js';
import { emptySqliteDb, FakeLitefs, type FakeLitefsOptions } from '../../testkit/fake-litefs.js';
import { asNobody, openUpTo } from '../helpers/unprivileged.js';
import { tmpDir } from '../helpers/wait.js';

const NOW = 1_700_000_000_000;

async function setup(t: Test, options: FakeLitefsOptions = {}) {
  const fake = await FakeLitefs.start(options);
  const client = new LitefsClient({ url: fake.url });
  t.teardown(async () => {
    await client.close();
    await fake.close();
  });
  const look = (dbs: string[] = ['sqlite.db']) =>
    observe({ client, mountDir: fake.mountDir, dbs, now: () => NOW });
  return { fake, client, look };
}

t.test('replica connected to a primary, synced', async (t) => {
  const { fake, look } = await setup(t, { role: { replicaOf: 'machine-a' }, dbs: ['sqlite.db'] });
  fake.setLag(12);
  fake.setPos('sqlite.db', 0x3bf5acn, '8a1b2c3d4e5f6071');
  const obs = await look();
  t.equal(obs.at, NOW);
  t.match(obs.info, { ok: true, value: { isPrimary: false, primaryHostname: 'machine-a' } });
  t.same(obs.primaryFile, { kind: 'present', value: 'machine-a' });
  t.same(obs.lag, { kind: 'present', value: { kind: 'ms', ms: 12 } });
  t.same(obs.dbs, [
    {
      name: 'sqlite.db',
      exists: true,
      sizeBytes: 4096,
      validHeader: true,
      pageSize: 4096,
      pageCount: 1,
      pos: { kind: 'present', value: { txid: 0x3bf5acn, checksum: '8a1b2c3d4e5f6071' } },
    },
  ]);
});

t.test('primary: no .primary, lag +000000000', async (t) => {
  const { fake, look } = await setup(t, { role: 'primary', hostname: 'self-1' });
  const obs = await look([]);
  t.match(obs.info, { ok: true, value: { isPrimary: true, primaryHostname: 'self-1' } });
  t.same(obs.primaryFile, { kind: 'absent' });
  t.same(obs.lag, { kind: 'present', value: { kind: 'ms', ms: 0 } });
  t.notOk(readdirSync(fake.mountDir).includes('.primary'));
});

t.test('no primary known: .primary absent and /info not primary either', async (t) => {
  const { fake, look } = await setup(t, { role: { replicaOf: 'machine-a' } });
  fake.loseLeader();
  const obs = await look([]);
  t.match(obs.info, { ok: true, value: { isPrimary: false, primaryHostname: '' } });
  t.same(obs.primaryFile, { kind: 'absent' });
});

t.test('lag states: unsynced, value, absent, garbage', async (t) => {
  const { fake, look } = await setup(t, { role: { replicaOf: 'machine-a' } });
  fake.setLag('unsynced');
  t.same((await look([])).lag, { kind: 'present', value: { kind: 'unsynced' } });
  fake.setLag(2500);
  t.same((await look([])).lag, { kind: 'present', value: { kind: 'ms', ms: 2500 } });
  fake.setLag('absent');
  t.same((await look([])).lag, { kind: 'absent' });
  writeFileSync(join(fake.mountDir, '.lag'), '42\n');
  t.match((await look([])).lag, { kind: 'error', error: /\.lag: expected/ });
});

t.test('a primary that loses the lease shows unsynced lag until the first heartbeat', async (t) => {
  const { fake, look } = await setup(t, { role: 'primary' });
  fake.becomeReplica('machine-b');
  const obs = await look([]);
  t.same(obs.lag, { kind: 'present', value: { kind: 'unsynced' } });
  t.same(obs.primaryFile, { kind: 'present', value: 'machine-b' });
});

t.test(
  'databases: valid, zero bytes, not SQLite, short, missing, -pos absent or bad',
  async (t) => {
    const { fake, look } = await setup(t, { role: 'primary' });
    fake.writeDb('ok.db', { sqlite: true });
    fake.setPos('ok.db', 5n);
    fake.writeDb('zero.db', { size: 0 });
    fake.writeDb('text.db', { bytes: Buffer.from('this is not a database at all\n') });
    fake.writeDb('short.db', { bytes: emptySqliteDb().subarray(0, 10) });
    fake.writeDb('nopos.db', { sqlite: true });
    fake.removePos('nopos.db');
    fake.writeDb('badpos.db', { sqlite: true });
    writeFileSync(`${fake.dbPath('badpos.db')}-pos`, '5/6\n');

    const obs = await look([
      'ok.db',
      'zero.db',
      'text.db',
      'short.db',
      'missing.db',
      'nopos.db',
      'badpos.db',
    ]);
    const byName = Object.fromEntries(obs.dbs.map((d) => [d.name, d]));
    t.match(byName['ok.db'], {
      exists: true,
      sizeBytes: 4096,
      validHeader: true,
      pageSize: 4096,
      pageCount: 1,
      pos: { kind: 'present' },
    });
    t.match(byName['zero.db'], {
      exists: true,
      sizeBytes: 0,
      validHeader: false,
      pos: { kind: 'present', value: { txid: 0n } },
    });
    t.match(byName['text.db'], { exists: true, sizeBytes: 30, validHeader: false });
    t.match(byName['short.db'], { exists: true, sizeBytes: 10, validHeader: false });
    t.same(byName['missing.db'], {
      name: 'missing.db',
      exists: false,
      sizeBytes: 0,
      validHeader: false,
      pos: { kind: 'absent' },
    });
    t.same(byName['nopos.db']?.pos, { kind: 'absent' });
    t.match(byName['badpos.db']?.pos, { kind: 'error', error: /-pos: expected/ });
    for (const db of obs.dbs) t.equal(db.error, undefined, `${db.name}: no read error`);
  },
);

t.test('/info 500 and bad JSON become info errors; files are still read', async (t) => {
  const { fake, look } = await setup(t, { role: { replicaOf: 'machine-a' } });
  fake.failInfo({ status: 500 });
  const failed = await look([]);
  t.match(failed.info, { ok: false, error: /HTTP 500/ });
  t.equal('status' in failed.info, false, 'only ok/error reach the observation');
  t.same(failed.primaryFile, { kind: 'present', value: 'machine-a' });

  fake.failInfo({ badJson: true });
  t.match((await look([])).info, { ok: false, error: /expected JSON/ });

  await fake.stop();
  t.match((await look([])).info, { ok: false, error: /ECONNREFUSED/ });
});

t.test('unreadable files are errors, never absent (EACCES, as nobody when root)', async (t) => {
  const { fake, look } = await setup(t, { role: 'primary', dbs: ['sqlite.db'] });
  openUpTo(fake.mountDir, dirname(fake.mountDir));
  chmodSync(fake.dbPath('sqlite.db'), 0o000);
  chmodSync(join(fake.mountDir, '.lag'), 0o000);
  const obs = await asNobody(async () => {
    t.throws(() => readFileSync(join(fake.mountDir, '.lag')), { code: 'EACCES' }, 'really denied');
    return look();
  });
  t.match(obs.lag, { kind: 'error', error: /EACCES/ });
  t.match(obs.dbs[0], { exists: true, error: /EACCES/ });
});

t.test('a read error on the db (EISDIR) is an error, not "missing"', async (t) => {
  const { fake, look } = await setup(t, { role: 'primary' });
  mkdirSync(fake.dbPath('dir.db'));
  const [db] = (await look(['dir.db'])).dbs;
  t.match(db, { name: 'dir.db', exists: true, error: /EISDIR/ });
});

t.test('a missing mount dir makes every file an error, not absent', async (t) => {
  const { client } = await setup(t, { role: 'primary' });
  const obs = await observe({
    client,
    mountDir: join(tmpDir(t), 'not-mounted'),
    dbs: ['sqlite.db'],
    now: () => NOW,
  });
  t.match(obs.info, { ok: true });
  t.match(obs.primaryFile, { kind: 'error', error: /mount dir .*ENOENT/ });
  t.match(obs.lag, { kind: 'error' });
  t.match(obs.dbs[0], { exists: false, error: /mount dir/, pos: { kind: 'error' } });
});

t.test('observe never writes to the mount dir', async (t) => {
  const { fake, look } = await setup(t, { role: { replicaOf: 'machine-a' }, dbs: ['sqlite.db'] });
  const before = readdirSync(fake.mountDir)
    .sort()
    .map((f) => [f, statSync(join(fake.mountDir, f)).mtimeMs]);
  await look();
  const after = readdirSync(fake.mountDir)
    .sort()
    .map((f) => [f, statSync(join(fake.mountDir, f)).mtimeMs]);
  t.same(after, before);
  t.same(
    fake.requests.map((r) => `${r.method} ${r.path}`),
    ['GET /info'],
  );
});

t.test('standalone: always primary, plain files, no LiteFS files', async (t) => {
  const dir = tmpDir(t);
  writeFileSync(join(dir, 'app.db'), emptySqliteDb());
  writeFileSync(join(dir, 'empty.db'), '');
  const obs = await observeStandalone({
    mountDir: dir,
    dbs: ['app.db', 'empty.db', 'new.db'],
    now: () => NOW,
  });
  t.same(obs, {
    at: NOW,
    info: {
      ok: true,
      value: {
        isPrimary: true,
        candidate: true,
        clusterId: '',
        path: dir,
        primaryHostname: '',
        nodeId: undefined,
        clusterIdHeader: undefined,
      },
    },
    primaryFile: { kind: 'absent' },
    lag: { kind: 'absent' },
    dbs: [
      {
        name: 'app.db',
        exists: true,
        sizeBytes: 4096,
        validHeader: true,
        pageSize: 4096,
        pageCount: 1,
        pos: { kind: 'absent' },
      },
      { name: 'empty.db', exists: true, sizeBytes: 0, validHeader: false, pos: { kind: 'absent' } },
      { name: 'new.db', exists: false, sizeBytes: 0, validHeader: false, pos: { kind: 'absent' } },
    ],
  });
});

t.test('standalone: a mount dir that does not exist yet means new databases', async (t) => {
  const obs = await observeStandalone({
    mountDir: join(tmpDir(t), 'data'),
    dbs: ['app.db'],
    now: () => NOW,
  });
  t.same(obs.dbs, [
    { name: 'app.db', exists: false, sizeBytes: 0, validHeader: false, pos: { kind: 'absent' } },
  ]);
});
