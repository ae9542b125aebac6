// Runs one `--before`/`--migrate` command (docs/design.md section 6): `/bin/sh -c` with the env we
// are given, in its own process group, output passed on line by line. Stopping it (S6 lease
// lost, S10 signal forwarded, or its timeout) signals the whole group, then SIGKILLs the group.

import type { Readable } from 'node:stream';
import { execa } from 'execa';
import { exitCodeOf, spawnFailureExitCode } from '../core/exit-code.js';
import { groupStopper } from './group.js';

export type OutputStream = 'stdout' | 'stderr';

export interface CommandOptions {
  /** Shell command line, run as `/bin/sh -c <command>`. */
  command: string;
  /** Names the command in logs, e.g. `migrate[1]`. */
  label: string;
  /** The complete environment of the command (not merged with ours). */
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Stop the command after this long (0 = never). */
  timeoutMs: number;
  /** After a stop signal, SIGKILL the group if it is still alive this much later. */
  killAfterMs: number;
  /** Each output line, without its line ending. A last line without one is passed at the end. */
  onLine: (stream: OutputStream, line: string) => void;
}

export interface CommandResult {
  /** Via `exitCodeOf`: the shell's code, or 128+N when a signal killed the shell. */
  exitCode: number;
  /** The signal that killed the shell, if one did. */
  signal: NodeJS.Signals | undefined;
  /** The timeout fired and stopped the command. */
  timedOut: boolean;
  /** `terminate()` was called before the command finished (the timeout alone does not set it). */
  terminated: boolean;
  durationMs: number;
  /** Set when the shell could not be started at all (exitCode is then 126 or 127). */
  spawnError?: string;
}

export interface CommandHandle {
  /** Pid of the shell, which is also the process group ID; undefined if it never started. */
  pid: number | undefined;
  /** Settles once the shell exited and its output was read; it never rejects. */
  result: Promise<CommandResult>;
  /** Signals the whole group (default SIGTERM), then SIGKILLs it after `killAfterMs`. */
  terminate(signal?: NodeJS.Signals): void;
}

/**
 * After the shell exits we wait this long for its output pipes to close. A background process
 * it left behind (`cmd &`) can hold them open forever; we stop reading rather than hang.
 */
const OUTPUT_DRAIN_MS = 1000;
/** A "line" longer than this is passed on in pieces, so a binary blob cannot exhaust memory. */
const MAX_LINE_CHARS = 64 * 1024;

export function startCommand(options: CommandOptions): CommandHandle {
  const startedAt = performance.now();
  const elapsed = () => Math.round(performance.now() - startedAt);

  let subprocess: ReturnType<typeof spawnShell>;
  try {
    subprocess = spawnShell(options);
  } catch (err) {
    // execa validates its options synchronously; report that like a failed spawn.
    const result: CommandResult = {
      exitCode: spawnFailureExitCode((err as NodeJS.ErrnoException).code),
      signal: undefined,
      timedOut: false,
      terminated: false,
      durationMs: elapsed(),
      spawnError: errorMessage(err),
    };
    return { pid: undefined, result: Promise.resolve(result), terminate() {} };
  }

  const { pid } = subprocess;
  let spawned = false;
  subprocess.once('spawn', () => {
    spawned = true;
  });
  const stopper = pid === undefined ? undefined : groupStopper(pid);
  let settled = false;
  let terminated = false;
  let timedOut = false;
  let timeoutTimer: NodeJS.Timeout | undefined;
  let drainTimer: NodeJS.Timeout | undefined;

  const stop = (signal: NodeJS.Signals) => {
    if (settled || stopper === undefined) return;
    stopper.stop(signal, options.killAfterMs);
  };

  if (options.timeoutMs > 0) {
    timeoutTimer = setTimeout(() => {
      timeoutTimer = undefined;
      timedOut = true;
      stop('SIGTERM');
    }, options.timeoutMs);
  }

  subprocess.once('exit', () => {
    // The command is over once the shell is: the timeout must not fire while we drain output.
    clearTimeout(timeoutTimer);
    timeoutTimer = undefined;
    drainTimer = setTimeout(() => {
      subprocess.stdout?.destroy();
      subprocess.stderr?.destroy();
    }, OUTPUT_DRAIN_MS);
  });

  const outputRead = Promise.all([
    readLines(subprocess.stdout, 'stdout', options.onLine),
    readLines(subprocess.stderr, 'stderr', options.onLine),
  ]);

  const result = (async (): Promise<CommandResult> => {
    // With `reject: false` execa resolves with the failure instead of rejecting; it waits for
    // the exit and for both pipes to close.
    const [ended] = await Promise.all([subprocess, outputRead]);
    clearTimeout(timeoutTimer);
    clearTimeout(drainTimer);
    await stopper?.finish();
    settled = true;
    const signal = typeof ended.signal === 'string' ? (ended.signal as NodeJS.Signals) : undefined;
    const common = { signal, timedOut, terminated, durationMs: elapsed() };
    if (!spawned) {
      const code = typeof ended.code === 'string' ? ended.code : undefined;
      return {
        ...common,
        exitCode: spawnFailureExitCode(code),
        spawnError: describeFailure(ended) ?? `cannot start /bin/sh (${code ?? 'unknown error'})`,
      };
    }
    return { ...common, exitCode: exitCodeOf({ exitCode: ended.exitCode, signal }) };
  })();

  return {
    pid,
    result,
    terminate(signal = 'SIGTERM') {
      if (settled) return;
      terminated = true;
      stop(signal);
    },
  };
}

function spawnShell(options: CommandOptions) {
  return execa(options.command, {
    shell: '/bin/sh',
    env: options.env,
    extendEnv: false,
    cwd: options.cwd,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    // We read the pipes ourselves (readLines); execa must not keep a copy of the output.
    buffer: false,
    // setsid: the shell leads a new process group that we signal as a whole (group.ts).
    detached: true,
    // execa's own timeout and kill escalation signal only the shell, which under dash leaves
    // the real command running; we do both on the group instead.
    forceKillAfterDelay: false,
    cleanup: false,
    reject: false,
  });
}

function readLines(
  stream: Readable | null,
  name: OutputStream,
  onLine: CommandOptions['onLine'],
): Promise<void> {
  if (stream === null) return Promise.resolve();
  return new Promise((resolve) => {
    let partial = '';
    const emit = (line: string) => onLine(name, line.endsWith('\r') ? line.slice(0, -1) : line);
    // setEncoding keeps a multi-byte character split across two chunks whole.
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) emit(line);
      if (partial.length > MAX_LINE_CHARS) {
        emit(partial);
        partial = '';
      }
    });
    let done = false;
    // 'close' also covers a pipe we destroyed after OUTPUT_DRAIN_MS, which never emits 'end'.
    const finish = () => {
      if (done) return;
      done = true;
      if (partial !== '') emit(partial);
      partial = '';
      resolve();
    };
    stream.once('end', finish);
    stream.once('close', finish);
  });
}

function describeFailure(ended: { originalMessage?: unknown; shortMessage?: unknown }) {
  const message = ended.originalMessage ?? ended.shortMessage;
  return typeof message === 'string' ? message.replaceAll('\n', '; ') : undefined;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
