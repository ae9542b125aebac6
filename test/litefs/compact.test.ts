// Compaction's I/O (src/litefs/compact.ts) against the fake LiteFS: where the copy may go (never
// in the data dir or the mount), what measuring reads, the copy and its checks (rollback and WAL),
// the import guarded by the TXID, and no copy left behind (a cancel, the end of the run, a crash).

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { LitefsClient } from '../../src/litefs/client.js';
import { COPY_PREFIX, Compactor } from '../../src/litefs/compact.js';
import { FakeLitefs } from '../../testkit/fake-litefs.js';

const DB = 'app.db';

async function setup(
  t: Test,
  more: { wal?: boolean; compactDir?: (f: FakeLitefs) => string; sqlite3?: string } = {},
) {
  const fake = await FakeLitefs.start();
  fake.becomePrimary();
  const client = new LitefsClient({ url: fake.url });
  t.teardown(async () => {
    await client.close();
    await fake.stop();
  });
  const file = fake.dbPath(DB);
  const db = new Database(file);
  if (more.wal) db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)');
  db.exec("INSERT INTO users (name) VALUES ('a'), ('b'), ('c')");
  db.exec('CREATE TABLE bloat (b BLOB)');
  db.exec(
    'INSERT INTO bloat SELECT randomblob(4000) FROM (WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < 200) SELECT v FROM s)',
  );
  db.exec('DROP TABLE bloat');
  db.close();
  fake.setPos(DB, 7n);
  const compactor = new Compactor({
    client,
    mountDir: fake.mountDir,
    dataDir: fake.dataDir,
    compactDir: more.compactDir?.(fake),
    sqlite3: more.sqlite3 ?? 'sqlite3',
    backupKeep: 3,
    peerRoom: async () => [],
    now: () => Date.now(),
    importTimeoutMs: 10_000,
  });
  return { fake, compactor, file };
}

t.test('the copy goes beside the data dir, never into it or the mount', async (t) => {
  const { fake, compactor } = await setup(t);
  t.match(await compactor.dir(), { ok: true, dir: dirname(fake.dataDir) });
  const inData = await setup(t, { compactDir: (f) => f.dataDir });
  t.match(await inData.compactor.dir(), { ok: false, error: /inside the LiteFS data dir/ });
  const inMount = await setup(t, { compactDir: (f) => join(f.mountDir) });
  t.match(await inMount.compactor.dir(), { ok: false, error: /inside the LiteFS mount/ });
});

t.test('measure, copy, import: rollback journal and WAL', async (t) => {
  for (const wal of [false, true]) {
    const { fake, compactor, file } = await setup(t, { wal });
    const m = await compactor.run({ op: 'measure', db: DB, backupDir: undefined });
    t.ok(m.op === 'measure' && m.ok, `measured (${wal ? 'WAL' : 'rollback'})`);
    if (m.op !== 'measure' || !m.ok) continue;
    t.ok(m.measure.freePages >= 190, `free pages: ${m.measure.freePages}`);
    t.equal(m.measure.dir, dirname(fake.dataDir));

    const v = await compactor.run({ op: 'vacuum', db: DB });
    t.match(v, { op: 'vacuum', ok: true, txidBefore: 7n, txidAfter: 7n, rows: { users: 3 } });
    if (v.op !== 'vacuum' || !v.ok) continue;
    t.equal(dirname(v.path), dirname(fake.dataDir), 'the copy is beside the data dir');
    t.notOk(
      readdirSync(fake.mountDir).some((f) => f.startsWith(COPY_PREFIX)),
      'nothing in the mount',
    );
    t.equal(readFileSync(v.path)[18], wal ? 2 : 1, 'the copy keeps the journal mode');
    t.ok(v.bytes < 20 * 4096, `the copy is small: ${v.bytes}`);

    const imp = await compactor.run({ op: 'import', db: DB, path: v.path, txid: 7n, rows: v.rows });
    t.match(imp, { op: 'import', ok: true, txidAfter: 8n, problems: [] });
    t.equal(fake.requestsTo('/import', 'POST').length, 1, 'imported through LiteFS');
    t.notOk(existsSync(v.path), 'the copy is removed after the import');
    t.ok(readFileSync(file).length < 20 * 4096, 'the db is the compacted copy now');
  }
});

t.test('the import refuses when the TXID moved: nothing imported, the copy removed', async (t) => {
  const { fake, compactor } = await setup(t);
  const v = await compactor.run({ op: 'vacuum', db: DB });
  if (v.op !== 'vacuum' || !v.ok) throw new Error('no copy');
  fake.setPos(DB, 8n); // another writer
  const imp = await compactor.run({ op: 'import', db: DB, path: v.path, txid: 7n, rows: v.rows });
  t.match(imp, { op: 'import', ok: false, imported: false, error: /another writer committed/ });
  t.equal(fake.requestsTo('/import').length, 0, 'LiteFS was never asked');
  t.notOk(existsSync(v.path));

  // LiteFS refusing the import (a replica now): not imported, the copy removed.
  const v2 = await compactor.run({ op: 'vacuum', db: DB });
  if (v2.op !== 'vacuum' || !v2.ok) throw new Error('no copy');
  fake.becomeReplica('node-b');
  const refused = await compactor.run({
    op: 'import',
    db: DB,
    path: v2.path,
    txid: 8n,
    rows: v2.rows,
  });
  t.match(refused, {
    op: 'import',
    ok: false,
    imported: false,
    error: /LiteFS refused the import/,
  });
  t.notOk(existsSync(v2.path));
});

t.test('no copy is left: the end of the run, a crash, no sqlite3', async (t) => {
  const { fake, compactor } = await setup(t);
  const v = await compactor.run({ op: 'vacuum', db: DB });
  if (v.op !== 'vacuum' || !v.ok) throw new Error('no copy');
  await compactor.settle();
  t.notOk(existsSync(v.path), 'settle removes a copy that was not imported');

  // A crash left one: removed at the next start, and nothing else.
  const dir = dirname(fake.dataDir);
  writeFileSync(join(dir, `${COPY_PREFIX}${DB}.sqlite`), 'x');
  writeFileSync(join(dir, 'keep-me'), 'x');
  mkdirSync(join(dir, 'backups'), { recursive: true });
  t.same(await compactor.cleanLeftovers(), [join(dir, `${COPY_PREFIX}${DB}.sqlite`)]);
  t.ok(existsSync(join(dir, 'keep-me')));

  const none = await setup(t, { sqlite3: '/nonexistent/sqlite3' });
  t.match(await none.compactor.run({ op: 'measure', db: DB, backupDir: undefined }), {
    ok: false,
    error: /sqlite3 shell .* is not installed: apt-get install sqlite3, or pass --sqlite3 PATH/,
  });
});
