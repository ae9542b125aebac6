// The supervisor's state, the inputs that change it and the actions it asks for.
// decide (src/core/decide/) maps (state, input, config, now) -> (state, actions); the
// runner (src/supervisor.ts) carries the actions out and feeds their results back as inputs.

import type { RecordRead } from './cluster-record.js';
import type {
  CompactIo,
  CompactIoResult,
  CompactionState,
  CompactionSummary,
  CompactReply,
  CompactRequest,
} from './compact.js';
import type { HwmFile, HwmLoad } from './hwm-types.js';
import type { HaltOutcome, HaltTaken, LitefsEvent } from './litefs-types.js';
import type { Observation } from './observation.js';
import type { PeerReport } from './peer-types.js';
import {
  type FenceState,
  type HandBackState,
  type HandoverState,
  newPrimaryTerm,
  type PrimaryTerm,
  type SelfHaltState,
} from './state-lease.js';

/** docs/design.md section 5. */
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
  | 'compacting'
  | 'stopping';

export type Role = 'primary' | 'replica' | 'unknown';

/**
 * `setup`: on every node at the start, before anything else; `migrate`: on the primary only
 * (S1); `before`: on every node once synced, before the app.
 */
export type CommandKind = 'setup' | 'migrate' | 'before';

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
  /** S1: failed tries of this migration in the current primary term (reset with the term). */
  failures: number;
  /**
   * S1: not before this time is a failed migration tried again (a deadline: the wake). Kept
   * while it fails (/status, /metrics); at a new primary term it becomes "due now".
   */
  retryAt: number | undefined;
  /** The last lines its output ended with, when it last failed (for /status). */
  lastOutput: string[];
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
  /** While `restarting`: when the restart backoff ends (a deadline: the wake). */
  restartAt: number | undefined;
  /** The app answers its readiness probe (--app-ready; `none`: at spawn). */
  ready: boolean;
  /** When it became ready (boot time = readyAt - startedAt). */
  readyAt: number | undefined;
  /** While started and not ready: --app-ready-timeout ends here (a deadline: the wake). */
  readyBy: number | undefined;
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

/** The high-water mark as decide keeps it (docs/design.md section 3). */
export interface HwmState {
  /** False until the state file was read (or found missing/damaged). */
  loaded: boolean;
  /** Cluster the marks belong to; '' while unknown. */
  clusterId: string;
  dbs: Record<string, bigint>;
  /**
   * S5: the largest TXID per db read from the state file or seen during this run, never
   * lowered. `dbs` follows a synced replica's primary down (docs/design.md section 3), on the very
   * observation S5 then judges, so S5 compares against this mark instead.
   */
  peak: Record<string, bigint>;
  /**
   * S13 and S2: the mark this node retired when its db's history was lost as primary. It no
   * longer orders this node's own checks (the repair starts a new history at TXID 1), but it is
   * what the cluster held: peers read it (`/status` `hwm`), so a node below it stays behind for
   * S2. Dropped once the db here has a history again (a position above TXID 0).
   */
  retired: Record<string, bigint>;
  /** Changed since the last write. */
  dirty: boolean;
  lastPersistAt: number | undefined;
}

/** Why peers were asked, and what they said (S2, S3, S4, S11). */
export interface PeerQuery {
  token: number;
  /**
   * check: S2/S3/S4; rewind: S11; promote: the primary's app version (S5); handover: on stop;
   * handback: a synced candidate whose app is ready (S14).
   */
  purpose: 'check' | 'rewind' | 'promote' | 'handover' | 'handback';
  askedAt: number;
  /** When this decision first asked (peer-wait counts from here). */
  firstAskedAt: number;
  report: PeerReport | undefined;
  /** This node's own TXIDs when asked (S11 compares the new primary against these). */
  ownTxids: Record<string, bigint>;
}

/**
 * The cluster record as this node last saw it: read with the peers at decision points, written
 * by a cleared primary when it holds data the record does not list (steps/record.ts).
 */
export interface RecordState {
  /** The last read or write's outcome; undefined before the first (or when the record is off). */
  last: RecordRead | undefined;
  /** When `last` was read or written. */
  at: number | undefined;
  /** A write in flight: its token. */
  writing: number | undefined;
  /** After a write that did not land: the next one is not tried before this. */
  retryAt: number | undefined;
  /** Writes that gained something, this run. */
  writes: number;
  /**
   * The warnings logged once a run: no record while data exists (`absent`), a record created
   * by another LiteFS cluster ID (`other-cluster`). Reads repeat (a fenced node's retries).
   */
  warned: { absent: boolean; otherCluster: boolean };
}

export type {
  FenceState,
  HandBackState,
  HandBackWhy,
  HandoverState,
  PrimaryTerm,
  SelfHaltState,
} from './state-lease.js';
export { newPrimaryTerm } from './state-lease.js';

/** Why decide wants an input at `Wake.at` (the deadline that falls due then). */
export type WakeReason =
  | 'restart'
  | 'handover-timeout'
  | 'handoff-retry'
  | 'handback-retry'
  | 'reclaim-retry'
  | 'fence-timeout'
  | 'peer-retry'
  | 'peer-wait'
  | 'promote-retry'
  | 'migrate-retry'
  | 'record-retry'
  | 'app-ready-timeout'
  | 'compact-timeout'
  | 'self-halt-hold'
  | 'sync-timeout';

/**
 * The one way to wait: the earliest deadline in the state still ahead, computed at the end of
 * every decision (decide/deadlines.ts). The runner keeps one timer for it and delivers a `wake`
 * input then; decide compares `now` with each deadline on every input, so the wake only makes
 * sure an input arrives on time.
 */
export interface Wake {
  at: number;
  why: WakeReason;
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
  /** Every migration ran (or --on-promotion none skipped them): for the whole run. */
  migrationsDone: boolean;
  /** What the current primary term has established (reset when the role leaves primary). */
  term: PrimaryTerm;
  /** S8: backups still being written (db names); an answer may come after the term ended. */
  backupsPending: string[];
  hwm: HwmState;
  peers: PeerQuery | undefined;
  /** The cluster record in Consul as last read or written (docs/design.md section 3). */
  record: RecordState;
  fence: FenceState | undefined;
  /** S7: this node's own write lock while its checks run; undefined when not asked for or held. */
  selfHalt: SelfHaltState | undefined;
  /** S5: promotion requests made (at most PROMOTE_ATTEMPTS) and when the last was. */
  promote: {
    attempts: number;
    lastAt: number | undefined;
    done: boolean;
    /** --promote-when new-version: the primary's version was read and differs (once per start). */
    versionChecked: boolean;
  };
  /** Handing the lease over before stopping; undefined otherwise. */
  handover: HandoverState | undefined;
  /** S14: handing the lease to a node whose app serves while this one's cannot. */
  handBack: HandBackState | undefined;
  /** The primary this replica last followed (S11 notices a new one). */
  lastPrimary: string | undefined;
  /** S11: rewind alarms raised. */
  rewindAlarms: number;
  /** Fences entered (for /metrics). */
  fences: number;
  /**
   * S4: fenced spells that ended within the last FENCE_WINDOW_MS. Fenced time adds up across
   * lease flaps (two fenced nodes passing the lease back and forth), so --fence-timeout still
   * ends it.
   */
  fencedSpells: { since: number; until: number }[];
  /**
   * S4: when this node last asked for a handoff, in any fenced spell: the retry interval holds
   * across spells, so two fenced nodes cannot pass the lease back and forth faster than that.
   */
  lastHandoffAt: number | undefined;
  /** This node's own lease hostname as its /info showed it while primary (roleOf's `self`). */
  selfHostname: string | undefined;
  /** S13: gated dbs seen with data at TXID 0 (history lost), logged once each. */
  historyLost: string[];
  app: AppRecord;
  /** Compaction (docs/design.md, "Compaction"): the one under way, and the last one's outcome. */
  compaction: CompactionState | undefined;
  lastCompaction: CompactionSummary | undefined;
  /** The low-disk alarm (--min-free-disk): since when the data volume is low, last logged when. */
  diskLow: DiskLow | undefined;
  shutdown: Shutdown | undefined;
  /** Set once an exit action has been emitted: nothing else happens after it. */
  exited: number | undefined;
  transitions: Transition[];
  /** When decide next wants an input, and why (undefined: no deadline ahead). */
  wake: Wake | undefined;
  /**
   * The self-timed wait last logged (Draft.waitFor): its name and deadline, so that a wait is
   * logged once when it begins, not at every input while it lasts.
   */
  waitLogged: string | undefined;
}

/** The low-disk alarm: the data volume below --min-free-disk (the app keeps running). */
export interface DiskLow {
  since: number;
  /** disk.low is logged at most every DISK_LOW_LOG_MS while it lasts. */
  loggedAt: number;
  freeBytes: number;
  totalBytes: number;
  pct: number;
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
      /** The last lines of its output (stdout and stderr interleaved), for the log. */
      outputTail?: string[];
    }
  | { type: 'app-started'; pid: number }
  /** The readiness probe the `watch-app-ready` action started answered, for the app `pid`. */
  | { type: 'app-ready'; pid: number }
  | { type: 'app-spawn-failed'; exitCode: number; error: string }
  | { type: 'app-exit'; exitCode: number; signal: string | undefined }
  | { type: 'signal'; signal: string }
  /** The runner's one timer: `state.wake.at` has come (it may find nothing due). */
  | { type: 'wake' }
  | { type: 'hwm-loaded'; load: HwmLoad }
  | { type: 'hwm-persisted'; error: string | undefined }
  | { type: 'peers'; token: number; report: PeerReport }
  | { type: 'record-written'; token: number; result: RecordWriteResult }
  | {
      type: 'promote-result';
      ok: boolean;
      status: number | undefined;
      error: string | undefined;
      halt?: HaltOutcome | undefined;
    }
  | {
      type: 'handoff-result';
      nodeId: string;
      ok: boolean;
      error: string | undefined;
      halt?: HaltOutcome | undefined;
    }
  | {
      type: 'backup-result';
      db: string;
      result: BackupResult;
    }
  /** S7: the answer to `halt-self`: this node's write lock held, or not taken and why. */
  | { type: 'self-halt-result'; halt: HaltTaken }
  /** S7: the answer to `unhalt-self`; `error` when a release failed. */
  | { type: 'self-unhalt-result'; error: string | undefined }
  /** `litefs-supervisor compact` asked over the control socket. */
  | { type: 'compact-request'; request: CompactRequest }
  /** The control connection `id` closed (the command was interrupted). */
  | { type: 'compact-cancel'; id: number }
  | { type: 'compact-io-result'; id: number; result: CompactIoResult };

/**
 * What a cluster-record write came to (src/consul/record.ts): the record gained the dbs, already
 * listed them, was not written because Consul's lease value names another node (this node's
 * role is stale), or failed.
 */
export type RecordWriteResult =
  | { kind: 'written'; read: Extract<RecordRead, { kind: 'present' }>; gained: string[] }
  | { kind: 'unchanged'; read: Extract<RecordRead, { kind: 'present' }> }
  | { kind: 'not-holder'; holder: string }
  | { kind: 'failed'; error: string };

/** What one S8 backup came to (src/litefs/backup.ts produces it; decide logs every field). */
export type BackupResult =
  | {
      kind: 'written';
      path: string;
      bytes: number;
      /** Older backups of this db deleted by retention (full paths). */
      removed: string[];
      /** Set when retention could not list or delete something; the backup itself is fine. */
      retentionError?: string;
    }
  | { kind: 'skipped'; why: string }
  | { kind: 'failed'; error: string };

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
  /** Probe the app (--app-ready) until it is ready or exits; answers with `app-ready`. */
  | { type: 'watch-app-ready'; pid: number }
  /** Forward a signal to the app's process group. */
  | { type: 'signal-app'; signal: string }
  /** Signal the app's process group; SIGKILL it after --shutdown-timeout. */
  | { type: 'stop-app'; signal: string }
  /**
   * Ask the peers (S2/S3/S11); the answer comes back as a `peers` input with this token.
   * `selfNodeId`: this node's LiteFS node ID from the last observation (undefined while /info
   * has not answered), so discovery leaves this node out of its own peers.
   */
  | { type: 'ask-peers'; token: number; selfNodeId: string | undefined }
  /**
   * S5: POST /promote; `haltAt`, the current primary's LiteFS API when a peer report named it,
   * has its writes halted across the move (section 4, "Writes halted across a lease move").
   */
  | { type: 'promote'; haltAt: string | undefined; haltWaitMs: number }
  /** S4: POST /handoff?nodeID=. */
  /** `haltWaitMs`: how long this node's write lock is waited for (section 4). */
  | { type: 'handoff'; nodeId: string; haltWaitMs: number }
  /**
   * S7: take this node's own write lock on `dbs` (LiteFS's HALT lock), waited for at most
   * `waitMs`; answered by `self-halt-result`. Only one is held at a time.
   */
  | { type: 'halt-self'; dbs: string[]; waitMs: number }
  /** S7: release the lock `halt-self` took (nothing when none is held); `self-unhalt-result`. */
  | { type: 'unhalt-self' }
  /** S8/S11: save GET /export?name=db into --backup-dir. */
  | { type: 'backup'; db: string; txid: bigint; expectedBytes: number }
  /**
   * Record in Consul that the cluster holds data in `dbs` (check-and-set, only if Consul's lease
   * value names `node`); the answer comes back as a `record-written` input with this token.
   */
  | { type: 'write-record'; token: number; dbs: string[]; clusterId: string; node: string }
  /** Write the high-water mark file (atomic; the runner serialises writes). */
  | { type: 'persist-hwm'; file: HwmFile }
  /** Compaction I/O (src/litefs/compact.ts); answered by `compact-io-result` with this id. */
  | { type: 'compact-io'; id: number; io: CompactIo }
  /** Stop the compaction I/O in flight (a running VACUUM INTO; an import is never cut). */
  | { type: 'compact-cancel' }
  /** A line to the `compact` command on control connection `id`. */
  | { type: 'compact-reply'; id: number; reply: CompactReply }
  | { type: 'exit'; code: number };

export const TRANSITIONS_KEPT = 50;

/** The commands the options give, in the order they run: --setup, --migrate, --before. */
export function configuredCommands(c: {
  setup: readonly string[];
  migrate: readonly string[];
  before: readonly string[];
}): { kind: CommandKind; command: string }[] {
  return [
    ...c.setup.map((command) => ({ kind: 'setup' as const, command })),
    ...c.migrate.map((command) => ({ kind: 'migrate' as const, command })),
    ...c.before.map((command) => ({ kind: 'before' as const, command })),
  ];
}

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
      failures: 0,
      retryAt: undefined,
      lastOutput: [],
    })),
    current: undefined,
    nextToken: 1,
    migrationsDone: false,
    term: newPrimaryTerm(),
    backupsPending: [],
    hwm: {
      loaded: false,
      clusterId: '',
      dbs: {},
      peak: {},
      retired: {},
      dirty: false,
      lastPersistAt: undefined,
    },
    peers: undefined,
    record: {
      last: undefined,
      at: undefined,
      writing: undefined,
      retryAt: undefined,
      writes: 0,
      warned: { absent: false, otherCluster: false },
    },
    fence: undefined,
    selfHalt: undefined,
    promote: { attempts: 0, lastAt: undefined, done: false, versionChecked: false },
    handover: undefined,
    handBack: undefined,
    lastPrimary: undefined,
    rewindAlarms: 0,
    fences: 0,
    fencedSpells: [],
    lastHandoffAt: undefined,
    selfHostname: undefined,
    historyLost: [],
    app: {
      status: 'not-started',
      pid: undefined,
      startedAt: undefined,
      restarts: 0,
      restartTimes: [],
      lastExit: undefined,
      restartAt: undefined,
      ready: false,
      readyAt: undefined,
      readyBy: undefined,
    },
    compaction: undefined,
    lastCompaction: undefined,
    diskLow: undefined,
    shutdown: undefined,
    exited: undefined,
    transitions: [],
    wake: undefined,
    waitLogged: undefined,
  };
  return state;
}
