// testkit/real-incident.ts readRows: while a node's LiteFS is down, rows are counted in its
// data-dir copy (`dbs/<db>/database`) without touching that dir: SQLite's read-only open would
// create `-wal` and `-shm` beside a WAL-mode file, in LiteFS's own directory.
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { readRows } from '../../testkit/real-incident.js';
import type { LitefsNode } from '../../testkit/real-litefs.js';
import { tmpDir } from '../helpers/wait.js';

/** A stopped node: only what readRows reads of it. */
function stoppedNode(dir: string): LitefsNode {
  return {
    name: 'node-a',
    dir,
    dataDir: join(dir, 'data'),
    mountDir: join(dir, 'mnt'),
    mounted: () => false,
  } as LitefsNode;
}

t.test('a WAL-mode data-dir file: counted, nothing created beside it', async (t) => {
  const cluster = tmpDir(t);
  const node = stoppedNode(join(cluster, 'node-a'));
  const dbDir = join(node.dataDir, 'dbs', 'app.db');
  mkdirSync(dbDir, { recursive: true });
  const db = new Database(join(dbDir, 'database'));
  db.exec('PRAGMA journal_mode = WAL; CREATE TABLE visits (id INTEGER PRIMARY KEY)');
  db.exec('INSERT INTO visits DEFAULT VALUES; INSERT INTO visits DEFAULT VALUES');
  db.close(); // checkpoints and removes -wal and -shm; the header still says WAL
  const before = readdirSync(dbDir).sort();
  t.same(before, ['database']);

  t.same(readRows(node), {
    count: 2,
    file: join('node-a', 'data', 'dbs', 'app.db', 'database'),
    via: 'data-dir',
  });
  t.same(readdirSync(dbDir).sort(), before, 'no -wal or -shm beside the file');
  t.equal(readRows(node, 'nope').count, 0, 'a missing table counts 0 rows');
});

t.test('no data-dir file: no count, the file named', async (t) => {
  const node = stoppedNode(join(tmpDir(t), 'node-b'));
  t.same(readRows(node), {
    count: undefined,
    file: join('node-b', 'data', 'dbs', 'app.db', 'database'),
    via: 'data-dir',
  });
});
