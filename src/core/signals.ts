// The signal sets of the contract, in one place (docs/design.md, S10 and "Exit codes"): which
// signals the supervisor subscribes to, which of them stop it, and which it ends by.

/** The signals the supervisor subscribes to and forwards to the app (docs/design.md, Processes). */
export const FORWARDED_SIGNALS = [
  'SIGTERM',
  'SIGINT',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
] as const;

/** S10: the signals that end the supervisor when no app is running to receive them. */
export const STOP_SIGNALS: ReadonlySet<string> = new Set([
  'SIGTERM',
  'SIGINT',
  'SIGHUP',
  'SIGQUIT',
]);

/**
 * S10: the signals that stop the supervisor too when forwarded to a running app, and the ones a
 * requested stop ends by (re-raised on itself). LiteFS forwards only SIGINT and SIGTERM to its
 * exec process, and after forwarding one it releases the lease and unmounts only if that process
 * exits 0 or dies of a signal (docs/litefs-facts.md, "Exec and signals"). SIGHUP/SIGQUIT end
 * with 128+N instead (SIGQUIT would dump core).
 */
export const SHUTDOWN_SIGNALS: ReadonlySet<string> = new Set(['SIGTERM', 'SIGINT']);
