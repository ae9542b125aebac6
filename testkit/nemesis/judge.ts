// From a run's history (what the nemesis observed, kept as history.json next to the node logs)
// to the figures of its result: lease periods and how each ended, then the checker's verdict
// (testkit/nemesis/checker.ts), with times relative to the schedule's start. Pure, so a stored
// run can be checked again with a newer checker (bench/nemesis-recheck.mjs) without running it.

import {
  type Ack,
  type Clear,
  check,
  type Following,
  type HandoffAcquired,
  type LeaseEvidence,
  leaseEnds,
  leasePeriods,
  type OpSpan,
  type Position,
  type Verdict,
  type Wipe,
} from './checker.js';

/** Everything the checker needs, keys of the samples and the final reference as indices into `acks`. */
export interface HistoryDump {
  /** When the schedule started (ms since epoch): result times are relative to it. */
  t0: number;
  /** When observation ended: a lease period still open then did not end. */
  until: number;
  acks: Ack[];
  finalKeys: number[];
  evidence: LeaseEvidence[];
  handoffs: HandoffAcquired[];
  spans: OpSpan[];
  positions: Position[];
  following: Following[];
  lags: { node: string; at: number; ms: number }[];
  wipes: Wipe[];
  samples: { node: string; at: number; keys: number[] }[];
  /** LiteFS's clearings of replicas ahead of their primary (absent in older histories). */
  clears?: Clear[];
}

export interface Judgement {
  acked: number;
  lostAcked: number;
  asyncWindowLost: number;
  asyncWindowMs: number;
  asyncWindowDetail: { key: string; node: string; ageMs: number; cause: string }[];
  emptied: number;
  emptiedDetail: Verdict['emptied'];
  shrinksExplained: number;
  twoWriters: number;
  twoWritersDetail: {
    key: string;
    node: string;
    atMs: number;
    how: string;
    with: string[];
    lost: boolean;
  }[];
  leaseOverlaps: {
    nodes: [string, string];
    fromMs: number;
    toMs: number;
    acks: Record<string, number>;
  }[];
  lostUnexplained: number;
  lostDetail: { key: string; node?: string; txid?: number; ackedAtMs?: number }[];
  maxLagMs: number;
  leases: { node: string; fromMs: number; toMs: number }[];
  leaseEnds: { node: string; atMs: number; handoff: boolean; cause: string }[];
}

export function judge(d: HistoryDump): Judgement {
  const rel = (at: number) => at - d.t0;
  const keyAt = (i: number) => d.acks[i]?.key;
  const keysOf = (list: number[]) =>
    new Set(list.map(keyAt).filter((k): k is string => k !== undefined));
  const leases = leasePeriods(d.evidence);
  const ends = leaseEnds(leases, d.handoffs, d.spans, d.until);
  const maxLagMs = d.lags.reduce((m, l) => Math.max(m, l.ms), 0);
  const v = check({
    acks: d.acks,
    finalKeys: keysOf(d.finalKeys),
    leases,
    leaseEnds: ends,
    maxLagMs,
    samples: d.samples.map((s) => ({ node: s.node, at: s.at, keys: keysOf(s.keys) })),
    wipes: d.wipes,
    positions: d.positions,
    following: d.following,
    clears: d.clears ?? [],
    handoffs: d.handoffs,
  });
  const byKey = new Map(d.acks.map((a) => [a.key, a]));
  return {
    acked: v.acked,
    lostAcked: v.lost.length,
    asyncWindowLost: v.asyncWindowLost.length,
    asyncWindowMs: v.asyncWindowMs,
    asyncWindowDetail: v.asyncWindowLost.map((x) => ({
      key: x.key,
      node: x.node,
      ageMs: x.ageMs,
      cause: x.cause,
    })),
    emptied: v.emptied.length,
    emptiedDetail: v.emptied.map((e) => ({ ...e, from: rel(e.from), to: rel(e.to) })),
    shrinksExplained: v.shrinksExplained,
    twoWriters: v.twoWriters.length,
    twoWritersDetail: v.twoWriters.map((x) => ({
      key: x.key,
      node: x.node,
      atMs: rel(x.at),
      how: x.how,
      with: x.with,
      lost: x.lost,
    })),
    leaseOverlaps: v.overlaps.map((o) => ({
      nodes: o.nodes,
      fromMs: rel(o.from),
      toMs: rel(o.to),
      acks: o.acks,
    })),
    lostUnexplained: v.lostUnexplained.length,
    lostDetail: v.lost.slice(0, 50).map((key) => {
      const a = byKey.get(key);
      if (!a) return { key };
      return {
        key,
        node: a.node,
        ...(a.txid === undefined ? {} : { txid: a.txid }),
        ackedAtMs: rel(a.at),
      };
    }),
    maxLagMs,
    leases: leases.map((p) => ({ node: p.node, fromMs: rel(p.from), toMs: rel(p.to) })),
    leaseEnds: ends.map((e) => ({
      node: e.node,
      atMs: rel(e.at),
      handoff: e.handoff,
      cause: e.cause,
    })),
  };
}
