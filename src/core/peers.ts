// Pure questions decide asks of a PeerReport (DESIGN.md section 3, "peers"): which peers are
// ahead of us (S2), which did not answer (S3), and whom to hand the lease to (S4). No I/O: the
// report is gathered by src/litefs/peers.ts.

import type { PeerAnswer, PeerReport } from './peer-types.js';

export type AnsweredPeer = Extract<PeerAnswer, { ok: true }>;
export type UnansweredPeer = Extract<PeerAnswer, { ok: false }>;

// A peer whose /debug/vars does not list a db has no copy of it at all, which is less than a
// copy at TXID 0 (LiteFS lists a db it knows with txid 0000000000000000 before any write).
const NO_COPY = -1n;

function txidOf(peer: AnsweredPeer, db: string): bigint {
  return peer.dbs[db]?.txid ?? NO_COPY;
}

/**
 * Answering peers of `clusterId`. A peer of another cluster is another deployment's data, not
 * a copy of ours: its TXIDs say nothing about how far behind we are (S2) and LiteFS would not
 * let it replicate with us anyway (LITEFS.md "Replication rules"). An ID that is not known yet
 * ('' on either side: a fresh node, or a cluster whose ID is not assigned) proves nothing, so
 * such a peer counts: for S2, counting a peer that might be ours errs on the side of not writing.
 */
function sameCluster(report: PeerReport, clusterId: string): AnsweredPeer[] {
  return report.answers.filter(
    (a): a is AnsweredPeer =>
      a.ok && (clusterId === '' || a.clusterId === '' || a.clusterId === clusterId),
  );
}

/**
 * The peer to hand the lease to when fenced (S4): among answering same-cluster candidates
 * (LiteFS only hands the lease to a candidate), the one with the highest TXID on `dbs`,
 * compared on the first db, then the next. Equal positions go to the lowest node ID so that
 * every retry, and every node, picks the same target. Whether that peer is actually ahead of
 * this node is the caller's question (compare with peerTxidAbove or its own position).
 */
export function mostAdvancedCandidate(
  report: PeerReport,
  dbs: string[],
  clusterId: string,
): AnsweredPeer | undefined {
  let best: AnsweredPeer | undefined;
  for (const peer of sameCluster(report, clusterId)) {
    if (!peer.candidate) continue;
    if (best === undefined || compareAdvance(peer, best, dbs) > 0) best = peer;
  }
  return best;
}

/** > 0 when `a` is more advanced than `b`; ties go to the lower node ID. Never 0 for two peers. */
function compareAdvance(a: AnsweredPeer, b: AnsweredPeer, dbs: string[]): number {
  for (const db of dbs) {
    const ta = txidOf(a, db);
    const tb = txidOf(b, db);
    if (ta !== tb) return ta > tb ? 1 : -1;
  }
  // Node IDs are fixed-width hex (`%016X`, litefs.go FormatNodeID) but LiteFS parses either
  // case, so compare case-insensitively; string order then equals numeric order.
  const ia = a.nodeId.toUpperCase();
  const ib = b.nodeId.toUpperCase();
  if (ia === ib) return 0;
  return ia < ib ? 1 : -1;
}

/**
 * S2: the answering same-cluster peers whose TXID for `db` is above `txid`. Any one of them
 * means this node is behind and must not write (a write would be streamed over their data).
 */
export function peerTxidAbove(
  report: PeerReport,
  db: string,
  txid: bigint,
  clusterId: string,
): AnsweredPeer[] {
  return sameCluster(report, clusterId).filter((peer) => txidOf(peer, db) > txid);
}

/**
 * S3: peers that were discovered but did not answer. Any of them may hold the real data, so
 * an empty primary may not bootstrap with `--bootstrap auto` while this is non-empty (nor
 * while report.discoveryError is set).
 */
export function unansweredPeers(report: PeerReport): UnansweredPeer[] {
  return report.answers.filter((a): a is UnansweredPeer => !a.ok);
}
