// The real-LiteFS harness for tap (testkit/real-litefs.ts does the work): a test file calls
// skipUnlessReal(t) first, so without LiteFS, root or FUSE it reports itself skipped with why.
// The assertLeaseBy* helpers say how the lease moved, from what Consul (the stand-in) held at
// each moment, so a claim like "released at once" cannot pass because a TTL ran out instead.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Test } from 'tap';
import {
  describeLease,
  type LeaseSample,
  type LeaseWatch,
  type LitefsInfoBody,
  type LitefsNode,
  realSkipReason,
} from '../../testkit/real-litefs.js';

export * from '../../testkit/real-litefs.js';

/** Plan-skips the file (with the reason printed) when real LiteFS cannot run; true if skipped. */
export function skipUnlessReal(t: Test): boolean {
  const reason = realSkipReason();
  if (reason === undefined) return false;
  t.comment(`real LiteFS suite skipped: ${reason}`);
  t.plan(0, reason);
  return true;
}

/** LiteFS's /info of a node, or `{ error }` when it does not answer (so t.match says why). */
export function infoOrError(n: LitefsNode): Promise<LitefsInfoBody | { error: string }> {
  return n.info().catch((err: Error) => ({ error: `${n.name} /info: ${err.message}` }));
}

export interface LeaseMove {
  /** The node that held the lease (its lease.hostname is its name). */
  from: LitefsNode;
  /** The node that takes it, when one should. */
  to?: LitefsNode;
  /** When the action that moves the lease began (ms since epoch); the watch started before. */
  since: number;
  /** How long to wait for each step in Consul (default 20 s). */
  timeoutMs?: number;
}

const heldFor = (name: string) => (s: LeaseSample) =>
  s.key?.session !== undefined && s.key.hostname === name;
const alive = (s: LeaseSample, id: string) => s.sessions.some((x) => x.id === id);

/** The last sample before `i` in which `name` held the key. */
function lastHeldBefore(samples: LeaseSample[], i: number, name: string): number {
  for (let j = i - 1; j >= 0; j -= 1) if (heldFor(name)(samples[j]!)) return j;
  return -1;
}

/** When the session's TTL window ends, as of the last sample that shows it (ms since epoch). */
function windowEnd(samples: LeaseSample[], id: string, before = Number.POSITIVE_INFINITY) {
  let end: number | undefined;
  for (const s of samples) {
    if (s.at >= before) break;
    const ms = s.sessions.find((x) => x.id === id)?.expiresInMs;
    if (ms !== undefined && ms !== null) end = s.at + ms;
  }
  return end;
}

const short = (id: string | undefined) => id?.slice(0, 8) ?? 'none';

/** The lease key's changes around a move: with REAL_VERBOSE, and whenever the test is failing. */
function comment(t: Test, what: string, watch: LeaseWatch, since: number): void {
  if (process.env.REAL_VERBOSE || !t.passing()) {
    t.comment(
      `${what}, in Consul:\n${describeLease(watch.samples().filter((s) => s.at >= since - 500))}`,
    );
  }
}

/**
 * A handoff (LiteFS's AcquireExisting): the old primary passes its lease ID to the new one,
 * which re-acquires the key with that same session and writes its own hostname and advertise
 * URL into it. So: the same session, the new holder in the value, the key never unlocked or
 * deleted on the way, no lock-delay (Consul starts one only when a session holding the key
 * ends). Returns the session.
 */
export async function assertLeaseByHandoff(
  t: Test,
  watch: LeaseWatch,
  { from, to, since, timeoutMs }: LeaseMove,
): Promise<string | undefined> {
  if (!to) throw new Error('assertLeaseByHandoff: a handoff needs `to`');
  const after = await watch.until(heldFor(to.name), {
    since,
    timeoutMs,
    message: `Consul: the lease key held for ${to.name}`,
  });
  const samples = watch.samples();
  const i = samples.indexOf(after);
  const b = lastHeldBefore(samples, i, from.name);
  if (!t.ok(b >= 0, `Consul: ${from.name} held the lease key before ${to.name}`)) return;
  const before = samples[b]!;
  const session = before.key!.session!;
  const between = samples.slice(b, i + 1);
  t.equal(
    short(after.key?.session),
    short(session),
    `handoff: ${to.name} holds the key with ${from.name}'s Consul session (the same lease)`,
  );
  t.equal(after.key?.advertiseURL, to.url, `handoff: the key names ${to.name}'s advertise URL`);
  t.same(
    between.filter((s) => !s.key?.session).map((s) => s.at - since),
    [],
    'handoff: the key was never unlocked or deleted on the way (ms after the action)',
  );
  t.same(
    between.filter((s) => s.lockDelayMs !== undefined).map((s) => s.at - since),
    [],
    'handoff: no lock-delay ran',
  );
  t.ok(
    between.every((s) => alive(s, session)),
    `handoff: session ${short(session)} lived throughout`,
  );
  comment(t, `${from.name} -> ${to.name}`, watch, since);
  return session;
}

/**
 * A release (LiteFS's Lease.Close as a primary exits without a handoff: it releases the key
 * with its session, which leaves the key unlocked and empty, then destroys the session): the
 * key unlocked but not deleted, the session gone before its TTL window ended, and no
 * lock-delay (Consul starts one for the keys a session still holds when it ends; this one held
 * none any more). With `to`, the next holder took the key with a session of its own.
 */
export async function assertLeaseByRelease(
  t: Test,
  watch: LeaseWatch,
  { from, to, since, timeoutMs }: LeaseMove,
): Promise<void> {
  const changed = await watch.until((s) => !heldFor(from.name)(s), {
    since,
    timeoutMs,
    message: `Consul: the lease key no longer held for ${from.name}`,
  });
  const samples = watch.samples();
  const b = lastHeldBefore(samples, samples.indexOf(changed), from.name);
  if (!t.ok(b >= 0, `Consul: ${from.name} held the lease key before`)) return;
  const session = samples[b]!.key!.session!;
  const gone = await watch.until((s) => !alive(s, session), {
    since: samples[b]!.at,
    timeoutMs,
    message: `Consul: session ${short(session)} ended`,
  });
  const end = windowEnd(samples, session, gone.at);
  t.ok(
    changed.key !== undefined && changed.key.session === undefined,
    `release: the key unlocked, not deleted (${changed.key ? `lock index ${changed.key.lockIndex}` : 'deleted'})`,
  );
  t.equal(changed.key?.value, '', 'release: its value cleared (a release carries no value)');
  t.ok(
    end !== undefined && gone.at < end - 100,
    `release: session ${short(session)} destroyed ${end === undefined ? '?' : end - gone.at} ms before its TTL window would end`,
  );
  const upTo = to ? (await watch.until(heldFor(to.name), { since, timeoutMs })).at : gone.at + 500;
  t.same(
    samples
      .filter((s) => s.at >= samples[b]!.at && s.at <= upTo && s.lockDelayMs !== undefined)
      .map((s) => s.at - since),
    [],
    'release: no lock-delay ran',
  );
  if (to) {
    const next = await watch.until(heldFor(to.name), { since, timeoutMs });
    t.ok(
      next.key?.session !== undefined && next.key.session !== session,
      `release: ${to.name} took the key with a new session (${short(next.key?.session)})`,
    );
  }
  comment(t, `${from.name} released the lease`, watch, since);
}

/**
 * An expiry (the holder stopped renewing, e.g. its LiteFS died): its session lived out the
 * TTL window (no renewal after `since`), ended holding the key, so Consul deleted the key (LiteFS
 * creates sessions with Behavior "delete") and started its lock-delay; `to` then took the key
 * with a new session, after the window and the lock-delay.
 */
export async function assertLeaseByExpiry(
  t: Test,
  watch: LeaseWatch,
  { from, to, since, timeoutMs }: LeaseMove,
): Promise<void> {
  const samples = watch.samples();
  const firstAfter = samples.findIndex((s) => s.at >= since);
  const b = lastHeldBefore(samples, firstAfter < 0 ? samples.length : firstAfter + 1, from.name);
  if (!t.ok(b >= 0, `Consul: ${from.name} held the lease key when it stopped renewing`)) return;
  const session = samples[b]!.key!.session!;
  const gone = await watch.until((s) => !alive(s, session), {
    since: samples[b]!.at,
    timeoutMs,
    message: `Consul: session ${short(session)} ended`,
  });
  const all = watch.samples();
  const end = windowEnd(all, session, gone.at);
  // The window as the first sample from `since` on shows it: a renewal after that moves it.
  const first = all.find((s) => s.at >= since && alive(s, session));
  const ms = first?.sessions.find((x) => x.id === session)?.expiresInMs;
  const endAtSince = first && typeof ms === 'number' ? first.at + ms : end;
  t.ok(
    end !== undefined && endAtSince !== undefined && end - endAtSince < 100,
    `expiry: session ${short(session)} not renewed after the holder stopped`,
  );
  t.ok(
    end !== undefined && gone.at >= end - 100,
    `expiry: session ${short(session)} ended with its TTL window (${end === undefined ? '?' : gone.at - end} ms after its end)`,
  );
  const lastHeld = all[lastHeldBefore(all, all.indexOf(gone), from.name)];
  t.ok(lastHeld?.key?.session === session, `expiry: it still held the key when it ended`);
  t.equal(gone.key, undefined, 'expiry: the key deleted with the session (Behavior "delete")');
  t.ok(
    gone.lockDelayMs !== undefined && gone.lockDelayMs > 0,
    `expiry: a lock-delay started on the key (${gone.lockDelayMs} ms left)`,
  );
  if (to) {
    const next = await watch.until(heldFor(to.name), { since: gone.at, timeoutMs });
    t.ok(
      next.key?.session !== undefined && next.key.session !== session,
      `expiry: ${to.name} took the key with a new session (${short(next.key?.session)}) ${next.at - gone.at} ms after the window ended`,
    );
    t.ok(
      next.at >= gone.at + (gone.lockDelayMs ?? 0) - 100,
      'expiry: not before the lock-delay ended',
    );
  }
  comment(t, `${from.name}'s session expired`, watch, since);
}

/**
 * The lease stayed where it was: from `since` until now, every sample shows the key held for
 * `node` by one and the same session (a lease that left and came back would show a new one).
 */
export function assertLeaseKept(
  t: Test,
  watch: LeaseWatch,
  { node, since }: { node: LitefsNode; since: number },
): void {
  const samples = watch.samples().filter((s) => s.at >= since);
  const seen = [
    ...new Set(
      samples.map((s) => (heldFor(node.name)(s) ? short(s.key!.session) : 'not held for it')),
    ),
  ];
  t.ok(
    samples.length > 0 && seen.length === 1 && seen[0] !== 'not held for it',
    `Consul: the key held for ${node.name} by one session throughout (${samples.length} samples: ${seen.join(', ')})`,
  );
}

/** The `writes` keys in a node's file, read through its mount. */
export function keysOn(n: LitefsNode): Set<string> {
  const file = join(n.mountDir, 'app.db');
  if (!existsSync(file)) return new Set();
  const db = new Database(file, { readonly: true, fileMustExist: true, timeout: 2000 });
  try {
    const has = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'writes'").get();
    if (!has) return new Set();
    return new Set(db.prepare('SELECT key FROM writes').pluck().all() as string[]);
  } finally {
    db.close();
  }
}
