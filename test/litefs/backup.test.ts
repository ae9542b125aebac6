import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import type { DiskSpace } from '../../src/core/observation.js';
import {
  type BackupOptions,
  backupDb,
  backupFileName,
  parseBackupName,
} from '../../src/litefs/backup.js';
import { LitefsClient } from '../../src/litefs/client.js';
import { FakeLitefs } from '../../testkit/fake-litefs.js';
import { tmpDir } from '../helpers/wait.js';

// 2026-01-07T13:39:46.123Z
const NOW = Date.UTC(2026, 0, 7, 13, 39, 46, 123);
const TXID = 0x3bf5acn;
const NAME = 'sqlite.db.00000000003bf5ac.20260107T133946Z.sqlite';
const GiB = 1024 ** 3;

const plenty = async (path: string): Promise<DiskSpace> => ({
  ok: true,
  path,
  freeBytes: 500 * GiB,
  totalBytes: 1000 * GiB,
});

/** A real SQLite file with a table and rows, as LiteFS would export it. */
function sqliteWithRows(dir: string, rows: number): Buffer {
  const path = join(dir, 'source.sqlite');
  const db = new Database(path);
  db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)');
  const insert = db.prepare('INSERT INTO users (name) VALUES (?)');
  db.transaction(() => {
    for (let i = 0; i < rows; i++) insert.run(`user-${i}`);
  })();
  db.close();
  return readFileSync(path);
}

async function setup(t: Test) {
  const root = tmpDir(t);
  const fake = await FakeLitefs.start({ role: 'primary' });
  const client = new LitefsClient({ url: fake.url });
  t.teardown(async () => {
    await client.close();
    await fake.close();
  });
  const source = sqliteWithRows(root, 200);
  fake.writeDb('sqlite.db', { bytes: source });
  fake.setPos('sqlite.db', TXID);
  const dir = join(root, 'backups', 'nested');
  const base: BackupOptions = {
    client,
    db: 'sqlite.db',
    txid: TXID,
    dir,
    keep: 3,
    minFreeDiskPct: 10,
    expectedBytes: source.length,
    now: () => NOW,
    disk: plenty,
  };
  return { fake, client, dir, root, source, base };
}

t.test('file names', async (t) => {
  t.equal(backupFileName('sqlite.db', TXID, NOW), NAME);
  t.equal(
    backupFileName('a', (1n << 64n) - 1n, Date.UTC(2030, 11, 31, 23, 59, 59, 999)),
    'a.ffffffffffffffff.20301231T235959Z.sqlite',
  );
  t.same(parseBackupName('sqlite.db', NAME), {
    txid: '00000000003bf5ac',
    stamp: '20260107T133946Z',
  });
  t.equal(parseBackupName('sqlite', NAME), undefined, 'another db sharing a prefix');
  t.equal(parseBackupName('sqlite.db', `${NAME}.tmp`), undefined);
  t.equal(
    parseBackupName('sqlite.db', 'sqlite.db.00000000003BF5AC.20260107T133946Z.sqlite'),
    undefined,
  );
});

t.test('writes a valid SQLite copy under the exact name, creating the dir', async (t) => {
  const { fake, dir, source, base } = await setup(t);
  const res = await backupDb(base);
  t.same(res, { kind: 'written', path: join(dir, NAME), bytes: source.length, removed: [] });
  t.same(readdirSync(dir), [NAME], 'no temp file left');
  t.ok(readFileSync(join(dir, NAME)).equals(source), 'byte for byte the export');
  t.equal(statSync(join(dir, NAME)).mode & 0o777, 0o600);
  const db = new Database(join(dir, NAME), { readonly: true, fileMustExist: true });
  t.teardown(() => db.close());
  t.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  t.same(db.prepare('SELECT count(*) AS n FROM users').get(), { n: 200 });
  t.equal(fake.requestsTo('/export', 'GET').length, 1);
});

t.test('the default disk probe (statfs) is used when none is injected', async (t) => {
  const { dir, base } = await setup(t);
  const { disk: _, ...rest } = base;
  const res = await backupDb({ ...rest, minFreeDiskPct: 0 });
  t.match(res, { kind: 'written', path: join(dir, NAME) });
});

t.test('retention keeps the newest N of this db and touches nothing else', async (t) => {
  const { dir, base } = await setup(t);
  mkdirSync(dir, { recursive: true });
  const old = {
    oldest: 'sqlite.db.0000000000000001.20250101T000000Z.sqlite',
    sameStampLowTxid: 'sqlite.db.0000000000000002.20251201T000000Z.sqlite',
    sameStampHighTxid: 'sqlite.db.0000000000000003.20251201T000000Z.sqlite',
    newest: 'sqlite.db.0000000000000004.20260101T000000Z.sqlite',
  };
  const untouchable = [
    'sqlite.0000000000000001.20200101T000000Z.sqlite', // db "sqlite"
    'other.db.0000000000000001.20200101T000000Z.sqlite', // db "other.db"
    'sqlite.db.0000000000000001.20200101T000000Z.sqlite.tmp', // someone's temp file
    'sqlite.db.0000000000000001.20200101T000000Z.sqlite.bak',
    'sqlite.db.1.20200101T000000Z.sqlite',
    'notes.txt',
  ];
  for (const name of [...Object.values(old), ...untouchable]) writeFileSync(join(dir, name), 'x');
  // A directory named like a backup is not a backup.
  mkdirSync(join(dir, 'sqlite.db.0000000000000000.20190101T000000Z.sqlite'));

  const res = await backupDb({ ...base, keep: 3 });
  t.match(res, { kind: 'written' });
  t.same(
    res.kind === 'written' && [...res.removed].sort(),
    [old.oldest, old.sameStampLowTxid].map((n) => join(dir, n)).sort(),
    'the new one + 2 newest kept; at one timestamp the lower TXID is older',
  );
  t.same(
    readdirSync(dir).sort(),
    [
      NAME,
      old.newest,
      old.sameStampHighTxid,
      'sqlite.db.0000000000000000.20190101T000000Z.sqlite',
      ...untouchable,
    ].sort(),
  );
});

t.test('keep 1 and a clock that went back: the copy just written stays', async (t) => {
  const { dir, base } = await setup(t);
  mkdirSync(dir, { recursive: true });
  const future = 'sqlite.db.0000000000000001.20990101T000000Z.sqlite';
  writeFileSync(join(dir, future), 'x');
  const res = await backupDb({ ...base, keep: 1 });
  t.match(res, { kind: 'written', removed: [join(dir, future)] });
  t.same(readdirSync(dir), [NAME]);

  const again = await backupDb({ ...base, keep: 0 });
  t.match(again, { kind: 'written', removed: [] }, 'same name replaced; keep 0 acts as 1');
  t.same(readdirSync(dir), [NAME]);
});

t.test('skips, naming the numbers, when the copy would leave too little free', async (t) => {
  const { fake, dir, base } = await setup(t);
  const disk = async (path: string): Promise<DiskSpace> => ({
    ok: true,
    path,
    freeBytes: 15 * GiB,
    totalBytes: 100 * GiB,
  });
  const res = await backupDb({ ...base, disk, expectedBytes: 6 * GiB, minFreeDiskPct: 10 });
  t.match(res, { kind: 'skipped' });
  const why = res.kind === 'skipped' ? res.why : '';
  t.match(why, `${15 * GiB} bytes free of ${100 * GiB} (15.0%)`);
  t.match(why, `expected ${6 * GiB} bytes would leave 9.0%`);
  t.match(why, '--min-free-disk 10%');
  t.match(why, dir);
  t.equal(fake.requestsTo('/export').length, 0, 'nothing exported');
  t.throws(() => readdirSync(dir), { code: 'ENOENT' }, 'nothing created');

  const fits = await backupDb({ ...base, disk, expectedBytes: 5 * GiB, minFreeDiskPct: 10 });
  t.match(fits, { kind: 'written' }, 'exactly at the limit is allowed');
});

t.test('skips when free space cannot be measured', async (t) => {
  const { fake, base } = await setup(t);
  const disk = async (path: string): Promise<DiskSpace> => ({ ok: false, path, error: 'EIO' });
  const res = await backupDb({ ...base, disk });
  t.match(res, { kind: 'skipped', why: /cannot tell whether the copy fits \(EIO\)/ });
  t.equal(fake.requestsTo('/export').length, 0);
});

t.test('a copy larger than expected stops at the free-space line', async (t) => {
  const { dir, base, source } = await setup(t);
  const disk = async (path: string): Promise<DiskSpace> => ({
    ok: true,
    path,
    freeBytes: 10_000 + 4096,
    totalBytes: 100_000,
  });
  t.ok(source.length > 4096);
  const res = await backupDb({ ...base, disk, expectedBytes: 4096, minFreeDiskPct: 10 });
  t.match(res, { kind: 'failed', error: /grew past 4096 bytes/ });
  t.same(readdirSync(dir), [], 'temp file removed');
});

t.test('export failures leave no temp file', async (t) => {
  const { fake, dir, base } = await setup(t);

  const missing = await backupDb({ ...base, db: 'nope.db' });
  t.match(missing, { kind: 'failed', error: /backup of nope\.db: .*HTTP 404/ });
  t.same(readdirSync(dir), []);

  fake.failRoute('/export', { status: 500, body: 'write snapshot: disk I/O error' });
  const s500 = await backupDb(base);
  t.match(s500, { kind: 'failed', error: /HTTP 500.*disk I\/O error/ });
  t.same(readdirSync(dir), []);
  fake.failRoute('/export', null);

  // A 200 whose body is not a whole SQLite file (LiteFS failing mid-copy): written, then
  // discarded.
  fake.writeDb('sqlite.db', { bytes: Buffer.from('SQLite format 3\0 but then the copy broke') });
  const broken = await backupDb(base);
  t.match(broken, { kind: 'failed', error: /not a usable copy/ });
  t.same(readdirSync(dir), []);

  await fake.stop();
  const down = await backupDb(base);
  t.match(down, { kind: 'failed', error: /ECONNREFUSED|connection refused/ });
  t.same(readdirSync(dir), []);
});

t.test('local failures are values too', async (t) => {
  const { root, base } = await setup(t);
  writeFileSync(join(root, 'file'), '');
  const res = await backupDb({ ...base, dir: join(root, 'file', 'backups') });
  t.match(res, { kind: 'failed', error: /backup of sqlite\.db: creating .*file\/backups: E/ });

  t.match(await backupDb({ ...base, db: '../escape' }), {
    kind: 'failed',
    error: /not a plain file name/,
  });
  t.match(await backupDb({ ...base, txid: -1n }), { kind: 'failed', error: /uint64/ });
  t.match(await backupDb({ ...base, now: () => Number.NaN }), {
    kind: 'failed',
    error: /Invalid time/,
  });
});
