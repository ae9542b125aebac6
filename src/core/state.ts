// The supervisor's state, the inputs that change it and the actions it asks for.
// decide (src/core/decide.ts) maps (state, input, config, now) -> (state, actions); the
// runner (src/supervisor.ts) carries the actions out and feeds their results back as inputs.

import type { LitefsEvent } from './litefs-types.js';
import type { Observation } from './observation.js';

/** DESIGN.md section 5. */
export type Phase =
  | 'starting'
  | 'waiting-for-litefs'
  | 'waiting-for-primary'
  | 'syncing'
  | 'promoting'
  | 'checking'
  | 'fenced'
  | 'backing-up'
  | 'migrating'
  | 'starting-app'
  | 'running'
  | 'restarting'
  | 'stopping';

export type Role = 'primary' | 'replica' | 'unknown';

export type CommandKind = 'migrate' | 'before';

export type CommandStatus = 'pending' | 'running' | 'done' | 'failed' | 'timed-out' | 'aborted';

export interface CommandRecord {
  kind: CommandKind;
  index: number;
  command: string;
  status: CommandStatus;
  startedAt: number | undefined;
  endedAt: number | undefined;
  exitCode: number | undefined;
  signal: string | undefined;
  /** Set when the migration initialised a new cluster (S3). */
  bootstrap: boolean;
}

export type AppStatus = 'not-started' | 'starting' | 'running' | 'stopping' | 'exited';

export interface AppRecord {
  status: AppStatus;
  pid: number | undefined;
  startedAt: number | undefined;
  /** Restarts done by the restart policy (all time). */
  restarts: number;
  /** When each restart in the policy window happened (ms), oldest first. */
  restartTimes: number[];
  lastExit: { exitCode: number; signal: string | undefined; at: number } | undefined;
}

export interface Transition {
  from: Phase;
  to: Phase;
  at: number;
  reason: string;
}

/** Why the supervisor is shutting down, once it is. */
export interface Shutdown {
  /** The signal that asked for it, if a signal did. */
  signal: string | undefined;
  /** The exit code to use when no child's code decides it. */
  exitCode: number;
}

export interface SupervisorState {
  phase: Phase;
  since: number;
  reason: string;
  startedAt: number;
  role: Role;
  /** The latest observation, with /events messages merged in. */
  observation: Observation | undefined;
  /** When the current wait for LiteFS / a primary / sync began (sync-timeout). */
  waitingSince: number | undefined;
  /** Connection state of LiteFS's API, for litefs.connected / litefs.disconnected logs. */
  litefsReachable: boolean | undefined;
  commands: CommandRecord[];
  /** The command being confirmed (S1) or run, as an index into `commands`. */
  current: { index: number; confirmToken: number | undefined; stopRequested: boolean } | undefined;
  /** Next token for an `observe` action; an observation carrying it is fresh. */
  nextToken: number;
  migrationsDone: boolean;
  app: AppRecord;
  shutdown: Shutdown | undefined;
  /** Set once an exit action has been emitted: nothing else happens after it. */
  exited: number | undefined;
  transitions: Transition[];
}

export type Input =
  | { type: 'observation'; observation: Observation; token?: number }
  | { type: 'litefs-event'; event: LitefsEvent }
  | { type: 'command-started'; index: number; pid: number | undefined }
  | {
      type: 'command-exit';
      index: number;
      exitCode: number;
      signal: string | undefined;
      timedOut: boolean;
      spawnError: string | undefined;
      durationMs: number;
    }
  | { type: 'app-started'; pid: number }
  | { type: 'app-spawn-failed'; exitCode: number; error: string }
  | { type: 'app-exit'; exitCode: number; signal: string | undefined }
  | { type: 'signal'; signal: string }
  | { type: 'restart-timer' };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type Action =
  | { type: 'log'; level: LogLevel; event: string; msg: string; fields: Record<string, unknown> }
  /** Take a fresh observation now and deliver it with this token (S1 re-confirmation). */
  | { type: 'observe'; token: number }
  | {
      type: 'run-command';
      index: number;
      kind: CommandKind;
      label: string;
      command: string;
      env: Record<string, string>;
      timeoutMs: number;
    }
  /** Signal the running command's process group; SIGKILL it after --shutdown-timeout. */
  | { type: 'stop-command'; signal: string }
  | { type: 'start-app' }
  /** Forward a signal to the app's process group. */
  | { type: 'signal-app'; signal: string }
  /** Signal the app's process group; SIGKILL it after --shutdown-timeout. */
  | { type: 'stop-app'; signal: string }
  | { type: 'schedule-restart'; delayMs: number }
  | { type: 'exit'; code: number };

export const TRANSITIONS_KEPT = 50;

export function initialState(now: number, commands: { kind: CommandKind; command: string }[]) {
  const state: SupervisorState = {
    phase: 'starting',
    since: now,
    reason: 'supervisor started',
    startedAt: now,
    role: 'unknown',
    observation: undefined,
    waitingSince: undefined,
    litefsReachable: undefined,
    commands: commands.map((c, i) => ({
      kind: c.kind,
      index: i,
      command: c.command,
      status: 'pending',
      startedAt: undefined,
      endedAt: undefined,
      exitCode: undefined,
      signal: undefined,
      bootstrap: false,
    })),
    current: undefined,
    nextToken: 1,
    migrationsDone: false,
    app: {
      status: 'not-started',
      pid: undefined,
      startedAt: undefined,
      restarts: 0,
      restartTimes: [],
      lastExit: undefined,
    },
    shutdown: undefined,
    exited: undefined,
    transitions: [],
  };
  return state;
}
