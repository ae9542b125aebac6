// The content-evidence parsers (S13): the SQLite header (page size and count, docs/design.md
// section 3) and a peer supervisor's /status evidence (section 7, `evidence: 1`). Real SQLite files
// made by better-sqlite3 check the header reading against SQLite itself.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { parseEvidence, parseSqliteHeader, SQLITE_HEADER_BYTES } from '../../src/core/parse.js';

function header(o: { pageSize?: number; pages?: number; change?: number; validFor?: number }) {
  const b = Buffer.alloc(SQLITE_HEADER_BYTES);
  b.write('SQLite format 3\0', 0, 'latin1');
  b.writeUInt16BE(o.pageSize === 65536 ? 1 : (o.pageSize ?? 4096), 16);
  b.writeUInt32BE(o.change ?? 7, 24);
  b.writeUInt32BE(o.pages ?? 3, 28);
  b.writeUInt32BE(o.validFor ?? o.change ?? 7, 92);
  return b;
}

t.test('parseSqliteHeader', async (t) => {
  t.same(parseSqliteHeader(header({ pages: 9 }), undefined), {
    ok: true,
    value: { pageSize: 4096, pageCount: 9, pageCountFrom: 'header' },
  });
  t.match(parseSqliteHeader(header({ pageSize: 65536, pages: 2 }), undefined), {
    ok: true,
    value: { pageSize: 65536, pageCount: 2 },
  });
  t.same(
    parseSqliteHeader(header({ pages: 9, change: 8, validFor: 7 }), 5 * 4096),
    { ok: true, value: { pageSize: 4096, pageCount: 5, pageCountFrom: 'file-size' } },
    'a stale in-header count gives way to the file size',
  );
  t.same(
    parseSqliteHeader(header({ pages: 9, change: 8, validFor: 7 }), undefined),
    { ok: true, value: { pageSize: 4096, pageCount: undefined, pageCountFrom: 'unknown' } },
    'stale count and no file size: unknown, not a guess',
  );
  t.match(parseSqliteHeader(Buffer.from('not a database at all, not at all'), 100), {
    ok: false,
    error: /no SQLite header/,
  });
  t.match(parseSqliteHeader(header({}).subarray(0, 40), 40), { ok: false, error: /truncated/ });
  t.match(parseSqliteHeader(header({ pageSize: 1000 }), undefined), {
    ok: false,
    error: /page size 1000/,
  });

  // Against SQLite itself: an empty file after `PRAGMA user_version` has 1 page; one table, 2.
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-header-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'a.db');
  const db = new Database(path);
  db.pragma('user_version = 1');
  const one = readFileSync(path);
  t.match(parseSqliteHeader(one.subarray(0, 100), one.length), { value: { pageCount: 1 } });
  db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
  db.close();
  const two = readFileSync(path);
  t.match(
    parseSqliteHeader(two.subarray(0, 100), two.length),
    { value: { pageCount: 2, pageCountFrom: 'header' } },
    'a table needs a root page besides page 1',
  );
});

t.test('parseEvidence (a peer supervisor /status, evidence: 1)', async (t) => {
  const good = {
    evidence: 1,
    nodeId: '00000000000000AB',
    clusterId: 'LFSC0000000000000001',
    version: '0.1.0',
    dbs: [
      {
        name: 'a.db',
        txid: '0000000000000005',
        pageCount: 9,
        hasData: true,
        hwm: '0000000000000007',
      },
      { name: 'b.db', txid: null, pageCount: null, hasData: false, hwm: null },
    ],
  };
  t.same(parseEvidence(good), {
    ok: true,
    value: {
      nodeId: '00000000000000AB',
      clusterId: 'LFSC0000000000000001',
      dbs: {
        'a.db': { txid: 5n, pageCount: 9, hasData: true, hwm: 7n },
        'b.db': { txid: 0n, pageCount: undefined, hasData: false, hwm: undefined },
      },
      appVersion: undefined,
      synced: undefined,
      lagMs: undefined,
      appReady: undefined,
    },
  });
  // Readiness, added within evidence: 1: `app.ready` read when present.
  t.match(parseEvidence({ ...good, app: { state: 'running', ready: false } }), {
    ok: true,
    value: { appReady: false },
  });
  t.match(parseEvidence({ ...good, app: { state: 'running' } }), {
    ok: true,
    value: { appReady: undefined },
  });
  // appVersion, synced, lagMs: fields added within evidence: 1 (a supervisor without them still
  // reads).
  t.match(
    parseEvidence({
      ...good,
      appVersion: 'registry.fly.io/app:deployment-01',
      synced: true,
      lagMs: 12,
    }),
    {
      ok: true,
      value: { appVersion: 'registry.fly.io/app:deployment-01', synced: true, lagMs: 12 },
    },
  );
  t.match(parseEvidence({ ...good, appVersion: null, synced: false, lagMs: null }), {
    ok: true,
    value: { appVersion: undefined, synced: false, lagMs: undefined },
  });
  t.match(parseEvidence({ ...good, nodeId: null, clusterId: null }), {
    ok: true,
    value: { nodeId: undefined, clusterId: '' },
  });
  const bad: [string, unknown, RegExp][] = [
    ['not an object', [], /expected a JSON object/],
    ['no evidence version', { ...good, evidence: undefined }, /"evidence": 1/],
    ['a future version', { ...good, evidence: 2 }, /"evidence": 1, got 2/],
    ['bad node ID', { ...good, nodeId: 'xyz' }, /nodeId/],
    ['dbs not an array', { ...good, dbs: {} }, /array "dbs"/],
    ['a db without name', { ...good, dbs: [{ txid: null }] }, /"name"/],
    ['bad txid', { ...good, dbs: [{ ...good.dbs[0], txid: 5 }] }, /txid/],
    ['negative pages', { ...good, dbs: [{ ...good.dbs[0], pageCount: -1 }] }, /pageCount/],
    ['hasData not boolean', { ...good, dbs: [{ ...good.dbs[0], hasData: 'yes' }] }, /hasData/],
    ['appVersion not a string', { ...good, appVersion: 7 }, /"appVersion" a string or null, got 7/],
    ['synced not a boolean', { ...good, synced: 'yes' }, /"synced" a boolean/],
    ['negative lag', { ...good, lagMs: -1 }, /"lagMs" a non-negative number/],
    ['app.ready not a boolean', { ...good, app: { ready: 'yes' } }, /"app.ready" a boolean/],
  ];
  for (const [name, body, error] of bad) t.match(parseEvidence(body), { ok: false, error }, name);
});
