// Pure questions decide asks of a PeerReport (docs/design.md section 3, "peers"): which peers show
// that this node is behind (S2), which did not answer (S3), whom to hand the lease to (S4) and
// whether a new primary is about to overwrite this node (S11). Evidence is what a database
// holds (pages) as well as where LiteFS says it is (TXID): TXID 0 is not empty (docs/litefs-facts.md "What
// a TXID does not tell you"). No I/O: the report is gathered by src/litefs/peers.ts.

import type { DbView } from './derive.js';
import { formatTxid as hex } from './parse.js';
import type { PeerAnswer, PeerDbEvidence, PeerReport } from './peer-types.js';

export type AnsweredPeer = Extract<PeerAnswer, { ok: true }>;
export type UnansweredPeer = Extract<PeerAnswer, { ok: false }>;

/**
 * Answering peers of `clusterId`. A peer of another cluster is another deployment's data, not
 * a copy of ours: its evidence says nothing about how far behind we are (S2) and LiteFS would
 * not let it replicate with us anyway (docs/litefs-facts.md "Replication rules"). An ID that is not known
 * yet ('' on either side: a fresh node, or a cluster whose ID is not assigned) proves nothing,
 * so such a peer counts: for S2, counting a peer that might be ours errs on the side of not
 * writing.
 */
export function sameCluster(report: PeerReport, clusterId: string): AnsweredPeer[] {
  return report.answers.filter(
    (a): a is AnsweredPeer =>
      a.ok && (clusterId === '' || a.clusterId === '' || a.clusterId === clusterId),
  );
}

/** A peer's evidence for `db`; a db it does not list is no copy at all. */
export function peerDb(peer: AnsweredPeer, db: string): PeerDbEvidence | undefined {
  return peer.dbs[db];
}

/** "name@TXID, N pages, HWM" as the logs and refusals show a peer's db. */
export function describePeerDb(e: PeerDbEvidence | undefined): string {
  if (e === undefined) return 'no copy';
  const pages = e.pageCount === undefined ? 'pages unknown' : `${e.pageCount} page(s)`;
  const hwm = e.hwm === undefined ? '' : `, high-water mark TXID ${hex(e.hwm)}`;
  return `TXID ${hex(e.txid)}, ${pages}${e.hasData ? '' : ', no data'}${hwm}`;
}

export interface BehindEvidence {
  peer: AnsweredPeer;
  db: string;
  why: string;
}

/**
 * S2, the peers' part: the same-cluster peers whose evidence shows this node's copy of `db` is
 * behind. A peer is ahead when its TXID, or the high-water mark its supervisor reports, is above
 * this node's TXID, or when it has data while this node's copy is empty (whatever the TXIDs:
 * the seed's data holder reported TXID 0 with every row).
 */
export function peersAhead(report: PeerReport, own: DbView, clusterId: string): BehindEvidence[] {
  const mine = own.txid ?? 0n;
  const found: BehindEvidence[] = [];
  for (const peer of sameCluster(report, clusterId)) {
    const theirs = peerDb(peer, own.name);
    if (theirs === undefined) continue;
    const at = `peer ${peer.url} (node ${peer.nodeId})`;
    if (theirs.txid > mine) {
      found.push({
        peer,
        db: own.name,
        why: `${own.name} is at TXID ${hex(mine)} but ${at} has TXID ${hex(theirs.txid)}`,
      });
    } else if (theirs.hwm !== undefined && theirs.hwm > mine) {
      found.push({
        peer,
        db: own.name,
        why: `${own.name} is at TXID ${hex(mine)} but ${at} has seen TXID ${hex(theirs.hwm)} in this cluster (its high-water mark)`,
      });
    } else if (!own.hasData && theirs.hasData) {
      found.push({
        peer,
        db: own.name,
        why: `${own.name} is empty here (${own.emptyBecause ?? 'no data'}) but ${at} has data (${describePeerDb(theirs)})`,
      });
    }
  }
  return found;
}

/**
 * S3: peers that were discovered but did not answer (or whose evidence could not be read).
 * Any of them may hold the real data, so an empty primary may not bootstrap with
 * `--bootstrap auto` while this is non-empty (nor while report.discoveryError is set).
 */
export function unansweredPeers(report: PeerReport): UnansweredPeer[] {
  return report.answers.filter((a): a is UnansweredPeer => !a.ok);
}

/**
 * S4: may the lease go to `peer`? Only a peer with data (never an empty one: it would face the
 * same refusal, or worse, bootstrap) and with at least this node's evidence on every gated db:
 * data where this node has data, a TXID not below this node's, and not below the mark this node
 * retired when its history was lost (`retired`, S13): this node still holds that history's
 * pages, so a peer below the mark would replace the newer rows here when LiteFS reconnects them.
 */
export function handoffEligible(
  peer: AnsweredPeer,
  own: DbView[],
  retired: Readonly<Record<string, bigint>> = {},
): boolean {
  let anyData = false;
  for (const db of own) {
    const theirs = peerDb(peer, db.name);
    if (theirs?.hasData) anyData = true;
    if (db.hasData && !theirs?.hasData) return false;
    const at = theirs?.txid ?? 0n;
    if (at < (db.txid ?? 0n)) return false;
    const mark = retired[db.name];
    if (db.historyLost && mark !== undefined && at < mark) return false;
  }
  return anyData;
}

/**
 * The peer to hand the lease to when fenced (S4): among answering same-cluster candidates
 * (LiteFS hands the lease to any connected replica, candidate or not: docs/litefs-facts.md) that are
 * eligible, the most advanced by evidence on the gated dbs, compared on the first db, then the
 * next: data first, then TXID, then page count. Equal evidence goes to a peer whose app is
 * ready (readiness), then to the lowest node ID, so that every retry, and every node, picks the
 * same target.
 */
export function mostAdvancedCandidate(
  report: PeerReport,
  own: DbView[],
  clusterId: string,
  retired: Readonly<Record<string, bigint>> = {},
): AnsweredPeer | undefined {
  return mostAdvanced(
    report,
    own,
    clusterId,
    (p) => p.candidate && handoffEligible(p, own, retired),
  );
}

/**
 * The most advanced of the answering same-cluster peers that pass `eligible` (S4, handover).
 * `readyFirst`: a peer whose app is ready goes before one whose app is not, whatever their
 * evidence (handover and S14, where LiteFS sends the target every pending transaction before
 * it takes the lease); otherwise readiness only breaks a tie of equal evidence (S4, where the
 * target's data is what the cluster keeps). Either way readiness ranks, it never excludes.
 */
function mostAdvanced(
  report: PeerReport,
  own: DbView[],
  clusterId: string,
  eligible: (peer: AnsweredPeer) => boolean,
  readyFirst = false,
): AnsweredPeer | undefined {
  const names = own.map((db) => db.name);
  let best: AnsweredPeer | undefined;
  for (const peer of sameCluster(report, clusterId)) {
    if (!eligible(peer)) continue;
    if (best === undefined) {
      best = peer;
      continue;
    }
    const ready = readyFirst ? compareReady(peer, best) : 0;
    if (ready > 0 || (ready === 0 && compareAdvance(peer, best, names) > 0)) best = peer;
  }
  return best;
}

/** > 0 when `a`'s app is ready and `b`'s is not; a peer that does not say counts as ready. */
function compareReady(a: AnsweredPeer, b: AnsweredPeer): number {
  const ra = a.appReady !== false;
  const rb = b.appReady !== false;
  return ra === rb ? 0 : ra ? 1 : -1;
}

/**
 * > 0 when `a` is more advanced than `b`; equal evidence goes to a ready app, then to the lower
 * node ID. Never 0 for two peers.
 */
function compareAdvance(a: AnsweredPeer, b: AnsweredPeer, dbs: string[]): number {
  for (const db of dbs) {
    const ea = peerDb(a, db);
    const eb = peerDb(b, db);
    const keys: [bigint, bigint][] = [
      [ea?.hasData ? 1n : 0n, eb?.hasData ? 1n : 0n],
      [ea?.txid ?? -1n, eb?.txid ?? -1n],
      [BigInt(ea?.pageCount ?? -1), BigInt(eb?.pageCount ?? -1)],
    ];
    for (const [ka, kb] of keys) if (ka !== kb) return ka > kb ? 1 : -1;
  }
  // Equal evidence: a peer whose app is ready serves writes as soon as it holds the lease.
  const ready = compareReady(a, b);
  if (ready !== 0) return ready;
  // Node IDs are fixed-width hex (`%016X`, litefs.go FormatNodeID) but LiteFS parses either
  // case, so compare case-insensitively; string order then equals numeric order.
  const ia = a.nodeId.toUpperCase();
  const ib = b.nodeId.toUpperCase();
  if (ia === ib) return 0;
  return ia < ib ? 1 : -1;
}

/**
 * Handover on stop: may the lease go to `peer` before this primary stops? A
 * candidate (LiteFS would hand it to a non-candidate too) that follows this node now (its
 * primary is one of `self`: LiteFS's /handoff refuses a replica that is not connected, so a
 * LiteFS-only peer is held to the same), that its supervisor, when one answers, says is synced
 * within `maxLag`, and that has data wherever this node has data (docs/design.md section 4: never
 * to an empty peer). Its TXID is not compared with this node's: the app keeps writing until
 * the lease moves, and LiteFS sends a connected replica every pending transaction before the
 * handoff frame (http/server.go handlePostStream), so the target holds at least this node's
 * evidence when it takes the lease.
 */
export function handoverEligible(
  peer: AnsweredPeer,
  own: DbView[],
  self: readonly string[],
  maxLag: number,
  orCaughtUp = false,
): { ok: true } | { ok: false; why: string } {
  if (!peer.candidate) return { ok: false, why: 'not a candidate' };
  if (!self.includes(peer.primaryHostname)) {
    return {
      ok: false,
      why: `follows ${peer.primaryHostname === '' ? 'no primary' : peer.primaryHostname}, not this node`,
    };
  }
  // Caught up by position: at least this node's TXID on every gated db. A replica that has just
  // lost the lease reads `.lag` as unsynced until LiteFS's first heartbeat after its
  // reconnection (docs/litefs-facts.md), while it holds every transaction this node has.
  const caughtUp = own.every((db) => (peerDb(peer, db.name)?.txid ?? 0n) >= (db.txid ?? 0n));
  if (!(orCaughtUp && caughtUp)) {
    if (peer.synced === false) return { ok: false, why: 'its supervisor says it is not synced' };
    if (peer.lagMs !== undefined && peer.lagMs > maxLag) {
      return { ok: false, why: `lag ${peer.lagMs}ms above --max-lag ${maxLag}ms` };
    }
  }
  for (const db of own) {
    const theirs = peerDb(peer, db.name);
    if (db.hasData && !theirs?.hasData) {
      return { ok: false, why: `${db.name}: ${describePeerDb(theirs)} while this node has data` };
    }
  }
  return { ok: true };
}

/**
 * The candidate to hand the lease to before stopping: among eligible same-cluster peers
 * (handoverEligible), one whose app is ready first, then the most advanced by evidence, ties to
 * the lowest node ID, as for S4. Undefined when none: the primary then stops as it did before
 * (LiteFS releases the lease).
 */
export function handoverTarget(
  report: PeerReport,
  own: DbView[],
  clusterId: string,
  self: readonly string[],
  maxLag: number,
): AnsweredPeer | undefined {
  return mostAdvanced(
    report,
    own,
    clusterId,
    (p) => handoverEligible(p, own, self, maxLag).ok,
    true,
  );
}

/**
 * S14: the candidate to hand the lease to while this primary's app cannot serve: a handover
 * target (handoverEligible; synced, or caught up with this node's position) whose app is ready
 * (a peer whose supervisor does not report readiness counts as ready: a mixed-version deploy). A peer whose app is not ready would serve
 * no better than this node, so here readiness is required, not ranked.
 */
export function handBackTarget(
  report: PeerReport,
  own: DbView[],
  clusterId: string,
  self: readonly string[],
  maxLag: number,
): AnsweredPeer | undefined {
  return mostAdvanced(
    report,
    own,
    clusterId,
    (p) => p.appReady !== false && handoverEligible(p, own, self, maxLag, true).ok,
  );
}

/** The answering same-cluster peer that LiteFS shows as primary, if any. */
export function primaryPeer(report: PeerReport, clusterId: string): AnsweredPeer | undefined {
  return sameCluster(report, clusterId).find((a) => a.isPrimary);
}

/**
 * The LiteFS API of the primary a report named, whose writes are halted while the lease moves
 * away from it (docs/design.md section 4); undefined without a report or a primary in it.
 */
export function primaryUrl(report: PeerReport | undefined, clusterId: string): string | undefined {
  return report === undefined ? undefined : primaryPeer(report, clusterId)?.url;
}
