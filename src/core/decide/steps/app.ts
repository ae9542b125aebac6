// The app's lifecycle once it was started: the restart backoff ends (--restart), and while it
// runs (or starts, stops, waits to restart) nothing else starts, except S7: a node whose app
// runs and that becomes primary passes the primary checks and migrates at once.

import type { SupervisorState } from '../../state.js';
import { due } from '../deadlines.js';
import type { Draft, Verdict } from '../draft.js';
import { migrate } from './migrate.js';
import { checkPrimary } from './primary.js';

/**
 * The restart backoff is over: it counts as a restart (--restart-max) either way. The app
 * starts again at once, unless this node became primary during the backoff: then, as at a
 * first start, its checks (S2/S3, fenced if behind) and migrations come before the app (the
 * steps after this one take that path from `checking`). Restarting it directly would run the
 * app as primary on a database nobody checked, until S7 noticed and stopped it.
 */
export function restartWhenDue(d: Draft): Verdict {
  const s = d.s;
  if (s.shutdown || !due('restart', s, d.config, d.now)) {
    return 'continue';
  }
  s.app.restarts += 1;
  s.app.restartTimes = [...s.app.restartTimes, d.now];
  s.app.restartAt = undefined;
  if (s.role === 'primary' && (!s.term.cleared || migrationsOwed(s))) {
    d.enter(
      'checking',
      `this node became primary while the app waited to restart (restart ${s.app.restarts}); checking its databases before the app starts`,
      'primary.check',
      {},
    );
    return 'continue';
  }
  d.startApp('restart');
  return 'continue';
}

/**
 * A primary still owes its migrations this term: not all ran in this run, and the lease was not
 * handed back to it by a node that runs them itself (S14).
 */
export function migrationsOwed(s: SupervisorState): boolean {
  return !s.migrationsDone && s.term.handedBackBy === undefined;
}

/** The app is started, running, stopping or waiting to restart. */
export function appActive(s: SupervisorState): boolean {
  const st = s.app.status;
  return st === 'starting' || st === 'running' || st === 'stopping' || s.phase === 'restarting';
}

export function appLifecycle(d: Draft): Verdict {
  const s = d.s;
  if (!appActive(s)) return 'continue';
  if (
    s.role === 'primary' &&
    (!s.term.cleared || migrationsOwed(s)) &&
    s.app.status === 'running'
  ) {
    // S7: the checks at once; with --on-promotion migrate the migrations run beside the app.
    if (checkPrimary(d, true) === 'continue') migrate(d, true);
  } else if (s.phase !== 'running' && s.app.status === 'running' && !s.current) {
    d.enter('running', 'app running', 'state.running', {});
  }
  return 'done';
}
