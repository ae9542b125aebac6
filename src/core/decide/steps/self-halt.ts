// S7: a node that becomes primary while its app runs halts its own writes until its checks
// pass (docs/design.md S7). Its app, running, would otherwise commit writes through LiteFS's
// proxy during the checks; if the checks then find the node behind a peer (S4), the lease goes
// to that peer, LiteFS replaces this node's database with the peer's, and those writes, already
// acknowledged, are gone. So the first thing the checks do is take this node's own write lock
// (LiteFS's HALT lock on every gated db it holds, as the lease moves do: section 4), and the lock goes as soon
// as its reason does:
// - the checks pass: at once (writes that waited then commit: delayed, not lost);
// - fenced: once the app has exited (a write waiting on the lock must not commit here);
// - the lease lost, a stop signal, an exit: at once;
// - in any case HALT_HOLD_MS after it was asked for: LiteFS's lock held for seconds is unsafe
//   (docs/litefs-facts.md). The adapter releases it then on its own too.

import { dbViewsOf } from '../../derive.js';
import type { Input, SupervisorState } from '../../state.js';
import { HALT_HOLD_MS, HALT_WAIT_SERVING_MS } from '../deadlines.js';
import type { Draft } from '../draft.js';

/**
 * S7, the first thing the checks of a term that began with the app running do: ask for this
 * node's own write lock, once per term (a lock still held from a term just before is kept).
 * Not without LiteFS (--standalone: no halt API, and no lease to lose).
 */
export function haltOwnWrites(d: Draft): void {
  const s = d.s;
  if (d.config.standalone || s.term.cleared || s.term.selfHalted) return;
  s.term.selfHalted = true;
  if (s.selfHalt !== undefined) return;
  // The gated dbs this node holds (named here, so the lock is asked for at once: no round trip
  // to list them). LiteFS creates a db a halt names, so one not there is left out: nothing
  // writes to it through LiteFS's proxy before the checks, which see it absent.
  const dbs = dbViewsOf(s.observation, d.config)
    .filter((db) => db.exists)
    .map((db) => db.name);
  if (dbs.length === 0) return;
  s.selfHalt = { status: 'asking', since: d.now, waitedMs: undefined };
  d.actions.push({ type: 'halt-self', dbs, waitMs: HALT_WAIT_SERVING_MS });
}

/** Why the lock is released now, or undefined while it is still wanted. */
function releaseReason(s: SupervisorState, now: number): string | undefined {
  const halt = s.selfHalt;
  if (halt === undefined) return undefined;
  if (s.exited !== undefined || s.shutdown) return 'the supervisor is stopping';
  if (s.role !== 'primary') return `the lease was lost during the checks (role ${s.role})`;
  if (now >= halt.since + HALT_HOLD_MS) return `held for its limit of ${HALT_HOLD_MS} ms`;
  if (s.fence) {
    const st = s.app.status;
    return st === 'running' || st === 'starting' || st === 'stopping'
      ? undefined
      : 'fenced, and the app has exited';
  }
  return s.term.cleared ? 'the checks passed' : undefined;
}

/**
 * Releases the lock once it is no longer wanted (run before and after the steps of every
 * decision, so no step's outcome leaves it held). A lock still asked for is released when its
 * answer comes.
 */
export function settleSelfHalt(d: Draft): void {
  const s = d.s;
  const halt = s.selfHalt;
  if (halt?.status !== 'held') return;
  const why = releaseReason(s, d.now);
  if (why === undefined) return;
  s.selfHalt = undefined;
  const waitedMs = halt.waitedMs ?? 0;
  d.log(
    'info',
    'halt.held',
    `this node's writes were halted while it checked its databases as a new primary with its app running (S7): lock taken in ${waitedMs} ms, released: ${why}`,
    { check: 'S7', waitedMs, heldMs: d.now - halt.since - waitedMs, released: why },
  );
  d.actions.push({ type: 'unhalt-self' });
}

/** The adapter's answers: the lock taken or not; a release that failed. */
export function recordSelfHalt(
  d: Draft,
  input: Extract<Input, { type: 'self-halt-result' | 'self-unhalt-result' }>,
): void {
  const s = d.s;
  if (input.type === 'self-unhalt-result') {
    if (input.error !== undefined) {
      d.log(
        'warn',
        'halt.release-fail',
        `releasing this node's own write lock (S7 checks) failed: ${input.error}; LiteFS drops it after 30 s, writes on this node wait until then`,
        { check: 'S7' },
      );
    }
    return;
  }
  const halt = s.selfHalt;
  if (halt?.status !== 'asking') {
    // Not asked for now (cannot happen: one lock at a time): never leave it held.
    if (input.halt.kind === 'held') d.actions.push({ type: 'unhalt-self' });
    return;
  }
  if (input.halt.kind === 'skipped') {
    s.selfHalt = undefined;
    d.log(
      'warn',
      'halt.skipped',
      `the checks of this new primary (S7) go on without halting its writes: ${input.halt.why}; a write its app commits before they end is lost if they fence this node`,
      { check: 'S7' },
    );
    return;
  }
  s.selfHalt = { status: 'held', since: halt.since, waitedMs: d.now - halt.since };
  d.log(
    'debug',
    'halt.take',
    `this node's writes are halted while its checks run (S7): ${input.halt.dbs.join(', ')}`,
    { check: 'S7', dbs: input.halt.dbs.join(','), waitedMs: input.halt.waitedMs },
  );
}
