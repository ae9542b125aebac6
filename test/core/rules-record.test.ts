// S2 and S3 with the cluster record as a witness (src/core/rules.ts primaryChecks; docs/design.md
// section 4): a record listing a db fences an empty primary (S2) but never one that has data, an
// unreadable record is a witness that did not answer (S3), an absent one says nothing. Each
// rule is shown allowing and refusing, on primaryChecks directly; decide-record.test.ts drives
// the same through decide.

import t from 'tap';
import { RECORD_RESET, type RecordRead } from '../../src/core/cluster-record.js';
import { dbViewsOf } from '../../src/core/derive.js';
import type { DbObservation } from '../../src/core/observation.js';
import type { PeerAnswer, PeerReport } from '../../src/core/peer-types.js';
import { type PrimaryFacts, type PrimaryVerdict, primaryChecks } from '../../src/core/rules.js';
import { CLUSTER, db, obs, peer, silent, testConfig } from '../helpers/builders.js';

const KEY = 'litefs-supervisor/my-app';
const SINCE = '2026-01-02T03:04:05.000Z';
const config = testConfig({ peerWait: 30_000, clusterRecord: KEY });

/** A fresh volume: LiteFS created the db, 1 page, TXID 0. */
const fresh = () => db({ txid: 0n, size: 4096 });
/** A db with data and a history (2 pages, TXID 5). */
const withData = () => db({ txid: 5n });
/** Repaired by `litefs import`: a fresh history (TXID 1) over the imported pages. */
const imported = () => db({ txid: 1n, size: 9 * 4096 });
/** Data at TXID 0: LiteFS lost its LTX history (S13). */
const historyLost = () => db({ txid: 0n, size: 9 * 4096, pages: 9 });

const listing = (...names: string[]): RecordRead => ({
  kind: 'present',
  index: 42,
  record: {
    version: 1,
    clusterId: CLUSTER,
    dbs: Object.fromEntries(names.map((n) => [n, { since: SINCE, node: 'node-old' }])),
  },
});
const ABSENT: RecordRead = { kind: 'absent' };
const UNREADABLE: RecordRead = {
  kind: 'unreadable',
  error: 'GET litefs-supervisor/my-app on Consul at http://127.0.0.1:8500: HTTP 500',
};

function facts(o: {
  dbs: DbObservation[];
  answers?: PeerAnswer[];
  /** 'none': the report has no `record` field at all (the record off, as before it existed). */
  record?: RecordRead | 'none' | undefined;
  /** No report at all: neither --peers nor the record. */
  noReport?: boolean;
  waited?: number;
  hwm?: Record<string, bigint>;
}): PrimaryFacts {
  const report: PeerReport = { at: 0, answers: o.answers ?? [], discoveryError: undefined };
  if (o.record !== 'none') report.record = o.record;
  return {
    dbs: dbViewsOf(obs({ role: 'primary', dbs: o.dbs }), config),
    hwm: o.hwm ?? {},
    clusterId: CLUSTER,
    peers: o.noReport ? undefined : report,
    recordKey: KEY,
    waitedForPeersMs: o.waited ?? 0,
  };
}

const check = (f: PrimaryFacts, over: Partial<typeof config> = {}): PrimaryVerdict =>
  primaryChecks(f, { ...config, ...over });

t.test('S2: an empty primary against a record that lists its db', async (t) => {
  t.test('refuses: fenced, naming the record key and the reset command', async (t) => {
    const v = check(facts({ dbs: [fresh()], record: listing('sqlite.db') }));
    t.equal(v.kind, 'fence');
    if (v.kind !== 'fence') return;
    t.match(
      v.why,
      `sqlite.db is empty here (1 page (no table) at TXID 0) but the cluster record in Consul (${KEY}) says the cluster has held data in it since ${SINCE} (recorded by node-old)`,
    );
    t.match(v.action, RECORD_RESET, 'the way out names the reset command');
    t.match(v.action, /litefs-supervisor record reset --yes/);
  });

  t.test('refuses: also with every peer answering empty (the holders are stopped)', async (t) => {
    const v = check(
      facts({
        dbs: [fresh()],
        answers: [peer({ txid: 0n, pages: 1 }), peer({ noCopy: true, nodeId: 'CC' })],
        record: listing('sqlite.db'),
      }),
    );
    t.equal(v.kind, 'fence', 'peers that answer cannot vouch for machines that are stopped');
  });

  t.test('refuses: also with --bootstrap force (S2 comes before S3)', async (t) => {
    const v = check(facts({ dbs: [fresh()], record: listing('sqlite.db') }), {
      bootstrap: 'force',
    });
    t.equal(v.kind, 'fence');
  });

  t.test('refuses: a db missing from the mount counts as empty', async (t) => {
    const v = check(
      facts({ dbs: [db({ exists: false, txid: 'absent' })], record: listing('sqlite.db') }),
    );
    t.equal(v.kind, 'fence');
  });

  t.test('allows: the same primary with the record absent and no peers bootstraps', async (t) => {
    const v = check(facts({ dbs: [fresh()], record: ABSENT }));
    t.match(v, { kind: 'proceed', bootstrap: true });
  });

  t.test('allows: a record that lists only another db', async (t) => {
    const v = check(facts({ dbs: [fresh()], record: listing('other.db') }));
    t.match(v, { kind: 'proceed', bootstrap: true });
  });

  t.test('a peers-only fence does not point at the record reset', async (t) => {
    const v = check(facts({ dbs: [fresh()], answers: [peer({ txid: 3n })], record: ABSENT }));
    t.equal(v.kind, 'fence');
    if (v.kind === 'fence') t.notMatch(v.action, /record reset/);
  });
});

t.test('S2: a record listing the db never fences a primary that has data', async (t) => {
  t.test('allows: data with a history (TXID 5)', async (t) => {
    const v = check(facts({ dbs: [withData()], record: listing('sqlite.db') }));
    t.match(v, { kind: 'proceed', bootstrap: false });
  });
  t.test(
    'allows: TXID restarted at 1 after `litefs import` (the record is no TXID order)',
    async (t) => {
      const v = check(facts({ dbs: [imported()], record: listing('sqlite.db') }));
      t.match(v, { kind: 'proceed', bootstrap: false });
    },
  );
  t.test('refuses, as S13 and not as the record: data at TXID 0 (history lost)', async (t) => {
    const v = check(facts({ dbs: [historyLost()], record: listing('sqlite.db') }));
    t.equal(v.kind, 'fence');
    if (v.kind !== 'fence') return;
    t.match(v.why, /LiteFS lost its transaction history/);
    t.notMatch(v.why, /cluster record/, 'the record says nothing against data held here');
    t.notMatch(v.action, /record reset/, 'resetting the record would not help');
  });
  t.test('two dbs: fenced only for the empty one the record lists', async (t) => {
    const dbs = [withData(), db({ name: 'jobs.db', txid: 0n, size: 4096 })];
    const fenced = check(facts({ dbs, record: listing('sqlite.db', 'jobs.db') }));
    t.equal(fenced.kind, 'fence');
    if (fenced.kind === 'fence') {
      t.match(fenced.why, /jobs\.db is empty here/);
      t.notMatch(fenced.why, /sqlite\.db is empty/);
    }
    const ok = check(facts({ dbs, record: listing('sqlite.db') }));
    t.match(ok, { kind: 'proceed', bootstrap: true }, 'jobs.db was never recorded: bootstraps');
  });
});

t.test('S3: an unreadable record is a witness that did not answer', async (t) => {
  t.test('refuses: waits while --peer-wait runs, asking again', async (t) => {
    const v = check(facts({ dbs: [fresh()], record: UNREADABLE, waited: 29_999 }));
    t.match(v, { kind: 'wait', askPeers: true });
    if (v.kind === 'wait') {
      t.match(v.why, `the cluster record in Consul, ${KEY}`);
      t.match(v.why, /HTTP 500/);
    }
  });
  t.test('refuses: fenced once --peer-wait is over, with the way out', async (t) => {
    const v = check(facts({ dbs: [fresh()], record: UNREADABLE, waited: 30_000 }));
    t.equal(v.kind, 'fence');
    if (v.kind !== 'fence') return;
    t.match(v.why, /not every peer answered within --peer-wait/);
    t.match(v.why, KEY);
    t.match(v.action, /let Consul answer/);
    t.match(v.action, /--bootstrap force/);
  });
  t.test('refuses: --bootstrap never', async (t) => {
    const v = check(facts({ dbs: [fresh()], record: UNREADABLE }), { bootstrap: 'never' });
    t.equal(v.kind, 'fence');
    if (v.kind === 'fence') t.match(v.why, /--bootstrap never/);
  });
  t.test('allows: --bootstrap force still bootstraps', async (t) => {
    const v = check(facts({ dbs: [fresh()], record: UNREADABLE }), { bootstrap: 'force' });
    t.match(v, { kind: 'proceed', bootstrap: true });
  });
  t.test('allows: a primary with data (S3 is about empty primaries only)', async (t) => {
    const v = check(facts({ dbs: [withData()], record: UNREADABLE, waited: 0 }));
    t.match(v, { kind: 'proceed', bootstrap: false });
  });
  t.test('the same facts with the record readable and absent bootstrap at once', async (t) => {
    const v = check(facts({ dbs: [fresh()], record: ABSENT, waited: 0 }));
    t.match(v, { kind: 'proceed', bootstrap: true });
  });
});

t.test('S3: an absent record leaves the peers to decide', async (t) => {
  t.test('allows: every peer answered with no data', async (t) => {
    const v = check(
      facts({
        dbs: [fresh()],
        answers: [peer({ txid: 0n, pages: 1 }), peer({ noCopy: true, nodeId: 'CC' })],
        record: ABSENT,
      }),
    );
    t.match(v, { kind: 'proceed', bootstrap: true });
  });
  t.test('refuses: a peer unanswered waits within --peer-wait', async (t) => {
    const v = check(facts({ dbs: [fresh()], answers: [silent()], record: ABSENT, waited: 1000 }));
    t.match(v, { kind: 'wait', askPeers: true });
    if (v.kind === 'wait') t.notMatch(v.why, /cluster record/);
  });
  t.test('refuses: a peer unanswered fences after --peer-wait', async (t) => {
    const v = check(facts({ dbs: [fresh()], answers: [silent()], record: ABSENT, waited: 30_000 }));
    t.equal(v.kind, 'fence');
    if (v.kind === 'fence') t.match(v.action, /bring the peers back/);
  });
});

t.test('record off: exactly the verdicts without it; an absent record changes none', async (t) => {
  const rows: [string, Parameters<typeof facts>[0], PrimaryVerdict['kind']][] = [
    ['fresh, no peers asked', { dbs: [fresh()], noReport: true }, 'proceed'],
    ['fresh, no peers', { dbs: [fresh()] }, 'proceed'],
    ['fresh, peers empty', { dbs: [fresh()], answers: [peer({ txid: 0n, pages: 1 })] }, 'proceed'],
    ['fresh, a peer with data', { dbs: [fresh()], answers: [peer({ txid: 4n })] }, 'fence'],
    ['fresh, a peer silent', { dbs: [fresh()], answers: [silent()], waited: 10 }, 'wait'],
    [
      'fresh, a peer silent too long',
      { dbs: [fresh()], answers: [silent()], waited: 30_000 },
      'fence',
    ],
    ['data', { dbs: [withData()] }, 'proceed'],
    ['data, a peer ahead', { dbs: [withData()], answers: [peer({ txid: 9n })] }, 'fence'],
    ['data below its mark', { dbs: [withData()], hwm: { 'sqlite.db': 8n } }, 'fence'],
    ['imported', { dbs: [imported()] }, 'proceed'],
    ['history lost', { dbs: [historyLost()] }, 'fence'],
    ['unreadable db', { dbs: [db({ error: 'EIO' })] }, 'wait'],
  ];
  for (const [what, f, kind] of rows) {
    const none = check(facts({ ...f, record: 'none' }));
    t.equal(none.kind, kind, `${what}: ${kind}`);
    if (!f.noReport) {
      t.same(check(facts({ ...f, record: undefined })), none, `${what}: record undefined`);
      t.same(check(facts({ ...f, record: ABSENT })), none, `${what}: record absent`);
    }
  }
  // And a record that is on changes exactly the rows it is about (the fences above are S2/S3).
  t.equal(check(facts({ dbs: [fresh()], record: listing('sqlite.db') })).kind, 'fence');
  t.equal(check(facts({ dbs: [fresh()], record: UNREADABLE, waited: 0 })).kind, 'wait');
});
