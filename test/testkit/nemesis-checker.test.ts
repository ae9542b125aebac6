// The nemesis's checker (testkit/nemesis/checker.ts) on made-up histories: each definition
// (lost, asyncWindowLost, twoWriters, emptied) seeing what it must and not what it must not.

import t from 'tap';
import {
  type Ack,
  check,
  type History,
  type KeySample,
  leaseEnds,
  leasePeriods,
  parseAck,
  parseClear,
} from '../../testkit/nemesis/checker.js';

/** n acknowledged writes on `node`, one every 10 ms from `from`, keys `${prefix}0`... */
function acks(node: string, prefix: string, from: number, n: number, txid0 = 1): Ack[] {
  return Array.from({ length: n }, (_, i) => ({
    key: `${prefix}${i}`,
    node,
    txid: txid0 + i,
    at: from + i * 10,
  }));
}

function history(h: Partial<History> & Pick<History, 'acks'>): History {
  return {
    finalKeys: new Set(h.acks.map((a) => a.key)),
    leases: [],
    leaseEnds: [],
    maxLagMs: 0,
    samples: [],
    wipes: [],
    ...h,
  };
}

const sample = (node: string, at: number, keys: string[]): KeySample => ({
  node,
  at,
  keys: new Set(keys),
});

t.test('nothing lost when the final primary has every acknowledged key', async (t) => {
  const v = check(history({ acks: acks('node-a', 'k', 0, 50) }));
  t.equal(v.acked, 50);
  t.same(v.lost, []);
  t.same(v.asyncWindowLost, []);
  t.same(v.twoWriters, []);
  t.same(v.emptied, []);
});

t.test('lost: acknowledged keys missing from the final primary, by key', async (t) => {
  const all = acks('node-a', 'k', 0, 10);
  const v = check(history({ acks: all, finalKeys: new Set(all.slice(0, 7).map((a) => a.key)) }));
  t.same(v.lost, ['k7', 'k8', 'k9']);
  t.same(v.lostUnexplained, ['k7', 'k8', 'k9'], 'no lease ended: nothing explains them');
});

t.test(
  'asyncWindowLost: lost writes acknowledged just before a lease ended without handoff',
  async (t) => {
    // node-a commits every 10 ms from 0 to 990 and is killed at 1000; node-b (100 ms behind) takes
    // over and never had k90..k99. The window is max lag 300 + 1000 ms.
    const all = acks('node-a', 'k', 0, 100);
    const kept = new Set(all.slice(0, 90).map((a) => a.key));
    const base = {
      acks: all,
      finalKeys: kept,
      leases: [{ node: 'node-a', from: 0, to: 1000 }],
      maxLagMs: 300,
    };
    const killed = check(
      history({
        ...base,
        leaseEnds: [{ node: 'node-a', at: 1000, handoff: false, cause: 'kill-litefs' }],
      }),
    );
    t.equal(killed.asyncWindowMs, 1300);
    t.same(
      killed.asyncWindowLost.map((x) => x.key),
      ['k90', 'k91', 'k92', 'k93', 'k94', 'k95', 'k96', 'k97', 'k98', 'k99'],
    );
    t.same(killed.asyncWindowLost[0], {
      key: 'k90',
      node: 'node-a',
      ageMs: 100,
      leaseEndAt: 1000,
      cause: 'kill-litefs',
    });
    t.same(killed.lostUnexplained, []);

    const handedOff = check(
      history({
        ...base,
        leaseEnds: [{ node: 'node-a', at: 1000, handoff: true, cause: 'restart' }],
      }),
    );
    t.same(handedOff.asyncWindowLost, [], 'a lease that ended by a handoff is not an async window');
    t.equal(handedOff.lostUnexplained.length, 10);

    const old = check(
      history({
        ...base,
        maxLagMs: 0,
        leaseEnds: [{ node: 'node-a', at: 3000, handoff: false, cause: 'expire-session' }],
      }),
    );
    t.same(old.asyncWindowLost, [], 'older than lag + 1 s before the end: not the async window');

    const kill = [{ node: 'node-a', at: 1000, handoff: false, cause: 'kill-litefs' }];
    t.equal(
      check(
        history({ ...base, following: [{ node: 'node-b', from: 0, to: 1000 }], leaseEnds: kill }),
      ).asyncWindowLost.length,
      10,
      'node-b followed node-a while it committed',
    );
    t.same(
      check(
        history({ ...base, following: [{ node: 'node-b', from: 0, to: 945 }], leaseEnds: kill }),
      ).asyncWindowLost.map((x) => x.key),
      ['k90', 'k91', 'k92', 'k93', 'k94'],
      'k95..k99 were committed after node-b stopped following: nothing lagged, not async',
    );
    t.same(
      check(
        history({ ...base, following: [{ node: 'node-a', from: 0, to: 2000 }], leaseEnds: kill }),
      ).asyncWindowLost,
      [],
      "the primary's own following (before it was primary) does not count",
    );

    const other = check(
      history({
        ...base,
        leaseEnds: [{ node: 'node-b', at: 1000, handoff: false, cause: 'kill-litefs' }],
      }),
    );
    t.same(other.asyncWindowLost, [], "another node's lease end does not explain node-a's writes");
  },
);

t.test('asyncWindowLost: not a write another node was seen holding before the end', async (t) => {
  // node-a commits k0..k9 (TXIDs 1..10, at 0..90) and stops at 100, releasing the lease; node-b
  // had reached TXID 10 at 95. The writes are lost anyway (a database was replaced): not async.
  const all = acks('node-a', 'k', 0, 10);
  const base = {
    acks: all,
    finalKeys: new Set<string>(),
    leaseEnds: [{ node: 'node-a', at: 100, handoff: false, cause: 'rm-db' }],
  };
  const seenByTxid = check(history({ ...base, positions: [{ node: 'node-b', at: 95, txid: 10 }] }));
  t.same(seenByTxid.asyncWindowLost, []);
  t.equal(seenByTxid.lostUnexplained.length, 10);

  const partly = check(history({ ...base, positions: [{ node: 'node-b', at: 95, txid: 7 }] }));
  t.same(
    partly.asyncWindowLost.map((x) => x.key),
    ['k7', 'k8', 'k9'],
    'TXIDs 8..10 were never seen elsewhere',
  );

  const tooLate = check(history({ ...base, positions: [{ node: 'node-b', at: 150, txid: 10 }] }));
  t.equal(tooLate.asyncWindowLost.length, 10, 'a position after the lease ended is not evidence');

  const own = check(history({ ...base, positions: [{ node: 'node-a', at: 95, txid: 10 }] }));
  t.equal(own.asyncWindowLost.length, 10, "the primary's own position is not replication");

  const sampled = check(
    history({ ...base, samples: [sample('node-c', 60, ['k0', 'k1', 'k2', 'k3'])] }),
  );
  t.same(
    sampled.asyncWindowLost.map((x) => x.key),
    ['k4', 'k5', 'k6', 'k7', 'k8', 'k9'],
    'keys in a sample of another node were replicated',
  );
});

t.test(
  'lease periods: from the first evidence to the last one before a "not primary"',
  async (t) => {
    const periods = leasePeriods([
      { node: 'node-a', at: 0, primary: true },
      { node: 'node-a', at: 100, primary: true },
      { node: 'node-a', at: 200, primary: false },
      { node: 'node-a', at: 300, primary: true },
      { node: 'node-b', at: 150, primary: false },
      { node: 'node-b', at: 250, primary: true },
      { node: 'node-b', at: 260, primary: true },
      { node: 'node-b', at: 260, primary: false },
    ]);
    t.same(periods, [
      { node: 'node-a', from: 0, to: 100 },
      { node: 'node-b', from: 250, to: 260 },
      { node: 'node-a', from: 300, to: 300 },
    ]);
  },
);

t.test('lease ends: a handoff when another node acquired by handoff near the end', async (t) => {
  const periods = [
    { node: 'node-a', from: 0, to: 1000 },
    { node: 'node-b', from: 1020, to: 5000 },
    { node: 'node-a', from: 9000, to: 20_000 },
  ];
  const ends = leaseEnds(
    periods,
    [{ node: 'node-b', at: 1010 }],
    [
      { kind: 'restart', from: 900, to: 3000 },
      { kind: 'kill-litefs', from: 4900, to: 8000 },
    ],
    20_500,
  );
  t.same(ends, [
    { node: 'node-a', at: 1000, handoff: true, cause: 'restart' },
    { node: 'node-b', at: 5000, handoff: false, cause: 'kill-litefs' },
  ]);
});

t.test('twoWriters: commits by a node while another held the lease too', async (t) => {
  // node-a hands the lease to node-b at 500; node-a commits once more at 520 (LiteFS's handoff
  // window), node-b from 510.
  const a = acks('node-a', 'a', 0, 51); // 0..500
  const late: Ack = { key: 'late', node: 'node-a', txid: 52, at: 520 };
  const b = acks('node-b', 'b', 510, 10, 52);
  const all = [...a, late, ...b];
  const final = new Set(all.filter((x) => x.key !== 'late').map((x) => x.key));
  const v = check(
    history({
      acks: all,
      finalKeys: final,
      leases: leasePeriods([
        ...all.map((x) => ({ node: x.node, at: x.at, primary: true })),
        { node: 'node-a', at: 600, primary: false },
      ]),
    }),
  );
  t.same(
    v.twoWriters.map((x) => [x.key, x.node, x.with, x.lost, x.how]),
    [
      ['b0', 'node-b', ['node-a'], false, 'overlap'],
      ['late', 'node-a', ['node-b'], true, 'overlap'],
      ['b1', 'node-b', ['node-a'], false, 'overlap'],
    ],
    "node-b's commits at 510 and 520 and node-a's at 520 fall in both periods",
  );
  t.same(v.overlaps, [
    { nodes: ['node-a', 'node-b'], from: 510, to: 520, acks: { 'node-a': 1, 'node-b': 2 } },
  ]);
  t.same(v.lost, ['late']);
  t.same(v.lostUnexplained, [], 'the lost write is explained by the two writers');

  const clean = check(
    history({
      acks: [...a, ...acks('node-b', 'b', 510, 10, 52)],
      leases: [
        { node: 'node-a', from: 0, to: 500 },
        { node: 'node-b', from: 505, to: 600 },
      ],
    }),
  );
  t.same(clean.twoWriters, [], 'a handoff whose periods do not overlap has one writer at a time');
  t.same(clean.overlaps, []);
});

t.test('twoWriters: the same TXID acknowledged by two nodes across a handoff', async (t) => {
  // node-b commits TXID 100 at 2290 after handing the lease to node-a, which took it at TXID 99
  // (its first evidence at 2325, after node-b's commit) and commits its own TXID 100 at 2382.
  const b: Ack = { key: 'old', node: 'node-b', txid: 100, at: 2290 };
  const a: Ack = { key: 'new', node: 'node-a', txid: 100, at: 2382 };
  const base = {
    acks: [...acks('node-b', 'k', 1000, 99), b, a],
    leases: [
      { node: 'node-b', from: 1000, to: 2290 },
      { node: 'node-a', from: 2325, to: 5000 },
    ],
  };
  const handedOff = check(
    history({
      ...base,
      finalKeys: new Set([...base.acks.filter((x) => x !== b).map((x) => x.key)]),
      leaseEnds: [{ node: 'node-b', at: 2290, handoff: true, cause: 'stop' }],
    }),
  );
  t.same(
    handedOff.twoWriters.map((x) => [x.key, x.node, x.with, x.lost, x.how]),
    [['old', 'node-b', ['node-a'], true, 'same-txid']],
    "node-b's write after the handoff; node-a's, which the cluster kept, is not flagged",
  );
  t.same(handedOff.lostUnexplained, []);

  const kept = check(
    history({ ...base, leaseEnds: [{ node: 'node-b', at: 2290, handoff: true, cause: 'stop' }] }),
  );
  t.same(kept.twoWriters, [], 'nothing lost: nothing flagged');

  // A history restarted: node-a's first commit after the handoff is a TXID 1 snapshot; node-b's
  // writes are lost (its database replaced) but node-a did not continue node-b's history.
  const restart = acks('node-a', 'r', 2400, 150, 1);
  const restarted = check(
    history({
      acks: [...acks('node-b', 'k', 1000, 100, 50), ...restart],
      finalKeys: new Set(restart.map((x) => x.key)),
      leases: [
        { node: 'node-b', from: 1000, to: 1990 },
        { node: 'node-a', from: 2400, to: 5000 },
      ],
      leaseEnds: [{ node: 'node-b', at: 1990, handoff: true, cause: 'start' }],
    }),
  );
  t.equal(restarted.lost.length, 100);
  t.same(restarted.twoWriters, [], 'TXIDs repeated by a restarted history are not two writers');
  const fromOne = check(
    history({
      acks: [...acks('node-b', 'k', 1000, 100, 1), ...restart],
      finalKeys: new Set(restart.map((x) => x.key)),
      leases: [
        { node: 'node-b', from: 1000, to: 1990 },
        { node: 'node-a', from: 2400, to: 5000 },
      ],
      leaseEnds: [{ node: 'node-b', at: 1990, handoff: true, cause: 'start' }],
    }),
  );
  t.same(fromOne.twoWriters, [], 'even when the lost history also began at TXID 1');

  // The new primary never commits (it hands the lease back); LiteFS on it clears node-b's TXID
  // 100 when node-b reconnects as its replica, and node-b commits TXID 100 again later.
  const handedBack = check(
    history({
      acks: [
        ...acks('node-b', 'k', 1000, 99),
        b,
        { key: 'again', node: 'node-b', txid: 100, at: 9000 },
      ],
      finalKeys: new Set([...acks('node-b', 'k', 1000, 99).map((x) => x.key), 'again']),
      leases: [
        { node: 'node-b', from: 1000, to: 2290 },
        { node: 'node-a', from: 2325, to: 2400 },
        { node: 'node-b', from: 9000, to: 9000 },
      ],
      leaseEnds: [{ node: 'node-b', at: 2290, handoff: true, cause: 'deploy' }],
      clears: [{ node: 'node-a', at: 3300, clientTxid: 100, primaryTxid: 99 }],
    }),
  );
  t.same(
    handedBack.twoWriters.map((x) => [x.key, x.with, x.how]),
    [['old', ['node-a'], 'same-txid']],
    "LiteFS's clearing line names the TXID node-a took over at",
  );
  t.same(
    parseClear(
      'client transaction id (000000000000052a) exceeds primary transaction id (0000000000000529), clearing client position',
    ),
    {
      clientTxid: 0x52a,
      primaryTxid: 0x529,
    },
  );
  const someoneElse = check(
    history({
      acks: [
        ...acks('node-b', 'k', 1000, 99),
        b,
        { key: 'again', node: 'node-b', txid: 100, at: 9000 },
      ],
      finalKeys: new Set([...acks('node-b', 'k', 1000, 99).map((x) => x.key), 'again']),
      leases: [
        { node: 'node-b', from: 1000, to: 2290 },
        { node: 'node-a', from: 2325, to: 2400 },
      ],
      leaseEnds: [{ node: 'node-b', at: 2290, handoff: true, cause: 'deploy' }],
      handoffs: [
        { node: 'node-c', at: 3500 },
        { node: 'node-a', at: 2325 },
      ],
      clears: [{ node: 'node-c', at: 20_000, clientTxid: 100, primaryTxid: 60 }],
    }),
  );
  t.same(
    someoneElse.twoWriters,
    [],
    'a clearing by a node that did not take the lease by that handoff (elected later) is not two writers',
  );
  t.equal(parseClear('snapshot received'), undefined);

  const killed = check(
    history({
      ...base,
      finalKeys: new Set([...base.acks.filter((x) => x !== b).map((x) => x.key)]),
      leaseEnds: [{ node: 'node-b', at: 2290, handoff: false, cause: 'kill-litefs' }],
    }),
  );
  t.same(killed.twoWriters, [], 'after a lease that ended without a handoff: not two writers');
  t.same(
    killed.asyncWindowLost.map((x) => x.key),
    ['old'],
    'but the async window',
  );
});

t.test('emptied: a node whose acknowledged keys shrank', async (t) => {
  // The seed incident: node-a holds k0..k9; an emptied node takes the lease and its snapshot
  // replaces node-a's database; writes go on on node-b.
  const before = acks('node-a', 'k', 0, 10);
  const after = acks('node-b', 'n', 1000, 5);
  const all = [...before, ...after];
  const keysA = before.map((x) => x.key);
  const keysB = after.map((x) => x.key);
  const v = check(
    history({
      acks: all,
      finalKeys: new Set(keysB),
      samples: [
        sample('node-a', 500, keysA),
        sample('node-a', 2000, keysB),
        sample('node-b', 500, []),
        sample('node-b', 2000, keysB),
      ],
    }),
  );
  t.equal(v.lost.length, 10);
  t.same(v.emptied, [
    {
      node: 'node-a',
      from: 500,
      to: 2000,
      before: 10,
      after: 5,
      removed: 10,
      unexplained: 10,
      restoredLater: 0,
      examples: ['k0', 'k1', 'k2'],
    },
  ]);
});

t.test(
  'emptied: not when an operation wiped that node, nor for keys already explained',
  async (t) => {
    const all = acks('node-a', 'k', 0, 10);
    const keys = all.map((x) => x.key);
    const wiped = check(
      history({
        acks: all,
        samples: [
          sample('node-b', 100, keys),
          sample('node-b', 300, []),
          sample('node-b', 500, keys),
        ],
        wipes: [{ node: 'node-b', at: 200, kind: 'wipe-volume' }],
      }),
    );
    t.same(wiped.emptied, [], 'the operator emptied node-b: not the software');
    t.equal(wiped.shrinksExplained, 1);

    const wipedElsewhere = check(
      history({
        acks: all,
        samples: [sample('node-b', 100, keys), sample('node-b', 300, [])],
        wipes: [{ node: 'node-c', at: 200, kind: 'wipe-volume' }],
      }),
    );
    t.equal(wipedElsewhere.emptied.length, 1, "another node's wipe does not explain node-b's");

    // The old primary loses its async tail when it rejoins a new primary that never had it.
    const tail = check(
      history({
        acks: all,
        finalKeys: new Set(keys.slice(0, 8)),
        leaseEnds: [{ node: 'node-a', at: 100, handoff: false, cause: 'kill-litefs' }],
        samples: [sample('node-a', 95, keys), sample('node-a', 2000, keys.slice(0, 8))],
      }),
    );
    t.same(
      tail.asyncWindowLost.map((x) => x.key),
      ['k8', 'k9'],
    );
    t.same(tail.emptied, [], 'only async-window writes removed: counted there, not as emptied');

    const unacked = check(
      history({
        acks: all,
        samples: [sample('node-a', 100, [...keys, 'never-acked']), sample('node-a', 200, keys)],
      }),
    );
    t.same(unacked.emptied, [], 'only acknowledged keys count');
  },
);

t.test('emptied: keys the node holds again later are reported as restored', async (t) => {
  const all = acks('node-a', 'k', 0, 4);
  const keys = all.map((x) => x.key);
  const v = check(
    history({
      acks: all,
      samples: [
        sample('node-c', 100, keys),
        sample('node-c', 200, []),
        sample('node-c', 300, keys),
      ],
    }),
  );
  t.equal(v.emptied.length, 1);
  t.equal(v.emptied[0]?.restoredLater, 4);
});

t.test("parseAck reads the app's acknowledgement", async (t) => {
  t.same(parseAck('committed node=node-a txid=42 at=1700000000123'), {
    node: 'node-a',
    txid: 42,
    at: 1700000000123,
  });
  t.same(parseAck('committed node=node-b txid=? at=5'), { node: 'node-b', at: 5 });
  t.equal(parseAck('committed'), undefined);
  t.equal(parseAck(undefined), undefined);
  t.equal(parseAck('ok'), undefined);
});
