// The exit-code contract (docs/design.md section 9, docs/design.md section 12, point 8): a child's own code, or 128+N
// when signal N killed it, like a shell or tini; 126/127 when a program cannot be started.
// Never -1, never null. Pure: the numbers are a static table rather than os.constants.signals
// so the core imports nothing from node: (docs/design.md section 12, point 1); the tests check the table against
// os.constants.signals.

/**
 * Linux signal numbers (x86-64 and arm64 share them) for every name Node reports on Linux,
 * aliases included (SIGIOT = SIGABRT, SIGPOLL = SIGIO, SIGUNUSED = SIGSYS).
 */
export const LINUX_SIGNAL_NUMBERS = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGIOT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPOLL: 29,
  SIGPWR: 30,
  SIGSYS: 31,
  SIGUNUSED: 31,
} as const satisfies Partial<Record<NodeJS.Signals, number>>;

export type LinuxSignal = keyof typeof LINUX_SIGNAL_NUMBERS;

/**
 * What `exitCodeOf` returns when the input does not say how the child ended (neither a code nor
 * a signal we can number). It is docs/design.md's "internal error" code: such an input is a bug in
 * the caller (a spawn failure belongs to `spawnFailureExitCode`), and it must never read as
 * success. SIGBREAK, SIGLOST and SIGINFO, the only NodeJS.Signals names missing from the
 * table, do not exist on Linux.
 */
export const UNKNOWN_EXIT_CODE = 70;

/** Exit code when a program could not be started: 127 not found, 126 found but not runnable. */
export const EXIT_NOT_FOUND = 127;
export const EXIT_NOT_EXECUTABLE = 126;

/**
 * The codes the supervisor itself chooses (DESIGN section 9 in docs/design.md): the one home for
 * them, used by decide, the runner, the CLI and the process layer.
 */
export const EXIT = {
  /** Bad configuration (flags, config file, litefs.yml). */
  config: 2,
  /** A --before/--migrate command failed or timed out, a backup failed, or the disk guard refused. */
  commandFailed: 3,
  /** Fenced and could not hand off (S4). */
  fenced: 4,
  /** LiteFS, a primary or sync not reached within --sync-timeout. */
  syncTimeout: 5,
  /** The app never became ready (--app-ready) within --app-ready-timeout; it was stopped. */
  appNotReady: 6,
  /** An internal error (a bug): never success, never a code that reads as a signal. */
  internal: UNKNOWN_EXIT_CODE,
} as const;

/** The Linux number of a signal name, or undefined for a name Linux does not have. */
export function signalNumber(name: string): number | undefined {
  return Object.hasOwn(LINUX_SIGNAL_NUMBERS, name)
    ? LINUX_SIGNAL_NUMBERS[name as LinuxSignal]
    : undefined;
}

/**
 * The exit code for "ended by signal `name`": 128+N like a shell or tini. A name Linux cannot
 * number has no such code: it is the internal-error code (70), never a guess such as 128+15,
 * which would claim a SIGTERM that did not happen. The supervisor subscribes only to named
 * signals (FORWARDED_SIGNALS), so 70 here means a caller passed a name it should not have.
 */
export function signalExitCode(name: string): number {
  const n = signalNumber(name);
  return n === undefined ? UNKNOWN_EXIT_CODE : 128 + n;
}

/**
 * How a finished child maps to an exit code, given what Node (`exit` event) or execa (result)
 * reports: exactly one of `exitCode` and `signal` is set. A signal wins if both are.
 */
export function exitCodeOf(end: {
  exitCode: number | null | undefined;
  signal: string | null | undefined;
}): number {
  if (end.signal !== null && end.signal !== undefined) return signalExitCode(end.signal);
  if (typeof end.exitCode === 'number' && Number.isInteger(end.exitCode)) {
    // The kernel keeps only the low 8 bits of a status (exit(-1) is seen as 255, exit(300) as
    // 44); masking keeps us in 0-255 whatever a caller passes.
    return end.exitCode & 0xff;
  }
  return UNKNOWN_EXIT_CODE;
}

/**
 * The shell's answer when exec fails (docs/design.md section 6): 127 when the program does not exist
 * (ENOENT), 126 for every other reason (EACCES: no exec bit or a directory, ENOEXEC, ENOTDIR,
 * ...), as bash and dash do.
 */
export function spawnFailureExitCode(errnoCode: string | undefined): 126 | 127 {
  return errnoCode === 'ENOENT' ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE;
}
