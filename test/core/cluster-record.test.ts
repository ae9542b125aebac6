// The cluster record's pure model (src/core/cluster-record.ts; docs/deploying.md, "The cluster
// record"): strict parsing of the value read from Consul, a record that only ever gains a db,
// what a write would gain, and the text logs and refusals show.

import t from 'tap';
import {
  type ClusterRecord,
  describeRecord,
  gainRecord,
  parseClusterRecord,
  RECORD_VERSION,
  type RecordRead,
  recordedData,
  serializeClusterRecord,
  unrecorded,
} from '../../src/core/cluster-record.js';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);
const SINCE = new Date(T0).toISOString();
const at = (now = T0, node = 'node-a', clusterId = 'LFSC0000000000000001') => ({
  clusterId,
  node,
  now,
});
const rec = (dbs: ClusterRecord['dbs'], clusterId = 'LFSC0000000000000001'): ClusterRecord => ({
  version: RECORD_VERSION,
  clusterId,
  dbs,
});
const present = (record: ClusterRecord, index = 7): RecordRead => ({
  kind: 'present',
  record,
  index,
});

t.test('parseClusterRecord reads a record strictly', async (t) => {
  t.test('allows: a valid record, and the serialised form reads back the same', async (t) => {
    const record = rec({
      'app.db': { since: SINCE, node: 'node-a' },
      'jobs.db': { since: SINCE, node: 'node-b' },
    });
    const text = serializeClusterRecord(record);
    t.notMatch(text, /\n/, 'one line');
    t.same(parseClusterRecord(text), { ok: true, record });
    t.same(parseClusterRecord('{"version":1,"clusterId":"","dbs":{}}'), {
      ok: true,
      record: { version: 1, clusterId: '', dbs: {} },
    });
  });

  t.test('allows: a newer version is read for its v1 fields', async (t) => {
    const r = parseClusterRecord(
      JSON.stringify({
        version: 2,
        clusterId: 'LFSC0000000000000009',
        generation: 4,
        dbs: { 'app.db': { since: SINCE, node: 'node-c', txidFloor: '00000000000000ff' } },
      }),
    );
    t.same(r, {
      ok: true,
      record: {
        version: 2,
        clusterId: 'LFSC0000000000000009',
        dbs: { 'app.db': { since: SINCE, node: 'node-c' } },
      },
    });
  });

  const refusals: [string, string, RegExp][] = [
    ['not JSON', '{"version":1,', /not JSON/],
    ['empty text', '', /not JSON/],
    ['a JSON array', '[1]', /not a JSON object/],
    ['JSON null', 'null', /not a JSON object/],
    ['a version of 0', '{"version":0,"clusterId":"","dbs":{}}', /version/],
    ['a fractional version', '{"version":1.5,"clusterId":"","dbs":{}}', /version/],
    ['a version as text', '{"version":"1","clusterId":"","dbs":{}}', /version/],
    ['no version', '{"clusterId":"","dbs":{}}', /version/],
    ['a numeric clusterId', '{"version":1,"clusterId":7,"dbs":{}}', /clusterId/],
    ['dbs as an array', '{"version":1,"clusterId":"","dbs":["app.db"]}', /dbs is not an object/],
    ['dbs missing', '{"version":1,"clusterId":""}', /dbs is not an object/],
    [
      'an entry without node',
      `{"version":1,"clusterId":"","dbs":{"app.db":{"since":"${SINCE}"}}}`,
      /dbs\.app\.db is not \{since, node\}/,
    ],
    [
      'an entry with a numeric since',
      '{"version":1,"clusterId":"","dbs":{"app.db":{"since":1,"node":"a"}}}',
      /dbs\.app\.db/,
    ],
    ['an entry that is true', '{"version":1,"clusterId":"","dbs":{"app.db":true}}', /dbs\.app\.db/],
  ];
  for (const [what, text, error] of refusals) {
    t.test(`refuses: ${what}`, async (t) => {
      const r = parseClusterRecord(text);
      t.equal(r.ok, false);
      if (!r.ok) t.match(r.error, error);
    });
  }
});

t.test('gainRecord only ever gains', async (t) => {
  t.test('a new record: the given cluster ID, version, every db with when and who', async (t) => {
    const next = gainRecord(undefined, ['app.db', 'jobs.db'], at());
    t.same(next, {
      version: RECORD_VERSION,
      clusterId: 'LFSC0000000000000001',
      dbs: {
        'app.db': { since: SINCE, node: 'node-a' },
        'jobs.db': { since: SINCE, node: 'node-a' },
      },
    });
  });

  t.test('undefined when nothing is gained: no db, or every db already listed', async (t) => {
    t.equal(gainRecord(undefined, [], at()), undefined, 'no db with data: no record created');
    const current = rec({ 'app.db': { since: SINCE, node: 'node-a' } });
    t.equal(gainRecord(current, ['app.db'], at(T0 + 60_000, 'node-b')), undefined);
    t.equal(gainRecord(current, [], at()), undefined);
  });

  t.test('adds the new db; never removes or changes an entry', async (t) => {
    const old = { since: '2025-01-01T00:00:00.000Z', node: 'node-old' };
    const current = rec({ 'app.db': old, 'gone.db': old }, 'LFSC00000000000000AA');
    const before = structuredClone(current);
    const next = gainRecord(
      current,
      ['app.db', 'jobs.db'],
      at(T0, 'node-b', 'LFSC00000000000000BB'),
    );
    t.same(current, before, 'the record given is not mutated');
    t.same(next, {
      version: RECORD_VERSION,
      clusterId: 'LFSC00000000000000AA',
      dbs: {
        'app.db': old,
        'gone.db': old,
        'jobs.db': { since: SINCE, node: 'node-b' },
      },
    });
    t.equal(next?.clusterId, 'LFSC00000000000000AA', 'the cluster ID it was created with stays');
    t.same(next?.dbs['app.db'], old, 'an entry keeps when and by whom it was first recorded');
    t.ok(next?.dbs['gone.db'], 'a db this primary no longer holds stays listed');
  });

  t.test(
    'a newer version keeps its version number (the adapter refuses to write it)',
    async (t) => {
      const current: ClusterRecord = { version: 2, clusterId: '', dbs: {} };
      t.equal(gainRecord(current, ['app.db'], at())?.version, 2);
    },
  );
});

t.test('unrecorded: the dbs with data a write would gain', async (t) => {
  const read = present(rec({ 'app.db': { since: SINCE, node: 'node-a' } }));
  t.same(unrecorded(read, ['app.db', 'jobs.db']), ['jobs.db']);
  t.same(unrecorded(read, ['app.db']), []);
  t.same(unrecorded({ kind: 'absent' }, ['app.db']), ['app.db'], 'absent: everything');
  t.same(
    unrecorded({ kind: 'unreadable', error: 'HTTP 500' }, ['app.db']),
    ['app.db'],
    'unreadable lists nothing, so a write is tried (it re-reads first)',
  );
  t.same(unrecorded(undefined, ['app.db']), ['app.db'], 'never read');
  t.same(unrecorded(read, []), []);
});

t.test('recordedData: only a present record says a db has had data', async (t) => {
  const entry = { since: SINCE, node: 'node-a' };
  t.same(recordedData(present(rec({ 'app.db': entry })), 'app.db'), entry);
  t.equal(recordedData(present(rec({ 'app.db': entry })), 'jobs.db'), undefined);
  t.equal(recordedData({ kind: 'absent' }, 'app.db'), undefined);
  t.equal(recordedData({ kind: 'unreadable', error: 'x' }, 'app.db'), undefined);
  t.equal(recordedData(undefined, 'app.db'), undefined);
});

t.test('describeRecord', async (t) => {
  t.equal(describeRecord(undefined), 'not read');
  t.equal(describeRecord({ kind: 'absent' }), 'absent');
  t.equal(
    describeRecord({ kind: 'unreadable', error: 'GET k on Consul at http://c:8500: HTTP 500' }),
    'unreadable: GET k on Consul at http://c:8500: HTTP 500',
  );
  t.equal(describeRecord(present(rec({}))), 'present, no db with data');
  t.equal(
    describeRecord(
      present(
        rec({
          'app.db': { since: SINCE, node: 'node-a' },
          'jobs.db': { since: SINCE, node: 'node-b' },
        }),
      ),
    ),
    `present: app.db has data since ${SINCE} (recorded by node-a), jobs.db has data since ${SINCE} (recorded by node-b)`,
  );
});
