// Writes halted across a lease move (docs/design.md section 4, "Writes halted across a lease
// move"). LiteFS's handoff lets the old primary commit once more after the new primary took the
// lease: that commit is on the old primary alone, and a snapshot replaces it when the old primary
// reconnects as a replica (docs/litefs-facts.md, "A handoff can lose an acknowledged write").
// Holding the old primary's write lock (LiteFS's HALT lock) from before the move until that node
// no longer says it is primary leaves no moment for such a commit: a transaction in flight
// commits before the lock is granted and is streamed before the handoff frame; one that starts
// later waits for the lock and then fails as a replica's write. A failed write, never a lost one.

import { HALT_HOLD_MS } from '../core/decide/deadlines.js';
import type { HaltOutcome, HaltTaken } from '../core/litefs-types.js';
import { LitefsClient, type LitefsResult } from './client.js';

/** The longest the lock is held after the move was asked for (a move that never comes). */
export { HALT_HOLD_MS };
/** How often the halted node is asked whether it is still primary while the lock is held. */
export const HALT_POLL_MS = 10;

/** The node whose writes are halted: the primary the lease moves away from. */
export interface HaltNode {
  /** Its LiteFS API origin, for messages. */
  url: string;
  /** Whether it says it is primary now (/info); an error when it does not answer. */
  isPrimary(): Promise<LitefsResult<boolean>>;
  /** The dbs it holds (/debug/vars). */
  dbNames(): Promise<LitefsResult<string[]>>;
  halt(name: string, id: bigint): Promise<LitefsResult<undefined>>;
  unhalt(name: string, id: bigint): Promise<LitefsResult<undefined>>;
}

export interface HaltOptions<R> {
  node: HaltNode;
  /** The move itself: a handoff on this node, or a promotion asked of another. */
  move: () => Promise<R>;
  /** Identifies this lock to LiteFS (a random positive integer below 2^53: randomLockId). */
  lockId: bigint;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** The longest wait for the write lock before the move goes ahead without it. */
  waitMs: number;
  holdMs?: number;
  pollMs?: number;
}

/** Runs `move` with `node`'s writes halted across it where that can be done in time. */
export async function withWritesHalted<R extends { ok: boolean }>(
  o: HaltOptions<R>,
): Promise<R & { halt: HaltOutcome }> {
  const started = o.now();
  const taken = await takeWriteLocks(o);
  if (taken.kind === 'skipped') return { ...(await o.move()), halt: taken };

  const { dbs, waitedMs } = taken;
  const release = () => Promise.all(dbs.map((name) => o.node.unhalt(name, o.lockId)));
  let result: R;
  try {
    result = await o.move();
    if (result.ok) await waitUntilNotPrimary(o);
  } catch (err) {
    await release(); // the node carries on as primary: never leave its writes halted
    throw err;
  }
  const heldMs = o.now() - started - waitedMs;
  const failed = (await release()).find((r) => !r.ok);
  const halt: HaltOutcome = { kind: 'held', dbs, waitedMs, heldMs };
  if (failed !== undefined && !failed.ok) halt.releaseError = failed.error;
  return { ...result, halt };
}

/**
 * Takes the write lock of every db `node` holds, with `lockId`, if it is the primary and every
 * lock is granted within `waitMs`; otherwise holds none (a lock LiteFS grants later, or has
 * granted, is released as soon as its answer arrives, so it is never held longer than a round
 * trip) and says why.
 */
export async function takeWriteLocks(
  o: Pick<HaltOptions<unknown>, 'node' | 'lockId' | 'now' | 'sleep' | 'waitMs'>,
): Promise<HaltTaken> {
  const started = o.now();
  const primary = await o.node.isPrimary();
  if (!primary.ok) return { kind: 'skipped', why: primary.error };
  if (!primary.value) return { kind: 'skipped', why: `${o.node.url} is not the primary` };
  const names = await o.node.dbNames();
  if (!names.ok) return { kind: 'skipped', why: names.error };
  if (names.value.length === 0) {
    return { kind: 'skipped', why: `${o.node.url} lists no database` };
  }
  return lockAll(o, [...names.value].sort(), started);
}

/** The write lock of each of `dbs` on `node`, all within `waitMs` of `started`, or none. */
async function lockAll(
  o: Pick<HaltOptions<unknown>, 'node' | 'lockId' | 'now' | 'sleep' | 'waitMs'>,
  dbs: string[],
  started: number,
): Promise<HaltTaken> {
  const locks = dbs.map((name) => ({ name, result: o.node.halt(name, o.lockId) }));
  const all = Promise.all(locks.map((l) => l.result));
  const inTime = await Promise.race([all, o.sleep(o.waitMs).then(() => undefined)]);
  const refused = inTime?.findIndex((r) => !r.ok) ?? -1;
  if (inTime === undefined || refused >= 0) {
    for (const l of locks) void l.result.then((r) => (r.ok ? o.node.unhalt(l.name, o.lockId) : r));
    const refusal = inTime?.[refused];
    const why =
      refusal !== undefined && !refusal.ok
        ? refusal.error
        : `a transaction held the write lock of ${dbs.join(', ')} for ${o.waitMs} ms`;
    return { kind: 'skipped', why };
  }
  return { kind: 'held', dbs, waitedMs: o.now() - started };
}

/** Polls the halted node until it no longer says it is primary, at most `holdMs`. */
async function waitUntilNotPrimary<R>(o: HaltOptions<R>): Promise<void> {
  const until = o.now() + (o.holdMs ?? HALT_HOLD_MS);
  while (o.now() < until) {
    const r = await o.node.isPrimary();
    if (r.ok && !r.value) return;
    await o.sleep(o.pollMs ?? HALT_POLL_MS);
  }
}

/**
 * A HaltNode on the LiteFS API at `url`, with sockets of its own: a halt still waiting for its
 * lock must not hold up the move or the polls on a shared pool. `close` waits for every answer,
 * the late ones included (their release is sent first), then closes the sockets.
 */
export function litefsHaltNode(url: string): HaltNode & { close(): Promise<void> } {
  const client = new LitefsClient({ url, connections: 16 });
  const pending = new Set<Promise<unknown>>();
  const track = <T>(p: Promise<T>): Promise<T> => {
    pending.add(p);
    void p.finally(() => pending.delete(p));
    return p;
  };
  return {
    url: client.url,
    isPrimary: async () => {
      const r = await track(client.info());
      return r.ok ? { ok: true, value: r.value.isPrimary } : r;
    },
    dbNames: async () => {
      const r = await track(client.debugVars());
      return r.ok ? { ok: true, value: Object.keys(r.value.dbs) } : r;
    },
    halt: (name, id) => track(client.halt(name, id)),
    unhalt: (name, id) => track(client.unhalt(name, id)),
    close: async () => {
      while (pending.size > 0) await Promise.allSettled([...pending]);
      await client.close();
    },
  };
}

/**
 * S7 (docs/design.md): this node's own write lock, held while the checks of a primary term that
 * began with the app running are made, so that nothing commits between the lease and the
 * verdict. One at a time, with a lock ID of its own. `release` is idempotent; the lock is also
 * released on its own `holdMs` after it was taken, whatever the caller does: LiteFS's lock held
 * for seconds is unsafe (docs/litefs-facts.md, the halt lock and compaction).
 */
export function selfWriteLock(o: {
  url: string;
  now: () => number;
  holdMs?: number;
  node?: (url: string) => HaltNode & { close(): Promise<void> };
}) {
  let held:
    | {
        node: HaltNode & { close(): Promise<void> };
        lockId: bigint;
        dbs: string[];
        timer: NodeJS.Timeout;
      }
    | undefined;
  let taking: Promise<HaltTaken> | undefined;
  const release = async (): Promise<{ error: string | undefined }> => {
    // A lock still being taken is released once it is granted (a stop while it was asked for).
    if (taking !== undefined) await taking;
    const h = held;
    if (h === undefined) return { error: undefined };
    held = undefined;
    clearTimeout(h.timer);
    const results = await Promise.all(h.dbs.map((name) => h.node.unhalt(name, h.lockId)));
    void h.node.close();
    const failed = results.find((r) => !r.ok);
    return { error: failed !== undefined && !failed.ok ? failed.error : undefined };
  };
  const take = (dbs: string[], waitMs: number): Promise<HaltTaken> => {
    const p = release().then(() => grab(dbs, waitMs));
    taking = p;
    void p.finally(() => {
      if (taking === p) taking = undefined;
    });
    return p;
  };
  // The dbs are decide's (those this node holds): asked for at once, with no /info or
  // /debug/vars first, as every millisecond is one in which the app can commit.
  const grab = async (dbs: string[], waitMs: number): Promise<HaltTaken> => {
    const node = (o.node ?? litefsHaltNode)(o.url);
    const lockId = randomLockId();
    const taken = await lockAll({ node, lockId, waitMs, now: o.now, sleep }, dbs, o.now());
    if (taken.kind === 'skipped') {
      void node.close();
      return taken;
    }
    const timer = setTimeout(() => void release(), o.holdMs ?? HALT_HOLD_MS);
    timer.unref();
    held = { node, lockId, dbs: taken.dbs, timer };
    return taken;
  };
  return { take, release, held: () => held !== undefined };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** A lock ID for LiteFS: a random positive integer below 2^53 (it parses it as an int64). */
export function randomLockId(random: () => number = Math.random): bigint {
  return BigInt(Math.floor(random() * (Number.MAX_SAFE_INTEGER - 1)) + 1);
}
