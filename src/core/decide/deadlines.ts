// Every time decide waits for, in one place: the intervals, the deadline each wait ends at
// (computed from the explicit times in the state), and the wake: the earliest deadline still
// ahead after a decision, which the runner turns into one timer and one `wake` input. Steps
// compare `now` with the same functions on every input, so an input after a deadline acts as
// the wake would have.

import { gathersEvidence, type Policy } from '../policy.js';
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
  return hb.moved || hb.lastAttemptAt === undefined
    ? undefined
    : hb.lastAttemptAt + HANDOFF_RETRY_MS;
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
 * The earliest deadline after `now` that a step of decide waits for in this state, or
 * undefined. Only waits the state is in count (e.g. the restart backoff while `restarting`);
 * a deadline at or before `now` was acted on by its step, or is not what the node waits for
 * (it waits for an answer instead), so it never wakes anyone.
 */
export function nextWake(s: SupervisorState, config: Policy, now: number): Wake | undefined {
  if (s.exited !== undefined) return undefined;
  let wake: Wake | undefined;
  const add = (at: number | undefined, why: WakeReason) => {
    if (at !== undefined && at > now && (wake === undefined || at < wake.at)) wake = { at, why };
  };
  if (s.handover) add(s.handover.until, 'handover-timeout');
  // Stopping: nothing new starts, so no other wait matters (the app's or command's exit ends it).
  if (s.shutdown) return wake;
  if (s.phase === 'restarting') add(s.app.restartAt, 'restart');
  if (s.app.status === 'running' && !s.app.ready) add(s.app.readyBy, 'app-ready-timeout');
  if (s.fence) {
    add(fenceExitAt(s, s.fence, config, now), 'fence-timeout');
    // Each retry gathers the evidence afresh (the peers, the record): a handoff, or the end of
    // the fence when the checks pass again (steps/fence.ts).
    if (gathersEvidence(config)) add(handoffRetryAt(s.fence), 'handoff-retry');
  }
  if (WAITING.has(s.phase)) add(syncTimeoutAt(s, config), 'sync-timeout');
  const q = s.peers;
  if (s.phase === 'checking' && q?.purpose === 'check' && q.report) {
    add(peerRetryAt(q), 'peer-retry');
    add(peerWaitEndsAt(q, config), 'peer-wait');
  }
  if (s.phase === 'promoting' && !s.promote.done) add(promoteRetryAt(s, config), 'promote-retry');
  // The cluster record's next write (steps/record.ts) after one that did not land.
  if (s.role === 'primary' && s.term.cleared && !s.fence) add(s.record.retryAt, 'record-retry');
  const hb = s.handBack;
  if (hb && s.role === 'primary') add(handBackRetryAt(hb), 'handback-retry');
  if (hb && s.role === 'replica') add(reclaimRetryAt(hb, config), 'promote-retry');
  // A failed migration's next try: on the primary, or (S14) on the node that handed the lease
  // back meanwhile and takes it again for the try.
  if (s.role === 'primary' || (hb?.why === 'retry' && s.role === 'replica')) {
    for (const c of s.commands) {
      if (c.kind === 'migrate' && (c.status === 'failed' || c.status === 'timed-out')) {
        add(c.retryAt, 'migrate-retry');
      }
    }
  }
  return wake;
}
