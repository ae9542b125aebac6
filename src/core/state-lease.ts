// The state of a primary term and of the lease changes around it: the fence (S4), the
// handover on stop, S14's hand-back, the term's checks (S2/S3/S8) and S7's own write lock.
// Part of SupervisorState (./state.ts, which re-exports these).

export interface FenceState {
  since: number;
  why: string;
  action: string;
  /** The peers' answer (its token) that fenced it: it never ends the fence (steps/fence.ts). */
  fencedBy: number | undefined;
  /** The answer the last handoff attempt used: the next attempt asks for a new one. */
  usedToken: number | undefined;
  /** Node IDs tried for a handoff, in order; the next attempt takes the next one. */
  attempts: number;
  lastAttemptAt: number | undefined;
  /** A handoff was accepted by LiteFS; waiting for the role to change. */
  handedTo: string | undefined;
}

/**
 * Handover on stop: a primary asked to stop hands the lease to a synced candidate first, bounded by
 * --handoff-timeout; its app keeps running (and writing) until LiteFS shows the move.
 */
export interface HandoverState {
  since: number;
  signal: string;
  /** The node asked to take the lease; undefined while the peers are asked. */
  target: string | undefined;
  /** LiteFS took the /handoff request (not yet the move: docs/litefs-facts.md). */
  accepted: boolean;
  /** since + --handoff-timeout: the app is stopped then at the latest (a deadline: the wake). */
  until: number;
}

/**
 * S14: why this primary's app cannot serve writes: it boots (after the migrations, or a
 * restart), a failed migration waits for its next try, the app crashed and waits for its
 * restart backoff, or a migration's tries are spent.
 */
export type HandBackWhy = 'boot' | 'retry' | 'crash' | 'spent';

/**
 * S14: a primary whose app cannot serve hands the lease to a synced candidate whose app is
 * ready, and (after `boot` when it asked for the lease itself, after `retry` for the next try)
 * takes it back. Lives from the decision to hand back until the lease is back, or for good
 * after `spent`.
 */
export interface HandBackState {
  why: HandBackWhy;
  since: number;
  /** The node asked to take the lease; undefined while the peers are asked. */
  target: string | undefined;
  /** Its LiteFS API, whose writes are halted when the lease is taken back. */
  targetUrl: string | undefined;
  /** The token of this hand-back's question to the peers while it is not used yet. */
  asked: number | undefined;
  /** When the peers were last asked (the next try is due 3 s later, unless the lease moved). */
  lastAttemptAt: number | undefined;
  /** LiteFS shows the lease elsewhere: this node is a replica now. */
  moved: boolean;
  /** Requests to take the lease back (at most PROMOTE_ATTEMPTS) and when the last was. */
  reclaims: number;
  /** `handback.none` was warned about once; the tries after it log at debug. */
  noneWarned: boolean;
  lastReclaimAt: number | undefined;
}

/**
 * What this node has established in its current primary term (S2/S3/S8). A new term starts from
 * scratch: decide replaces the whole object when the role changes away from primary
 * (decide/term.ts, the one place it is reset), with the S1 retry counts of the commands.
 */
export interface PrimaryTerm {
  /** The primary checks (S2/S3) passed. */
  cleared: boolean;
  /** S3: this term's migrations initialise a new cluster. */
  bootstrap: boolean;
  /** S8: backups taken for this term's migrations (db names). */
  backedUp: string[];
  /**
   * S14: the node that handed this node the lease while its own app could not serve (a peer's
   * `/status` said so): a hand-back, not a promotion, so S7 runs no migration for it.
   */
  handedBackBy: string | undefined;
  /** S7: this term's checks asked for this node's own write lock (once per term). */
  selfHalted: boolean;
}

export function newPrimaryTerm(): PrimaryTerm {
  return {
    cleared: false,
    bootstrap: false,
    backedUp: [],
    handedBackBy: undefined,
    selfHalted: false,
  };
}

/**
 * S7: this node's own write lock (LiteFS's HALT lock on every gated db), taken while the checks
 * of a term that began with the app running are made (docs/design.md S7). `asking`: asked for,
 * no answer yet; `held`: granted, to be released. `since`: when it was asked for.
 */
export interface SelfHaltState {
  status: 'asking' | 'held';
  since: number;
  /** How long the lock took to be granted (once held). */
  waitedMs: number | undefined;
}
