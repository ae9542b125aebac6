import t from 'tap';
import type { PeerAnswer, PeerReport } from '../../src/core/peer-types.js';
import { mostAdvancedCandidate, peerTxidAbove, unansweredPeers } from '../../src/core/peers.js';

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
}

function peer(spec: PeerSpec): PeerAnswer & { ok: true } {
  const dbs: Record<string, { txid: bigint; checksum: string }> = {};
  for (const [name, txid] of Object.entries(spec.txids ?? {})) {
    dbs[name] = { txid, checksum: txid.toString(16).padStart(16, '0') };
  }
  return {
    url: `http://peer-${spec.id.toLowerCase()}:20202`,
    ok: true,
    nodeId: spec.id,
    clusterId: spec.cluster ?? CLUSTER,
    candidate: spec.candidate ?? true,
    isPrimary: spec.isPrimary ?? false,
    primaryHostname: 'primary-host',
    dbs,
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
      'full tie: lowest node ID, whatever the order',
      [peer({ id: C, txids: { 'a.db': 3n } }), peer({ id: A, txids: { 'a.db': 3n } })],
      ['a.db'],
      A,
    ],
    [
      'node IDs compare case-insensitively',
      [peer({ id: '00000000000000ab', txids: {} }), peer({ id: '00000000000000AA', txids: {} })],
      ['a.db'],
      '00000000000000AA',
    ],
    [
      'a db at TXID 0 is ahead of no copy at all',
      [peer({ id: A, txids: {} }), peer({ id: B, txids: { 'a.db': 0n } })],
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
    t.equal(mostAdvancedCandidate(report(answers), dbs, CLUSTER)?.nodeId, expected, name);
  }

  const only = peer({ id: A, txids: { 'a.db': 5n } });
  t.equal(
    mostAdvancedCandidate(report([only]), ['a.db'], CLUSTER),
    only,
    'returns the answer itself',
  );
});

t.test('peerTxidAbove', async (t) => {
  const answers: PeerAnswer[] = [
    peer({ id: A, txids: { 'a.db': 10n } }),
    peer({ id: B, candidate: false, txids: { 'a.db': 20n } }),
    peer({ id: C, cluster: OTHER, txids: { 'a.db': 30n } }),
    peer({ id: '000000000000000D', txids: { 'b.db': 40n } }),
    peer({ id: '000000000000000E', txids: { 'a.db': MAX } }),
    down('x'),
  ];
  const rows: [name: string, db: string, txid: bigint, expected: string[]][] = [
    ['below everyone', 'a.db', 0n, [A, B, '000000000000000E']],
    ['equal is not above', 'a.db', 10n, [B, '000000000000000E']],
    ['non-candidates count: their data is real (S2)', 'a.db', 15n, [B, '000000000000000E']],
    ['another cluster never counts', 'a.db', 25n, ['000000000000000E']],
    ['2^64-2 is below 2^64-1', 'a.db', MAX - 1n, ['000000000000000E']],
    ['nobody above 2^64-1', 'a.db', MAX, []],
    ['a peer without the db is not above', 'b.db', 39n, ['000000000000000D']],
    ['a db nobody has', 'c.db', 0n, []],
  ];
  for (const [name, db, txid, expected] of rows) {
    t.same(
      peerTxidAbove(report(answers), db, txid, CLUSTER).map((p) => p.nodeId),
      expected,
      name,
    );
  }
  t.same(peerTxidAbove(report([]), 'a.db', 0n, CLUSTER), [], 'no peers');
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
