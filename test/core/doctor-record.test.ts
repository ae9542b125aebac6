// doctor's findings about the cluster record (src/core/doctor-record.ts): each finding shown
// where it applies and absent where it does not.

import t from 'tap';
import type { RecordRead } from '../../src/core/cluster-record.js';
import { recordFindings } from '../../src/core/doctor-record.js';

const KEY = 'litefs-supervisor/app';
const present = (dbs: string[], clusterId = 'LFSC1'): RecordRead => ({
  kind: 'present',
  index: 7,
  record: {
    version: 1,
    clusterId,
    dbs: Object.fromEntries(
      dbs.map((d) => [d, { since: '2026-12-07T00:00:00.000Z', node: 'node-a' }]),
    ),
  },
});
const ids = (r: ReturnType<typeof recordFindings>) =>
  r.map((f) => `${f.level}:${f.id}${f.db ? `:${f.db}` : ''}`);

t.test('off or not read: no finding', async (t) => {
  t.same(recordFindings(undefined, KEY, [{ name: 'app.db', hasData: false }], ''), []);
  t.same(
    recordFindings(present(['app.db']), undefined, [{ name: 'app.db', hasData: false }], ''),
    [],
  );
});

t.test('a record listing a db this node lacks is an error; one it holds is ok', async (t) => {
  const empty = recordFindings(
    present(['app.db']),
    KEY,
    [{ name: 'app.db', hasData: false }],
    'LFSC1',
  );
  t.same(ids(empty), ['error:record.data-elsewhere:app.db']);
  t.match(empty[0]?.summary, /since 2026-12-07T00:00:00.000Z \(recorded by node-a\)/);
  t.match(empty[0]?.wayOut, /record reset --yes/);
  const held = recordFindings(
    present(['app.db']),
    KEY,
    [{ name: 'app.db', hasData: true }],
    'LFSC1',
  );
  t.same(ids(held), ['ok:record.db:app.db']);
  const unlisted = recordFindings(present([]), KEY, [{ name: 'app.db', hasData: false }], 'LFSC1');
  t.same(ids(unlisted), ['info:record.db:app.db'], 'a db the record does not list may bootstrap');
});

t.test('absent: a warning only while this node holds data', async (t) => {
  t.same(ids(recordFindings({ kind: 'absent' }, KEY, [{ name: 'app.db', hasData: true }], '')), [
    'warn:record.absent',
  ]);
  t.same(ids(recordFindings({ kind: 'absent' }, KEY, [{ name: 'app.db', hasData: false }], '')), [
    'ok:record.absent',
  ]);
});

t.test(
  'unreadable is a warning; another cluster ID is a warning beside the db findings',
  async (t) => {
    const r = recordFindings(
      { kind: 'unreadable', error: 'HTTP 500' },
      KEY,
      [{ name: 'a.db', hasData: true }],
      '',
    );
    t.same(ids(r), ['warn:record.unreadable']);
    t.match(r[0]?.summary, /HTTP 500/);
    const other = recordFindings(
      present(['a.db'], 'LFSC2'),
      KEY,
      [{ name: 'a.db', hasData: true }],
      'LFSC1',
    );
    t.same(ids(other), ['warn:record.other-cluster', 'ok:record.db:a.db']);
    const unknown = recordFindings(
      present(['a.db'], 'LFSC2'),
      KEY,
      [{ name: 'a.db', hasData: true }],
      '',
    );
    t.same(ids(unknown), ['ok:record.db:a.db'], 'no cluster ID here yet: nothing to compare');
  },
);
