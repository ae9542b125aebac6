import t from 'tap';
import { type DbView, dbViewOf } from '../../src/core/derive.js';
import type { PeerAnswer, PeerDbEvidence, PeerReport } from '../../src/core/peer-types.js';
import {
  handoffEligible,
  mostAdvancedCandidate,
  peersAhead,
  unansweredPeers,
} from '../../src/core/peers.js';
import { db as dbObs } from '../helpers/builders.js';

const CLUSTER = 'LFSC0000000000000001';
const OTHER = 'LFSC00000000000000FF';
const MAX = (1n << 64n) - 1n;

interface PeerSpec {
  id: string;
  cluster?: string;
  candidate?: boolean;
  isPrimary?: boolean;
  /** db name -> TXID; a db left out is not on that peer at all. */
  txids?: Record<string, bigint>;
  /** db name -> pages (default 2 above TXID 0, else 1). */
  pages?: Record<string, number>;
  /** db name -> the peer supervisor's high-water mark. */
  hwm?: Record<string, bigint>;
  /** Its supervisor's `app.ready` (undefined: not reported). */
  appReady?: boolean;
}

function peer(spec: PeerSpec): PeerAnswer & { ok: true } {
  const dbs: Record<string, PeerDbEvidence> = {};
  for (const [name, txid] of Object.entries(spec.txids ?? {})) {
    const pageCount = spec.pages?.[name] ?? (txid > 0n ? 2 : 1);
    const hwm = spec.hwm?.[name];
    dbs[name] = {
      txid,
      checksum: txid.toString(16).padStart(16, '0'),
      pageCount,
      hwm,
      // As src/litefs/peers.ts reads it: what the db holds; the mark is `hwm` alone.
      hasData: txid > 0n || pageCount >= 2,
    };
  }
  return {
    url: `http://peer-${spec.id.toLowerCase()}:20202`,
    ok: true,
    nodeId: spec.id,
    clusterId: spec.cluster ?? CLUSTER,
    candidate: spec.candidate ?? true,
    isPrimary: spec.isPrimary ?? false,
    primaryHostname: 'primary-host',
    evidence: spec.hwm ? 'supervisor' : 'litefs',
    dbs,
    ...(spec.appReady === undefined ? {} : { appReady: spec.appReady }),
  };
}

function down(id: string): PeerAnswer & { ok: false } {
  return {
    url: `http://peer-${id}:20202`,
    ok: false,
    error: `GET http://peer-${id}:20202/info: x`,
  };
}

function report(answers: PeerAnswer[], discoveryError?: string): PeerReport {
  return { at: 1_700_000_000_000, answers, discoveryError };
}

/** This node's own view of a db: TXID and pages (1 page at TXID 0 = empty). */
function own(name: string, txid: bigint, pages = txid > 0n ? 2 : 1): DbView {
  return dbViewOf(dbObs({ name, txid, pages, size: pages * 4096 }), false);
}
/** This node with nothing: every peer with data is eligible. */
const nothing = (dbs: string[]) => dbs.map((n) => own(n, 0n));

const A = '000000000000000A';
const B = '000000000000000B';
const C = '000000000000000C';

t.test('mostAdvancedCandidate', async (t) => {
  const rows: [
    name: string,
    answers: PeerAnswer[],
    dbs: string[],
    expectedNodeId: string | undefined,
  ][] = [
    ['no peers', [], ['a.db'], undefined],
    ['only unanswered peers', [down('x'), down('y')], ['a.db'], undefined],
    ['one candidate', [peer({ id: A, txids: { 'a.db': 5n } })], ['a.db'], A],
    [
      'highest TXID wins',
      [
        peer({ id: A, txids: { 'a.db': 5n } }),
        peer({ id: B, txids: { 'a.db': 9n } }),
        peer({ id: C, txids: { 'a.db': 7n } }),
      ],
      ['a.db'],
      B,
    ],
    [
      'a non-candidate is never chosen, however advanced',
      [
        peer({ id: A, txids: { 'a.db': 5n } }),
        peer({ id: B, candidate: false, txids: { 'a.db': 99n } }),
      ],
      ['a.db'],
      A,
    ],
    [
      'a peer of another cluster is never chosen',
      [
        peer({ id: A, txids: { 'a.db': 5n } }),
        peer({ id: B, cluster: OTHER, txids: { 'a.db': 99n } }),
      ],
      ['a.db'],
      A,
    ],
    [
      'a peer without a cluster ID yet may be of our cluster: it counts',
      [peer({ id: B, cluster: '', txids: { 'a.db': 99n } })],
      ['a.db'],
      B,
    ],
    [
      'unanswered peers are ignored',
      [down('x'), peer({ id: C, txids: { 'a.db': 1n } })],
      ['a.db'],
      C,
    ],
    [
      'first db decides before the second',
      [
        peer({ id: A, txids: { 'a.db': 10n, 'b.db': 1n } }),
        peer({ id: B, txids: { 'a.db': 9n, 'b.db': 100n } }),
      ],
      ['a.db', 'b.db'],
      A,
    ],
    [
      'second db breaks a tie on the first',
      [
        peer({ id: A, txids: { 'a.db': 10n, 'b.db': 1n } }),
        peer({ id: B, txids: { 'a.db': 10n, 'b.db': 2n } }),
      ],
      ['a.db', 'b.db'],
      B,
    ],
    [
      'equal evidence: a ready app before a lower node ID',
      [
        peer({ id: A, txids: { 'a.db': 3n }, appReady: false }),
        peer({ id: C, txids: { 'a.db': 3n }, appReady: true }),
      ],
      ['a.db'],
      C,
    ],
    [
      'equal evidence: an unreported readiness counts as ready',
      [
        peer({ id: A, txids: { 'a.db': 3n }, appReady: false }),
        peer({ id: C, txids: { 'a.db': 3n } }),
      ],
      ['a.db'],
      C,
    ],
    [
      'readiness never outranks data: the more advanced peer, booting, wins',
      [
        peer({ id: A, txids: { 'a.db': 4n }, appReady: false }),
        peer({ id: C, txids: { 'a.db': 3n }, appReady: true }),
      ],
      ['a.db'],
      A,
    ],
    [
      'full tie: lowest node ID, whatever the order',
      [peer({ id: C, txids: { 'a.db': 3n } }), peer({ id: A, txids: { 'a.db': 3n } })],
      ['a.db'],
      A,
    ],
    [
      'node IDs compare case-insensitively',
      [
        peer({ id: '00000000000000ab', txids: { 'a.db': 1n } }),
        peer({ id: '00000000000000AA', txids: { 'a.db': 1n } }),
      ],
      ['a.db'],
      '00000000000000AA',
    ],
    [
      'never to an empty peer: no copy, or 1 page at TXID 0 (S4)',
      [peer({ id: A, txids: {} }), peer({ id: B, txids: { 'a.db': 0n } })],
      ['a.db'],
      undefined,
    ],
    [
      'data at TXID 0 (history lost) is data: eligible, above an empty peer',
      [
        peer({ id: A, txids: { 'a.db': 0n } }),
        peer({ id: B, txids: { 'a.db': 0n }, pages: { 'a.db': 9 } }),
      ],
      ['a.db'],
      B,
    ],
    [
      'a peer with data before an emptied one whose state file kept a higher mark',
      [
        peer({ id: A, txids: { 'a.db': 0n }, hwm: { 'a.db': 0xdcn } }),
        peer({ id: B, txids: { 'a.db': 0x7an } }),
      ],
      ['a.db'],
      B,
    ],
    [
      'only an emptied peer with a high-water mark: nobody (S4)',
      [peer({ id: A, txids: { 'a.db': 0n }, hwm: { 'a.db': 0xdcn } })],
      ['a.db'],
      undefined,
    ],
    [
      'at equal TXID, more pages wins',
      [
        peer({ id: A, txids: { 'a.db': 0n }, pages: { 'a.db': 3 } }),
        peer({ id: B, txids: { 'a.db': 0n }, pages: { 'a.db': 9 } }),
      ],
      ['a.db'],
      B,
    ],
    [
      'TXIDs near 2^64 compare exactly',
      [peer({ id: A, txids: { 'a.db': MAX } }), peer({ id: B, txids: { 'a.db': MAX - 1n } })],
      ['a.db'],
      A,
    ],
    [
      'dbs not gated are ignored',
      [
        peer({ id: A, txids: { 'a.db': 1n, 'other.db': 500n } }),
        peer({ id: B, txids: { 'a.db': 2n } }),
      ],
      ['a.db'],
      B,
    ],
    [
      'a peer that says it is primary is still a candidate (the caller decides)',
      [peer({ id: A, isPrimary: true, txids: { 'a.db': 4n } })],
      ['a.db'],
      A,
    ],
  ];
  for (const [name, answers, dbs, expected] of rows) {
    t.equal(mostAdvancedCandidate(report(answers), nothing(dbs), CLUSTER)?.nodeId, expected, name);
  }

  const only = peer({ id: A, txids: { 'a.db': 5n } });
  t.equal(
    mostAdvancedCandidate(report([only]), nothing(['a.db']), CLUSTER),
    only,
    'returns the answer itself',
  );
});

t.test("handoffEligible: at least this node's evidence, never empty (S4)", async (t) => {
  const rows: [name: string, p: PeerAnswer & { ok: true }, mine: DbView[], ok: boolean][] = [
    ['peer ahead of this node', peer({ id: A, txids: { 'a.db': 9n } }), [own('a.db', 5n)], true],
    ['peer equal to this node', peer({ id: A, txids: { 'a.db': 5n } }), [own('a.db', 5n)], true],
    [
      'peer behind this node (refused)',
      peer({ id: A, txids: { 'a.db': 4n } }),
      [own('a.db', 5n)],
      false,
    ],
    [
      'empty peer while this node has data at TXID 0 (refused: the seed handoff)',
      peer({ id: A, txids: { 'a.db': 0n } }),
      [own('a.db', 0n, 9)],
      false,
    ],
    ['peer with no copy (refused)', peer({ id: A, txids: {} }), [own('a.db', 0n)], false],
    [
      'peer with data at TXID 0, this node empty',
      peer({ id: A, txids: { 'a.db': 0n }, pages: { 'a.db': 9 } }),
      [own('a.db', 0n)],
      true,
    ],
    [
      'a peer with data and a high-water mark, this node history-lost (chosen)',
      peer({ id: A, txids: { 'a.db': 0x7an }, hwm: { 'a.db': 0x7an } }),
      [own('a.db', 0n, 11)],
      true,
    ],
    [
      'an emptied peer whose state file kept its high-water mark (refused: no data, S4)',
      peer({ id: A, txids: { 'a.db': 0n }, hwm: { 'a.db': 0x4en } }),
      [own('a.db', 0n, 11)],
      false,
    ],
    [
      'an emptied peer with a high-water mark, this node empty too (refused: no data)',
      peer({ id: A, txids: { 'a.db': 0n }, hwm: { 'a.db': 0x4en } }),
      [own('a.db', 0n)],
      false,
    ],
    [
      'missing data on a second db this node has (refused)',
      peer({ id: A, txids: { 'a.db': 5n } }),
      [own('a.db', 5n), own('b.db', 3n)],
      false,
    ],
  ];
  for (const [name, p, mine, ok] of rows) t.equal(handoffEligible(p, mine), ok, name);

  // The history-lost holder (S13) that retired mark 0xdc still holds that history's pages.
  const holder = [own('a.db', 0n, 11)];
  const retired = { 'a.db': 0xdcn };
  const stale = peer({ id: A, txids: { 'a.db': 0x7an } });
  t.equal(handoffEligible(stale, holder), true, 'without the retired mark: the stale peer passes');
  t.equal(
    handoffEligible(stale, holder, retired),
    false,
    'a peer below the retired mark (refused: it would replace the newer rows here)',
  );
  t.equal(
    handoffEligible(peer({ id: A, txids: { 'a.db': 0xdcn } }), holder, retired),
    true,
    'a peer at the retired mark: it has everything this node had (chosen)',
  );
  t.equal(
    handoffEligible(stale, [own('a.db', 1n, 11)], retired),
    true,
    'a db with a history again: the mark says nothing',
  );
});

t.test('peersAhead (S2, peers)', async (t) => {
  const answers: PeerAnswer[] = [
    peer({ id: A, txids: { 'a.db': 10n } }),
    peer({ id: B, candidate: false, txids: { 'a.db': 20n } }),
    peer({ id: C, cluster: OTHER, txids: { 'a.db': 30n } }),
    peer({ id: '000000000000000D', txids: { 'b.db': 40n } }),
    peer({ id: '000000000000000E', txids: { 'a.db': MAX } }),
    down('x'),
  ];
  const rows: [name: string, mine: DbView, expected: string[]][] = [
    ['below everyone', own('a.db', 0n), [A, B, '000000000000000E']],
    ['equal is not above', own('a.db', 10n), [B, '000000000000000E']],
    ['non-candidates count: their data is real (S2)', own('a.db', 15n), [B, '000000000000000E']],
    ['another cluster never counts', own('a.db', 25n), ['000000000000000E']],
    ['2^64-2 is below 2^64-1', own('a.db', MAX - 1n), ['000000000000000E']],
    ['nobody above 2^64-1', own('a.db', MAX), []],
    ['a peer without the db is not above', own('b.db', 39n), ['000000000000000D']],
    ['a db nobody has', own('c.db', 0n), []],
  ];
  for (const [name, mine, expected] of rows) {
    t.same(
      peersAhead(report(answers), mine, CLUSTER).map((p) => p.peer.nodeId),
      expected,
      name,
    );
  }
  t.same(peersAhead(report([]), own('a.db', 0n), CLUSTER), [], 'no peers');

  // Evidence, not only TXIDs (the seed's data holder reported TXID 0 with every row).
  const holder = peer({ id: A, txids: { 'a.db': 0n }, pages: { 'a.db': 9 } });
  const [seed] = peersAhead(report([holder]), own('a.db', 0n), CLUSTER);
  t.equal(seed?.peer.nodeId, A, 'empty here, peer with 9 pages at TXID 0: behind (refuses)');
  t.match(seed?.why, /a\.db is empty here .* has data \(TXID 0000000000000000, 9 page\(s\)\)/);
  t.same(
    peersAhead(report([holder]), own('a.db', 0n, 5), CLUSTER),
    [],
    'data here too (5 pages at TXID 0): not behind by evidence (allows; S13 decides)',
  );
  t.same(
    peersAhead(report([peer({ id: A, txids: { 'a.db': 0n } })]), own('a.db', 0n), CLUSTER),
    [],
    'empty here and an empty peer: not behind (allows a bootstrap check)',
  );
  const marked = peer({ id: A, txids: { 'a.db': 0n }, hwm: { 'a.db': 7n } });
  t.match(
    peersAhead(report([marked]), own('a.db', 3n), CLUSTER)[0]?.why,
    /has seen TXID 0000000000000007 in this cluster/,
    "a peer supervisor's high-water mark above this TXID: behind (refuses)",
  );
  t.same(
    peersAhead(report([marked]), own('a.db', 7n), CLUSTER),
    [],
    "at the peer's high-water mark: not behind (allows)",
  );
  // The mark orders the cluster even where the peer's db is gone (it is not data for S4).
  const emptied = peer({ id: A, txids: { 'a.db': 0n }, hwm: { 'a.db': 7n } });
  t.equal(emptied.dbs['a.db']?.hasData, false, 'an emptied peer with a mark has no data');
  t.match(
    peersAhead(report([emptied]), own('a.db', 0n), CLUSTER)[0]?.why,
    /has seen TXID 0000000000000007 in this cluster/,
    "empty here, an emptied peer's mark above: behind (refuses, S2)",
  );
});

t.test('unansweredPeers', async (t) => {
  const rows: [name: string, answers: PeerAnswer[], expected: string[]][] = [
    ['no peers', [], []],
    ['all answered', [peer({ id: A }), peer({ id: B, cluster: OTHER })], []],
    ['some did not', [down('x'), peer({ id: A }), down('y')], ['x', 'y']],
  ];
  for (const [name, answers, expected] of rows) {
    t.same(
      unansweredPeers(report(answers)).map((p) => p.url),
      expected.map((id) => `http://peer-${id}:20202`),
      name,
    );
  }
  t.same(
    unansweredPeers(report([], 'DNS AAAA lookup of app.internal failed')),
    [],
    'a discovery error is reported separately, not as a peer',
  );
});
