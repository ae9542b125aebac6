// `before-mount`'s decision (docs/design.md section 1, "Before the mount"): how long a starting
// candidate leaves a free lease to the nodes already running, from what it saw in Consul.
// LiteFS 0.5.11 (consul/consul.go, store.go monitorLease) asks for a free lease at once while it
// mounts, before any exec command runs; a running node asks again only every reconnect-delay.
// So a node that starts right after a lease is freed can take it with an older database, and
// LiteFS then replaces the running nodes' newer data with it (docs/litefs-facts.md, "A free lease
// goes to the first candidate"). Pure: what was seen and the litefs.yml values come in.

/** What one GET of the lease key (and, when it is absent, of its cluster ID key) showed. */
export type LeaseSeen =
  /** The key is held by a session: a primary exists (its PrimaryInfo hostname, '' if unread). */
  | { kind: 'held'; holder: string }
  /** The key exists with no session: a clean stop released it (KV Release, then Destroy). */
  | { kind: 'released' }
  /** The key is absent while `<lease key>/clusterid` exists: an expired session deleted it. */
  | { kind: 'expired' }
  /** The key and the cluster ID are both absent: no cluster has ever run under this key. */
  | { kind: 'new' }
  /** Consul did not answer, or answered an error. */
  | { kind: 'error'; error: string };

/** litefs.yml's lease timings in ms (LiteFS's defaults where unset). */
export interface LeaseTimings {
  reconnectDelayMs: number;
  ttlMs: number;
  lockDelayMs: number;
}

/** The margin over the computed time: a running node's claim takes a round trip to Consul. */
export const FREE_LEASE_MARGIN_MS = 500;

export type FreeLeaseVerdict =
  | { action: 'go'; reason: 'held' | 'new' | 'error' }
  /** Poll until a session holds the key, at most `boundMs`. */
  | { action: 'wait'; reason: 'released' | 'expired'; boundMs: number; computedMs: number };

/**
 * The longest a running candidate can take to claim a free lease: after a release, its next try
 * (one reconnect-delay; two, since a try may just have been refused); after an expiry, also the
 * primary's renewal that notices it (TTL/2) and Consul's lock-delay on the deleted key.
 */
export function freeLeaseBoundMs(kind: 'released' | 'expired', t: LeaseTimings): number {
  const retries = 2 * Math.max(0, t.reconnectDelayMs) + FREE_LEASE_MARGIN_MS;
  if (kind === 'released') return retries;
  return Math.max(0, t.ttlMs) / 2 + Math.max(0, t.lockDelayMs) + retries;
}

/**
 * What to do before `litefs mount`. `maxWaitMs` (`--max-wait`) caps the computed bound; 0 means
 * never wait. A free lease with a zero bound is still reported as a wait of 0 ms, so the log
 * says what was seen and that waiting was turned off.
 */
export function freeLeaseWait(
  seen: LeaseSeen,
  timings: LeaseTimings,
  maxWaitMs: number | undefined,
): FreeLeaseVerdict {
  if (seen.kind === 'held' || seen.kind === 'new' || seen.kind === 'error') {
    return { action: 'go', reason: seen.kind };
  }
  const computedMs = freeLeaseBoundMs(seen.kind, timings);
  const boundMs = maxWaitMs === undefined ? computedMs : Math.min(computedMs, maxWaitMs);
  return { action: 'wait', reason: seen.kind, boundMs, computedMs };
}
