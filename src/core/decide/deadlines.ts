// Every time decide waits for, in one place: the intervals, the deadline each wait ends at
// (computed from the explicit times in the state), and the wake: the earliest deadline still
// ahead after a decision, which the runner turns into one timer and one `wake` input. Steps
// compare `now` with the same functions on every input, so an input after a deadline acts as
// the wake would have.

import { dbViewsOf, syncOf } from '../derive.js';
import { gathersEvidence, type Policy } from '../policy.js';
import { s13KeepsLease } from '../rules.js';
import type {
  FenceState,
  HandBackState,
  PeerQuery,
  Phase,
  SupervisorState,
  Wake,
  WakeReason,
} from '../state.js';

/** At most one state-file write per 5 s (docs/design.md section 3), plus one at exit. */
export const HWM_WRITE_INTERVAL_MS = 5000;
/** S4: how often a fenced node retries the handoff. */
export const HANDOFF_RETRY_MS = 3000;
/** S3: how often peers that did not answer are asked again. */
export const PEER_RETRY_MS = 3000;
/**
 * S14: how often a primary whose app cannot serve asks again for a candidate whose app is
 * ready: soon, as every moment it keeps the lease is a moment without writes for the cluster.
 */
export const HANDBACK_RETRY_MS = 500;
/**
 * Section 4, writes halted across a lease move: how long the primary's write lock is waited
 * for before the lease moves without it. Not a wait of decide (the adapter bounds it): longer
 * when that primary's app serves writes, whose own short transactions are what the lock waits
 * for and what it protects; short when its app serves none, when only a writer outside the app
 * (the lock a migration just failed on) can hold it, and waiting would only delay the move.
 */
export const HALT_WAIT_SERVING_MS = 1000;
export const HALT_WAIT_IDLE_MS = 300;
/**
 * Section 4 and S7: the longest a write lock of ours is held (LiteFS's HALT lock held for
 * seconds is unsafe: docs/litefs-facts.md).
 */
export const HALT_HOLD_MS = 2000;

/** S4: fenced time within this window adds up towards --fence-timeout (lease flaps). */
export const FENCE_WINDOW_MS = 10 * 60_000;
/** S5: promotion requests before giving up and starting the app as a replica. */
export const PROMOTE_ATTEMPTS = 3;

/** Phases bounded by --sync-timeout (a primary that cannot read its db waits in checking). */
export const WAITING: ReadonlySet<Phase> = new Set([
  'waiting-for-litefs',
  'waiting-for-primary',
  'syncing',
  'checking',
]);

/** --sync-timeout: the end of the current wait for LiteFS, a primary or sync (0: none). */
export function syncTimeoutAt(s: SupervisorState, config: Policy): number | undefined {
  if (config.syncTimeout <= 0 || s.waitingSince === undefined) return undefined;
  return s.waitingSince + config.syncTimeout;
}

/** S4: fenced spells that ended inside the window. */
export function recentSpells(s: SupervisorState, now: number): { since: number; until: number }[] {
  return s.fencedSpells.filter((spell) => spell.until > now - FENCE_WINDOW_MS);
}

/** S4: fenced time that counts towards --fence-timeout: this spell and the recent ones. */
export function fencedMs(s: SupervisorState, fence: FenceState, now: number): number {
  return (
    now -
    fence.since +
    recentSpells(s, now).reduce(
      (sum, spell) => sum + spell.until - Math.max(spell.since, now - FENCE_WINDOW_MS),
      0,
    )
  );
}

/**
 * S4: the earliest time the fenced time can reach --fence-timeout. Fenced time grows at most as
 * fast as the clock (an old spell leaving the window only slows it), so this is never late; a
 * wake at it that finds the limit not reached yet sets the next one.
 */
export function fenceExitAt(
  s: SupervisorState,
  fence: FenceState,
  config: Policy,
  now: number,
): number {
  return now + config.fenceTimeout - fencedMs(s, fence, now);
}

/** S4: when the next handoff may be tried (undefined: none tried yet). */
export function handoffRetryAt(fence: FenceState): number | undefined {
  return fence.lastAttemptAt === undefined ? undefined : fence.lastAttemptAt + HANDOFF_RETRY_MS;
}

/** S14: when the next hand-back try is due (the peers asked again, or a move that did not come). */
export function handBackRetryAt(hb: HandBackState): number | undefined {
  if (hb.moved || hb.lastAttemptAt === undefined) return undefined;
  // A handoff sent waits as long as a fenced node's would for the move; a question answered
  // with no candidate is asked again soon.
  return hb.lastAttemptAt + (hb.target === undefined ? HANDBACK_RETRY_MS : HANDOFF_RETRY_MS);
}

/** S14: when the next request to take the lease back is due (undefined: none asked yet). */
export function reclaimRetryAt(hb: HandBackState, config: Policy): number | undefined {
  return hb.lastReclaimAt === undefined ? undefined : hb.lastReclaimAt + config.promoteTimeout;
}

/** S3: when peers that did not answer are asked again. */
export function peerRetryAt(q: PeerQuery): number {
  return q.askedAt + PEER_RETRY_MS;
}

/** S3: when --peer-wait for the peers of this decision is over. */
export function peerWaitEndsAt(q: PeerQuery, config: Policy): number {
  return q.firstAskedAt + config.peerWait;
}

/** S5: when the next promotion request (or the give-up) is due (undefined: none asked yet). */
export function promoteRetryAt(s: SupervisorState, config: Policy): number | undefined {
  return s.promote.lastAt === undefined ? undefined : s.promote.lastAt + config.promoteTimeout;
}

/** Whether a deadline has come (an undefined one never has). */
export function reached(at: number | undefined, now: number): boolean {
  return at !== undefined && now >= at;
}

/**
 * One wait of decide: what the node waits for, when that applies, when it ends and what its
 * step does then. Each wait is declared once, in WAITS; nextWake, the steps (`due`) and
 * checkInvariants read the same declaration, so a step and its wake cannot drift apart. The
 * list in docs/design.md is generated from it (scripts/gen-waits.mjs).
 */
export interface WaitSpec {
  /** Where the rule is described (docs/design.md). */
  rule: string;
  /** What the node waits for. */
  waitsFor: string;
  /** What its step does when the deadline comes. */
  atDeadline: string;
  /** Still waited for once a stop signal arrived (shutting down, nothing new starts). */
  whileStopping: boolean;
  /**
   * When it ends, while the node waits for this time; undefined while it does not apply, or
   * while the node waits for an answer instead (the peers, a fresh /info, a result). A deadline
   * still reached after a decision is a step that did not act (checkInvariants).
   */
  deadline(s: SupervisorState, config: Policy, now: number): number | undefined;
}

/** S7: when this node's own write lock is released at the latest (HALT_HOLD_MS after it was asked for). */
export function selfHaltReleaseAt(s: SupervisorState): number | undefined {
  return s.selfHalt?.status === 'held' ? s.selfHalt.since + HALT_HOLD_MS : undefined;
}

/** A question to the peers of `purpose` is out and not answered yet. */
function asking(s: SupervisorState, purpose: PeerQuery['purpose']): boolean {
  return s.peers?.purpose === purpose && s.peers.report === undefined;
}

/** The failed migration waiting for its next try, if any (S1). */
export function migrationRetryAt(s: SupervisorState): number | undefined {
  let at: number | undefined;
  for (const c of s.commands) {
    if (c.kind !== 'migrate' || (c.status !== 'failed' && c.status !== 'timed-out')) continue;
    if (c.retryAt !== undefined && (at === undefined || c.retryAt < at)) at = c.retryAt;
  }
  return at;
}

export const WAITS: Readonly<Record<WakeReason, WaitSpec>> = {
  'handover-timeout': {
    rule: 'Handover on stop',
    waitsFor: 'LiteFS to show the lease on another node after a stop signal (--handoff-timeout)',
    atDeadline: 'the app is stopped as without a handover',
    whileStopping: true,
    deadline: (s) => s.handover?.until,
  },
  restart: {
    rule: 'section 6',
    waitsFor: "the app's restart backoff (--restart-delay, doubling up to 30 s)",
    atDeadline: 'the app starts again (a primary that has not passed its checks checks first)',
    whileStopping: false,
    deadline: (s) => (s.phase === 'restarting' ? s.app.restartAt : undefined),
  },
  'app-ready-timeout': {
    rule: 'section 6, readiness',
    waitsFor: 'the app to answer its readiness probe (--app-ready-timeout)',
    atDeadline: 'the app is stopped and the run exits 6',
    whileStopping: false,
    deadline: (s) => (s.app.status === 'running' && !s.app.ready ? s.app.readyBy : undefined),
  },
  'fence-timeout': {
    rule: 'S4',
    waitsFor:
      'the fence to end (--fence-timeout of fenced time, added up over 10 minutes); none for a history-lost primary that retired a mark, which keeps the lease (S13)',
    atDeadline: 'the run exits 4, so LiteFS releases the lease',
    whileStopping: false,
    deadline: (s, config, now) =>
      s.fence && !s13KeepsLease(dbViewsOf(s.observation, config), s.hwm.retired)
        ? fenceExitAt(s, s.fence, config, now)
        : undefined,
  },
  'handoff-retry': {
    rule: 'S4',
    waitsFor: 'the next handoff attempt of a fenced node (every 3 s)',
    atDeadline: 'the evidence is gathered afresh: the lease is handed off, or the fence ends',
    whileStopping: false,
    deadline: (s, config) => {
      const fence = s.fence;
      if (!fence || !gathersEvidence(config)) return undefined;
      if (s.peers?.purpose === 'check' && s.peers.token !== fence.usedToken) return undefined;
      if (s.selfHalt !== undefined) return undefined; // self-halt-hold first (S7)
      return handoffRetryAt(fence);
    },
  },
  'handback-retry': {
    rule: 'S14',
    waitsFor:
      'the next hand-back try of a primary whose app cannot serve: 500 ms after an answer with no candidate, 3 s after a handoff whose move did not come',
    atDeadline: 'the peers are asked again for a synced candidate whose app is ready',
    whileStopping: false,
    deadline: (s) => {
      const hb = s.handBack;
      if (!hb || s.role !== 'primary' || hb.asked !== undefined) return undefined;
      return handBackRetryAt(hb);
    },
  },
  'reclaim-retry': {
    rule: 'S14',
    waitsFor: 'the lease to come back after a request to take it back (--promote-timeout)',
    atDeadline: 'it asks again (at most 3 requests)',
    whileStopping: false,
    deadline: (s, config) =>
      s.handBack && s.role === 'replica' ? reclaimRetryAt(s.handBack, config) : undefined,
  },
  'compact-timeout': {
    rule: 'Compaction',
    waitsFor: 'a compaction to end (--compact-timeout)',
    atDeadline:
      'it aborts: the copy is removed, nothing imported, the app started again (an import already sent is waited for)',
    whileStopping: false,
    deadline: (s) => {
      const c = s.compaction;
      return c && !c.abort && c.stage !== 'importing' && c.stage !== 'discarding'
        ? c.until
        : undefined;
    },
  },
  'self-halt-hold': {
    rule: 'S7',
    waitsFor:
      "the end of the longest hold of this node's own write lock, taken while a new primary whose app runs checks its databases (2 s after it was asked for)",
    atDeadline: 'the lock is released, whether the checks ended or not',
    whileStopping: true,
    deadline: (s) => selfHaltReleaseAt(s),
  },
  'sync-timeout': {
    rule: 'section 9',
    waitsFor: 'LiteFS, a primary, sync or a readable db (--sync-timeout; 0: forever)',
    atDeadline: 'the run exits 5',
    whileStopping: false,
    deadline: (s, config) =>
      WAITING.has(s.phase) && !(s.phase === 'checking' && asking(s, 'check'))
        ? syncTimeoutAt(s, config)
        : undefined,
  },
  'peer-retry': {
    rule: 'S3',
    waitsFor: 'peers that did not answer a primary’s checks (asked again every 3 s)',
    atDeadline: 'the peers are asked again',
    whileStopping: false,
    deadline: (s) => {
      const q = s.peers;
      return s.phase === 'checking' && q?.purpose === 'check' && q.report
        ? peerRetryAt(q)
        : undefined;
    },
  },
  'peer-wait': {
    rule: 'S3',
    waitsFor: 'every peer and the cluster record to answer an empty primary (--peer-wait)',
    atDeadline: 'the checks decide without them: fenced, unless --bootstrap force',
    whileStopping: false,
    deadline: (s, config) => {
      const q = s.peers;
      return s.phase === 'checking' && q?.purpose === 'check' && q.report
        ? peerWaitEndsAt(q, config)
        : undefined;
    },
  },
  'promote-retry': {
    rule: 'S5',
    waitsFor: 'the lease after a promotion request (--promote-timeout)',
    atDeadline: 'it asks again, or after 3 requests starts the app as a replica',
    whileStopping: false,
    deadline: (s, config) =>
      s.phase === 'promoting' && !s.promote.done ? promoteRetryAt(s, config) : undefined,
  },
  'record-retry': {
    rule: 'section 3, cluster record',
    waitsFor: 'the next write of the cluster record after one that did not land (10 s)',
    atDeadline: 'it writes again if the record still lacks a db',
    whileStopping: false,
    deadline: (s) =>
      s.role === 'primary' && s.term.cleared && !s.fence && s.record.writing === undefined
        ? s.record.retryAt
        : undefined,
  },
  'migrate-retry': {
    rule: 'S1, S14',
    waitsFor:
      "a failed migration's next try (1 s, 2 s, 4 s...; every 5 minutes beside a running app)",
    atDeadline:
      'the migration runs again, re-confirmed by a fresh /info (a node that handed the lease back takes it again first)',
    whileStopping: false,
    deadline: (s, config) => {
      // On a primary whose checks passed while no command or backup is under way; on a node that handed the
      // lease back (S14) until it asks for it again, once synced (reclaim-retry then).
      const hb = s.handBack;
      const waits =
        s.role === 'primary'
          ? s.term.cleared && !s.fence && s.current === undefined && s.backupsPending.length === 0
          : s.role === 'replica' &&
            hb?.why === 'retry' &&
            hb.lastReclaimAt === undefined &&
            syncOf(s.observation, config.maxLag).synced;
      return waits ? migrationRetryAt(s) : undefined;
    },
  },
};

/** Whether the wait `why` ends now in this state (its step acts). */
export function due(why: WakeReason, s: SupervisorState, config: Policy, now: number): boolean {
  return reached(WAITS[why].deadline(s, config, now), now);
}

/**
 * The earliest deadline after `now` of the waits that apply in this state, or undefined (a
 * deadline at or before `now` was acted on by its step: checkInvariants holds steps to that).
 */
export function nextWake(s: SupervisorState, config: Policy, now: number): Wake | undefined {
  if (s.exited !== undefined) return undefined;
  let wake: Wake | undefined;
  for (const [why, w] of Object.entries(WAITS) as [WakeReason, WaitSpec][]) {
    // Stopping: nothing new starts, so only the waits of a stop matter.
    if (s.shutdown && !w.whileStopping) continue;
    const at = w.deadline(s, config, now);
    if (at !== undefined && at > now && (wake === undefined || at < wake.at)) wake = { at, why };
  }
  return wake;
}

/**
 * The waits that apply and are not covered: a deadline ahead that the wake does not reach in
 * time, or one that has come while its step did not act. For checkInvariants.
 */
export function uncoveredWaits(s: SupervisorState, config: Policy, now: number): string[] {
  if (s.exited !== undefined) return [];
  const out: string[] = [];
  for (const [why, w] of Object.entries(WAITS) as [WakeReason, WaitSpec][]) {
    if (s.shutdown && !w.whileStopping) continue;
    const at = w.deadline(s, config, now);
    if (at === undefined) continue;
    if (at <= now) out.push(`${why} ended at ${at} (now ${now}) but its step did not act`);
    else if (s.wake === undefined || s.wake.at > at) {
      out.push(
        `${why} ends at ${at} but the wake is ${s.wake ? `${s.wake.why} at ${s.wake.at}` : 'none'}`,
      );
    }
  }
  return out;
}
