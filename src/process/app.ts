// Starts the app command directly (no shell) in its own process group with inherited stdio
// (docs/design.md section 6). Signals are forwarded to the whole group, so a grandchild such as the
// `node server.js` under `npm start` or `sh -c` gets them too. Exit codes follow docs/design.md
// section 9: the app's own, 128+N after signal N, 126/127 when it cannot be started.

import { once } from 'node:events';
import { execa } from 'execa';
import { EXIT_NOT_FOUND, exitCodeOf, spawnFailureExitCode } from '../core/exit-code.js';
import { groupStopper, signalGroup } from './group.js';

export interface AppOptions {
  /** Program and arguments, run without a shell. */
  argv: readonly string[];
  /** The complete environment of the app (not merged with ours). */
  env: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface AppExit {
  /** Via `exitCodeOf`: the app's code, or 128+N when signal N killed it. */
  exitCode: number;
  signal: NodeJS.Signals | undefined;
}

export interface AppHandle {
  /** Pid of the app, which is also its process group ID. */
  pid: number;
  /** Settles when the app has exited (and, after `terminate`, its group is gone or SIGKILLed). */
  exited: Promise<AppExit>;
  /** Sends `sig` to the app's group; returns whether it was delivered. No-op once exited. */
  signal(sig: NodeJS.Signals): boolean;
  /** Sends `sig` to the group, then SIGKILL to the group after `killAfterMs` if still alive. */
  terminate(sig: NodeJS.Signals, killAfterMs: number): void;
}

export type StartAppResult =
  | { ok: true; app: AppHandle }
  | {
      ok: false;
      exitCode: 126 | 127;
      error: string;
      /** errno code of the failed exec, e.g. ENOENT or EACCES, when there was one. */
      errnoCode: string | undefined;
    };

/** Resolves once the app runs (its `spawn` event) or could not be started (`error`). */
export async function startApp(options: AppOptions): Promise<StartAppResult> {
  const [file, ...args] = options.argv;
  if (file === undefined || file === '') {
    // A shell answers 127 to an empty command name; the config rejects it before we get here.
    return {
      ok: false,
      exitCode: EXIT_NOT_FOUND,
      error: 'no app command given',
      errnoCode: undefined,
    };
  }

  let subprocess: ReturnType<typeof spawnApp>;
  try {
    subprocess = spawnApp(file, args, options);
  } catch (err) {
    // execa validates its options synchronously.
    const errnoCode = (err as NodeJS.ErrnoException).code;
    const error = `cannot start ${file}: ${err instanceof Error ? err.message : String(err)}`;
    return { ok: false, exitCode: spawnFailureExitCode(errnoCode), error, errnoCode };
  }

  // A failed exec never emits 'spawn'; execa resolves its promise with the failure instead
  // (`reject: false`). A failure execa detects before spawning emits neither event.
  const spawned = await Promise.race([
    once(subprocess, 'spawn').then(
      () => true,
      () => false,
    ),
    subprocess.then(() => false),
  ]);
  const { pid } = subprocess;
  if (!spawned || pid === undefined) {
    const failed = await subprocess;
    const errnoCode = typeof failed.code === 'string' ? failed.code : undefined;
    const detail = typeof failed.originalMessage === 'string' ? failed.originalMessage : errnoCode;
    return {
      ok: false,
      exitCode: spawnFailureExitCode(errnoCode),
      error: `cannot start ${file}: ${(detail ?? 'unknown error').replaceAll('\n', '; ')}`,
      errnoCode,
    };
  }

  const stopper = groupStopper(pid);
  let over = false;
  const exited = (async (): Promise<AppExit> => {
    const ended = await subprocess;
    await stopper.finish();
    over = true;
    const signal = typeof ended.signal === 'string' ? (ended.signal as NodeJS.Signals) : undefined;
    return { exitCode: exitCodeOf({ exitCode: ended.exitCode, signal }), signal };
  })();

  return {
    ok: true,
    app: {
      pid,
      exited,
      // Once the app is gone its pid may be reused by an unrelated process: stop signalling.
      signal: (sig) => !over && signalGroup(pid, sig),
      terminate: (sig, killAfterMs) => {
        if (!over) stopper.stop(sig, killAfterMs);
      },
    },
  };
}

function spawnApp(file: string, args: string[], options: AppOptions) {
  return execa(file, args, {
    env: options.env,
    extendEnv: false,
    cwd: options.cwd,
    stdio: 'inherit',
    // setsid: the app leads its own group (signalled as a whole, group.ts) and no longer gets
    // a terminal's Ctrl-C directly, so it receives each signal once, from us.
    detached: true,
    // No execa cleanup: it would kill the app when we exit, and its signal-exit hooks would add
    // listeners for SIGTERM/SIGINT to our process. The supervisor forwards signals itself and
    // exits only after the app (docs/design.md sections 6 and 9).
    cleanup: false,
    forceKillAfterDelay: false,
    reject: false,
  });
}
