// Invariants of the supervisor's state, checked by the tests after every decision (like
// Patroni's resolver `check_invariants`): facts that must hold whatever input arrived. decide
// does not call this; the tests' Sim (test/helpers/builders.ts) and the runner tests do, so a
// change to decide that breaks one fails at the step that broke it, not at a later assertion.

import { uncoveredWaits } from './decide/deadlines.js';
import { dbViewsOf } from './derive.js';
import type { Policy } from './policy.js';
import { s13KeepsLease } from './rules.js';
import type { SupervisorState } from './state.js';

/**
 * The invariants `next` breaks, as sentences (empty: none). `prev`, when given, is the state
 * before the decision, for the rules about what a decision may start (S1); `now` (the time of
 * the decision) and `config`, for the rules about deadlines (the wake, decide/deadlines.ts WAITS).
 */
export function checkInvariants(
  next: SupervisorState,
  prev?: SupervisorState,
  now?: number,
  config?: Policy,
): string[] {
  const out: string[] = [];
  const s = next;
  const running = s.commands.filter((c) => c.status === 'running');

  // S4: a fenced node does nothing else until the fence ends (or it stops or exits).
  if (s.fence && s.exited === undefined && s.phase !== 'fenced' && s.phase !== 'stopping') {
    out.push(`fence set (${s.fence.why}) but phase is ${s.phase}`);
  }
  // S4: the fence stops the app; it is never running while fenced.
  if (s.fence && s.app.status === 'running') out.push('app running while fenced');

  // One command at a time, and `current` names it.
  if (running.length > 1) {
    out.push(`${running.length} commands running: ${running.map((c) => c.index).join(', ')}`);
  }
  if (running.length === 1 && s.current?.index !== running[0]?.index) {
    out.push(`command ${running[0]?.index} running but current is ${s.current?.index}`);
  }
  if (s.current && s.commands[s.current.index] === undefined) {
    out.push(`current points at no command (${s.current.index})`);
  }

  // Once an exit is chosen the supervisor is stopping; nothing else is in flight.
  if (s.exited !== undefined && s.phase !== 'stopping') {
    out.push(`exited ${s.exited} but phase is ${s.phase}`);
  }

  // --setup comes first (docs/design.md section 6): until every --setup command succeeded, no
  // other command has started and the app has not.
  const setupLeft = s.commands.filter((c) => c.kind === 'setup' && c.status !== 'done');
  if (setupLeft.length > 0) {
    const started = s.commands.filter((c) => c.kind !== 'setup' && c.status !== 'pending');
    if (started.length > 0) {
      out.push(
        `--${started[0]?.kind} command ${started[0]?.index} started before --setup command ${setupLeft[0]?.index} succeeded`,
      );
    }
    if (s.app.status !== 'not-started') {
      out.push(`app ${s.app.status} before --setup command ${setupLeft[0]?.index} succeeded`);
    }
  }

  // S1: a migration starts only on a primary.
  if (prev) {
    for (const c of s.commands) {
      const before = prev.commands[c.index];
      if (c.kind === 'migrate' && c.status === 'running' && before?.status !== 'running') {
        if (s.role !== 'primary') out.push(`migration ${c.index} started with role ${s.role}`);
      }
    }
  }

  // `running` means the app runs: an exit, a stop or a fence leaves the phase at once.
  if (s.phase === 'running' && s.app.status !== 'running') {
    out.push(`phase running but app is ${s.app.status}`);
  }

  // A handover happens only on the way out.
  if (s.handover && !s.shutdown) out.push('handover without a shutdown');

  // S8: a backup is either pending or taken, not both.
  for (const db of s.backupsPending) {
    if (s.term.backedUp.includes(db)) out.push(`backup of ${db} both pending and taken`);
  }

  // One way to wait (decide/deadlines.ts): every wait that applies is covered by `wake`, and a
  // deadline that has come was acted on by its step (else nothing would ever wake it again).
  if (s.exited === undefined) {
    if (s.phase === 'restarting' && !s.shutdown && s.app.restartAt === undefined) {
      out.push('restarting without a restart time');
    }
    // A history-lost holder that keeps the lease (S13) has no --fence-timeout: its polls, the
    // peers' answers and the repair move it on.
    const keeps =
      config !== undefined && s13KeepsLease(dbViewsOf(s.observation, config), s.hwm.retired);
    if (s.fence && !s.shutdown && s.wake === undefined && !keeps) {
      out.push('fenced without a wake (--fence-timeout must end it)');
    }
    if (s.wake && now !== undefined && s.wake.at <= now) {
      out.push(`wake (${s.wake.why}) at ${s.wake.at} is not after the decision (${now})`);
    }
    if (now !== undefined && config !== undefined) out.push(...uncoveredWaits(s, config, now));
  } else if (s.wake !== undefined) {
    out.push(`exited but wants a wake (${s.wake.why})`);
  }
  return out;
}
