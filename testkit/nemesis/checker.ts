// The nemesis's checker (bench/nemesis.mjs): from what was observed during a run (every
// acknowledged write with the node and TXID it committed at, when each node showed it held the
// lease, each node's acknowledged keys sampled between operations, the final primary's keys) it
// says whether data was lost and how. Pure: no clock, no I/O; test/testkit/nemesis-checker.test.ts
// feeds it made-up histories, one per definition.
//
// Definitions (each a field of Verdict):
// - lost: an acknowledged write missing from the final primary's database.
// - asyncWindowLost: the lost writes that a primary acknowledged within (largest replication lag
//   observed + 1 s) before its lease ended without a handoff (kill -9, session expiry, Consul
//   outage, a stop that released the lease), and that no other node was seen to hold before that
//   end (a TXID at least the write's, or the key in a sample), committed while a replica
//   followed (LiteFS replicates asynchronously and no supervisor can keep those: docs/design.md section
//   13). Each with its age. A write another node held and that was lost anyway is not
//   this (a database was replaced), nor one committed while no replica followed (nothing lagged:
//   the write stayed on its node's disk and was lost later).
// - twoWriters: acknowledged writes committed by a node while another node's lease period
//   covered that moment too (overlap), or lost writes of a lease period that ended by a handoff
//   at TXIDs the next node to commit continued from (same-txid: LiteFS's handoff lets the old
//   primary commit once more after the new one took the lease at the TXID before; both
//   histories then have that TXID, and the old primary's write is cleared when it reconnects;
//   docs/litefs-facts.md). Each is two nodes taking writes at once. After a lease that ended
//   without a handoff that is asyncWindowLost's case instead.
// - emptied: a node's set of acknowledged keys shrank between two samples (its database replaced
//   by an emptier one), not because an operation destroyed that node's data on purpose, and not
//   only by writes already counted in asyncWindowLost or twoWriters.

/** An acknowledged write, as the app reported it: who committed it, at which TXID, when. */
export interface Ack {
  key: string;
  node: string;
  /** The TXID the node's `<db>-pos` showed right after the commit, when known. */
  txid?: number;
  /** Commit time (ms since epoch, same clock as every other time here). */
  at: number;
}

/** One sign of whether a node held the lease at a moment: a poll of /info, a log line, a commit. */
export interface LeaseEvidence {
  node: string;
  at: number;
  primary: boolean;
}

export interface LeasePeriod {
  node: string;
  /** First and last evidence of this period (a period with one piece of evidence has from = to). */
  from: number;
  to: number;
}

export interface LeaseEnd {
  node: string;
  /** The period's last evidence. */
  at: number;
  /** Another node took the lease by a handoff from this one. */
  handoff: boolean;
  /** What the nemesis was doing then (an operation kind), or `none`. */
  cause: string;
}

/** A node's acknowledged keys read from its database at a moment. */
export interface KeySample {
  node: string;
  at: number;
  keys: ReadonlySet<string>;
}

/** An operation that destroyed a node's data on purpose (rm -rf dbs/<db>, truncate, wipe). */
export interface Wipe {
  node: string;
  at: number;
  kind: string;
}

export interface History {
  acks: readonly Ack[];
  /** The final primary's keys (or the reference the runner chose when there is none). */
  finalKeys: ReadonlySet<string>;
  leases: readonly LeasePeriod[];
  leaseEnds: readonly LeaseEnd[];
  /** The largest replication lag observed on a connected replica (ms). */
  maxLagMs: number;
  samples: readonly KeySample[];
  wipes: readonly Wipe[];
  /** TXIDs the nodes reported over time (evidence that a write reached a replica). */
  positions?: readonly Position[];
  /**
   * LiteFS's `client transaction id (C) exceeds primary transaction id (P), clearing client
   * position` lines: on `node`, the primary, a reconnecting replica's commits above P were
   * replaced by a snapshot.
   */
  clears?: readonly Clear[];
  /** Acquisitions by handoff: who took over from a lease that ended by a handoff. */
  handoffs?: readonly HandoffAcquired[];
  /**
   * When each node followed a primary (read its replication lag). Given, a write counts for
   * asyncWindowLost only when another node followed at its commit.
   */
  following?: readonly Following[];
}

export interface Clear {
  node: string;
  at: number;
  clientTxid: number;
  primaryTxid: number;
}

/** A LiteFS log line's clearing of a replica ahead of its primary, or undefined. */
export function parseClear(msg: string): { clientTxid: number; primaryTxid: number } | undefined {
  const m =
    /client transaction id \(([0-9a-f]{16})\) exceeds primary transaction id \(([0-9a-f]{16})\)/.exec(
      msg,
    );
  if (!m) return undefined;
  return { clientTxid: Number.parseInt(m[1]!, 16), primaryTxid: Number.parseInt(m[2]!, 16) };
}

export interface Following {
  node: string;
  from: number;
  to: number;
}

export interface Position {
  node: string;
  at: number;
  txid: number;
}

export interface AsyncLoss {
  key: string;
  node: string;
  /** From the commit to the end of its node's lease (ms). */
  ageMs: number;
  leaseEndAt: number;
  cause: string;
}

export interface TwoWriterAck {
  key: string;
  node: string;
  at: number;
  /** overlap: inside another node's lease period; same-txid: another node acknowledged its TXID. */
  how: 'overlap' | 'same-txid';
  /** The other node(s) whose lease period covered the commit. */
  with: string[];
  lost: boolean;
}

export interface Overlap {
  nodes: [string, string];
  from: number;
  to: number;
  /** Acknowledged writes each node committed inside the overlap. */
  acks: Record<string, number>;
}

export interface EmptiedEvent {
  node: string;
  /** The two samples between which the node's keys shrank. */
  from: number;
  to: number;
  before: number;
  after: number;
  removed: number;
  /** Removed keys not explained by asyncWindowLost or twoWriters. */
  unexplained: number;
  /** Of those, how many the node's last sample holds again. */
  restoredLater: number;
  /** A few of the unexplained keys. */
  examples: string[];
}

export interface Verdict {
  acked: number;
  lost: string[];
  asyncWindowMs: number;
  asyncWindowLost: AsyncLoss[];
  twoWriters: TwoWriterAck[];
  overlaps: Overlap[];
  emptied: EmptiedEvent[];
  /** Shrinks not counted in emptied (an operation wiped the node, or only explained keys). */
  shrinksExplained: number;
  /** Lost writes neither asyncWindowLost nor twoWriters. */
  lostUnexplained: string[];
}

/**
 * Lease periods from evidence: per node, in time order, a period runs from the first evidence
 * that the node held the lease to the last one before evidence that it did not.
 */
export function leasePeriods(evidence: readonly LeaseEvidence[]): LeasePeriod[] {
  const byNode = new Map<string, LeaseEvidence[]>();
  for (const e of evidence) {
    const list = byNode.get(e.node) ?? [];
    list.push(e);
    byNode.set(e.node, list);
  }
  const out: LeasePeriod[] = [];
  for (const [node, list] of byNode) {
    // At the same moment a "held" wins: a commit proves the lease, a poll may be a moment late.
    list.sort((a, b) => a.at - b.at || Number(b.primary) - Number(a.primary));
    let open: LeasePeriod | undefined;
    for (const e of list) {
      if (e.primary) {
        if (open) open.to = e.at;
        else open = { node, from: e.at, to: e.at };
      } else if (open) {
        out.push(open);
        open = undefined;
      }
    }
    if (open) out.push(open);
  }
  return out.sort((a, b) => a.from - b.from || a.node.localeCompare(b.node));
}

/** Acquisitions by handoff (LiteFS's `acquiring existing lease from handoff`), per node and time. */
export interface HandoffAcquired {
  node: string;
  at: number;
}

/** An operation's span, for the cause of a lease end. */
export interface OpSpan {
  kind: string;
  from: number;
  to: number;
}

/**
 * How each lease period ended: by a handoff when another node acquired the lease by handoff
 * within `slackMs` of the end, else without one; the cause is the operation running then.
 * Periods still open at `until` (the end of observation) did not end.
 */
export function leaseEnds(
  periods: readonly LeasePeriod[],
  handoffs: readonly HandoffAcquired[],
  ops: readonly OpSpan[],
  until: number,
  slackMs = 2000,
): LeaseEnd[] {
  const out: LeaseEnd[] = [];
  for (const p of periods) {
    if (until - p.to < slackMs) continue;
    const handoff = handoffs.some((h) => h.node !== p.node && Math.abs(h.at - p.to) <= slackMs);
    // The operation running at the end, else one within the slack; the latest started first.
    const latest = (list: OpSpan[]) => list.sort((x, y) => y.from - x.from)[0];
    const op =
      latest(ops.filter((o) => o.from <= p.to && p.to <= o.to)) ??
      latest(ops.filter((o) => o.from - slackMs <= p.to && p.to <= o.to + slackMs));
    out.push({ node: p.node, at: p.to, handoff, cause: op?.kind ?? 'none' });
  }
  return out;
}

function intersect(a: ReadonlySet<string>, b: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  for (const k of a) if (b.has(k)) out.add(k);
  return out;
}

export function check(h: History): Verdict {
  const ackedKeys = new Set(h.acks.map((a) => a.key));
  const lostAcks = h.acks.filter((a) => !h.finalKeys.has(a.key));

  const asyncWindowMs = Math.max(0, h.maxLagMs) + 1000;
  const asyncWindowLost: AsyncLoss[] = [];
  /** Another node was seen holding the write between its commit and `until`. */
  const replicated = (a: Ack, until: number) =>
    (a.txid !== undefined &&
      (h.positions ?? []).some(
        (p) => p.node !== a.node && a.at <= p.at && p.at <= until && p.txid >= a.txid!,
      )) ||
    h.samples.some((s) => s.node !== a.node && s.at <= until && s.keys.has(a.key));
  const followed = (a: Ack) =>
    h.following === undefined ||
    h.following.some((f) => f.node !== a.node && f.from <= a.at && a.at <= f.to);
  for (const a of lostAcks) {
    const end = h.leaseEnds
      .filter(
        (e) => e.node === a.node && !e.handoff && a.at <= e.at && e.at - a.at <= asyncWindowMs,
      )
      .sort((x, y) => x.at - y.at)[0];
    if (end && followed(a) && !replicated(a, end.at)) {
      asyncWindowLost.push({
        key: a.key,
        node: a.node,
        ageMs: end.at - a.at,
        leaseEndAt: end.at,
        cause: end.cause,
      });
    }
  }

  const lostSet = new Set(lostAcks.map((a) => a.key));
  const twoWriters: TwoWriterAck[] = [];
  const overlapMap = new Map<string, Overlap>();
  for (const a of h.acks) {
    const others = h.leases.filter((p) => p.node !== a.node && p.from <= a.at && a.at <= p.to);
    if (others.length === 0) continue;
    twoWriters.push({
      key: a.key,
      node: a.node,
      at: a.at,
      how: 'overlap',
      with: [...new Set(others.map((p) => p.node))].sort(),
      lost: lostSet.has(a.key),
    });
    const own = h.leases.find((p) => p.node === a.node && p.from <= a.at && a.at <= p.to);
    for (const p of others) {
      const from = Math.max(p.from, own?.from ?? a.at);
      const to = Math.min(p.to, own?.to ?? a.at);
      const nodes = [a.node, p.node].sort() as [string, string];
      const id = `${nodes.join('|')}@${from}`;
      if (!overlapMap.has(id)) overlapMap.set(id, { nodes, from, to, acks: {} });
    }
  }
  // The same TXID across a handoff: after a lease period of X that ended by a handoff, another
  // node Y took over X's history from a TXID P inside it (Y's first commit is P + 1, or LiteFS
  // on Y cleared a replica ahead of its P within 30 s): X's lost commits above P were made while
  // Y held the lease. A TXID outside X's range is a history restarted (a TXID 1 snapshot,
  // litefs import), not this.
  const flagged = new Set(twoWriters.map((x) => x.key));
  const byTime = [...h.acks].sort((x, y) => x.at - y.at);
  for (const e of h.leaseEnds) {
    if (!e.handoff) continue;
    const period = h.leases.find((p) => p.node === e.node && p.to === e.at);
    const from = period?.from ?? e.at;
    const own = h.acks.filter(
      (a) => a.node === e.node && a.txid !== undefined && from <= a.at && a.at <= e.at,
    );
    if (own.length === 0) continue;
    const txids = own.map((a) => a.txid!);
    const lo = Math.min(...txids);
    const hi = Math.max(...txids);
    const takeovers: { txid: number; node: string }[] = [];
    // The node that took the lease by this handoff (any other node when not known).
    const heir = h.handoffs
      ?.filter((x) => x.node !== e.node && Math.abs(x.at - e.at) <= 2000)
      .sort((x, y) => Math.abs(x.at - e.at) - Math.abs(y.at - e.at))[0]?.node;
    const mayTakeOver = (node: string) => node !== e.node && (heir === undefined || node === heir);
    const next = byTime.find((b) => b.node !== e.node && b.at > from && b.txid !== undefined);
    // TXID 1 is always a snapshot: a history that starts, never one continued.
    if (
      next?.txid !== undefined &&
      mayTakeOver(next.node) &&
      next.txid > 1 &&
      lo <= next.txid &&
      next.txid <= hi
    ) {
      takeovers.push({ txid: next.txid - 1, node: next.node });
    }
    for (const c of h.clears ?? []) {
      if (!mayTakeOver(c.node) || c.at <= e.at || c.at - e.at > 30_000) continue;
      if (c.primaryTxid >= lo - 1 && c.primaryTxid < hi && c.primaryTxid > 0) {
        takeovers.push({ txid: c.primaryTxid, node: c.node });
      }
    }
    if (takeovers.length === 0) continue;
    const first = takeovers.sort((x, y) => x.txid - y.txid)[0]!;
    for (const a of own) {
      if (a.txid! <= first.txid || !lostSet.has(a.key) || flagged.has(a.key)) continue;
      flagged.add(a.key);
      twoWriters.push({
        key: a.key,
        node: a.node,
        at: a.at,
        how: 'same-txid',
        with: [first.node],
        lost: true,
      });
    }
  }
  // Each node's commits inside each overlap.
  for (const o of overlapMap.values()) {
    for (const n of o.nodes) {
      o.acks[n] = h.acks.filter((a) => a.node === n && o.from <= a.at && a.at <= o.to).length;
    }
  }

  const explained = new Set([
    ...asyncWindowLost.map((x) => x.key),
    ...twoWriters.map((x) => x.key),
  ]);
  const emptied: EmptiedEvent[] = [];
  let shrinksExplained = 0;
  const byNode = new Map<string, KeySample[]>();
  for (const s of h.samples) {
    const list = byNode.get(s.node) ?? [];
    list.push(s);
    byNode.set(s.node, list);
  }
  for (const [node, list] of byNode) {
    list.sort((a, b) => a.at - b.at);
    const last = intersect(list[list.length - 1]!.keys, ackedKeys);
    for (let i = 1; i < list.length; i++) {
      const before = intersect(list[i - 1]!.keys, ackedKeys);
      const after = intersect(list[i]!.keys, ackedKeys);
      const removed = [...before].filter((k) => !after.has(k));
      if (removed.length === 0) continue;
      const from = list[i - 1]!.at;
      const to = list[i]!.at;
      const wiped = h.wipes.some((w) => w.node === node && from < w.at && w.at <= to);
      const unexplained = removed.filter((k) => !explained.has(k));
      if (wiped || unexplained.length === 0) {
        shrinksExplained += 1;
        continue;
      }
      emptied.push({
        node,
        from,
        to,
        before: before.size,
        after: after.size,
        removed: removed.length,
        unexplained: unexplained.length,
        restoredLater: unexplained.filter((k) => last.has(k)).length,
        examples: unexplained.slice(0, 3),
      });
    }
  }

  return {
    acked: ackedKeys.size,
    lost: lostAcks.map((a) => a.key),
    asyncWindowMs,
    asyncWindowLost,
    twoWriters: twoWriters.sort((a, b) => a.at - b.at || a.node.localeCompare(b.node)),
    overlaps: [...overlapMap.values()].sort((a, b) => a.from - b.from),
    emptied,
    shrinksExplained,
    lostUnexplained: lostAcks.map((a) => a.key).filter((k) => !explained.has(k)),
  };
}

/**
 * The app's acknowledgement (`committed node=NAME txid=N at=MS`, test/fixtures/app-boot-delay.mjs)
 * as fields; undefined when the answer is not one.
 */
export function parseAck(
  body: string | undefined,
): { node: string; txid?: number; at: number } | undefined {
  const m = /^committed node=(\S+) txid=(\d+|\?) at=(\d+)$/.exec(body ?? '');
  if (!m) return undefined;
  const out: { node: string; txid?: number; at: number } = { node: m[1]!, at: Number(m[3]) };
  if (m[2] !== '?') out.txid = Number(m[2]);
  return out;
}
