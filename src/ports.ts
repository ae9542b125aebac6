// The runner's ports: everything src/supervisor.ts asks of the world, with the types each one
// takes and gives (docs/design.md section 12, point 3). The adapters in src/cli build them and
// declare `satisfies` these types; the tests build them from fakes and a virtual clock. Every
// port is required: a mode with nothing to do behind one passes an explicit adapter for it
// (src/cli/adapters-none.ts), never an absent field that silently does nothing (one did, and a node
// waited for ever).

import type { CompactIo, CompactIoResult, CompactReply } from './core/compact.js';
import type { HwmFile, HwmLoad } from './core/hwm-types.js';
import type { HaltOutcome, HaltTaken, LitefsEvent } from './core/litefs-types.js';
import type { Observation } from './core/observation.js';
import type { PeerReport } from './core/peer-types.js';
import type { BackupResult, LogLevel, RecordWriteResult } from './core/state.js';

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface Logger {
  log(level: LogLevel, fields: Record<string, unknown>, msg: string): void;
}

/** How a `--before`/`--migrate` command ended. */
export interface CommandEnd {
  exitCode: number;
  signal: string | undefined;
  timedOut: boolean;
  durationMs: number;
  spawnError?: string | undefined;
}

export interface CommandStart {
  command: string;
  label: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  killAfterMs: number;
  onLine: (stream: 'stdout' | 'stderr', line: string) => void;
}

export interface RunningCommand {
  result: Promise<CommandEnd>;
  pid: number | undefined;
  terminate(signal?: NodeJS.Signals): void;
}

export interface AppStart {
  argv: string[];
  env: NodeJS.ProcessEnv;
}

export interface RunningApp {
  pid: number;
  exited: Promise<{ exitCode: number; signal: string | undefined }>;
  signal(signal: NodeJS.Signals): void;
  terminate(signal: NodeJS.Signals, killAfterMs: number): void;
}

/** A readiness probe in progress (docs/design.md section 6, readiness). */
export interface AppReadyWatch {
  ready: Promise<boolean>;
  cancel(): void;
}

/** The app was spawned, or could not be (126/127 with the reason). */
export type AppStarted =
  | { ok: true; app: RunningApp }
  | { ok: false; exitCode: number; error: string };

export interface EventSource {
  close(): void;
  /** The stream is open now (headers received); false while reconnecting, after a 404, or never. */
  connected(): boolean;
}

/**
 * What loading the state file came to: its content (HwmLoad), or `not-kept` where the mode keeps
 * no state file (standalone: no HWM, docs/design.md section 10). `not-kept` is not an input to
 * decide: the runner then sends no `hwm-loaded`, and decide never tracks or writes a mark.
 */
export type StateFileLoad = HwmLoad | { kind: 'not-kept' };

export interface PromoteResult {
  ok: boolean;
  status?: number | undefined;
  error?: string | undefined;
  /** Whether the primary's writes were halted across the move (undefined: not attempted). */
  halt?: HaltOutcome | undefined;
}

export interface HandoffResult {
  ok: boolean;
  error?: string | undefined;
  /** Whether this node's writes were halted across the move (undefined: not attempted). */
  halt?: HaltOutcome | undefined;
}

/** What a cleared primary records in the cluster record (docs/design.md section 3). */
export interface RecordWriteRequest {
  /** Gated dbs this node holds data in that the record did not list when last read. */
  dbs: string[];
  /** LiteFS's cluster ID here, kept by a record created now. */
  clusterId: string;
  /** The hostname this node's LiteFS writes in the lease value: the write needs it there. */
  node: string;
}

export interface BackupRequest {
  db: string;
  txid: bigint;
  expectedBytes: number;
}

/** The I/O the runner calls, one function per kind of action it carries out. */
export interface IoPorts {
  /** Take one full observation (LiteFS API and mount dir, or plain files in standalone). */
  observe(): Promise<Observation>;
  /** Subscribe to LiteFS's /events stream (called once, at start). */
  watchEvents(onEvent: (ev: LitefsEvent) => void): EventSource;
  startCommand(opts: CommandStart): RunningCommand;
  startApp(opts: AppStart): Promise<AppStarted>;
  /**
   * Probe the app (--app-ready) until it answers (`ready` resolves true) or `cancel()` (false).
   * Never rejects: a probe that fails is tried again.
   */
  watchAppReady(opts: { pid: number }): AppReadyWatch;
  /** Read the state file (called once, at start, before the first observation). */
  loadHwm(): Promise<StateFileLoad>;
  persistHwm(file: HwmFile): Promise<void>;
  /**
   * Ask every peer for its evidence (`selfNodeId`, this node's LiteFS ID, is left out), and read
   * the cluster record with them when it is on (`PeerReport.record`).
   */
  askPeers(selfNodeId: string | undefined): Promise<PeerReport>;
  /** Record data in the cluster record: never rejects (a failure is a `failed` result). */
  writeRecord(req: RecordWriteRequest): Promise<RecordWriteResult>;
  /**
   * `haltAt`: the current primary's LiteFS API, whose writes are halted across the move, its
   * write lock waited for at most `haltWaitMs` (docs/design.md section 4).
   */
  promote(req: { haltAt: string | undefined; haltWaitMs: number }): Promise<PromoteResult>;
  /** This node's writes are halted across the move, the lock waited for `haltWaitMs`. */
  handoff(nodeId: string, req: { haltWaitMs: number }): Promise<HandoffResult>;
  /**
   * S7: takes this node's own write lock on `dbs`, waited for at most `waitMs` (never
   * rejects: a lock not taken is `skipped`, with why). Released by `unhaltSelf`, and by the
   * adapter itself at the latest 2 s after it was taken.
   */
  haltSelf(req: { dbs: string[]; waitMs: number }): Promise<HaltTaken>;
  /** S7: releases the lock `haltSelf` took; nothing when none is held. Never rejects. */
  unhaltSelf(): Promise<{ error: string | undefined }>;
  backup(req: BackupRequest): Promise<BackupResult>;
  /** Compaction's I/O (docs/design.md, "Compaction"); never rejects: a failure is a result. */
  compact(io: CompactIo): Promise<CompactIoResult>;
  /** Stops a running VACUUM INTO (its copy removed); an import already sent is never cut. */
  compactCancel(): void;
  /** Waits for the compaction I/O in flight, then removes every copy not imported (at the end). */
  compactSettle(): Promise<void>;
}

/** Every port of the runner: its clock and logger, and the I/O. */
export interface Ports extends IoPorts {
  clock: Clock;
  logger: Logger;
  /** A line to the `compact` command on control connection `id` (src/cli/control.ts). */
  replyToCompact(id: number, reply: CompactReply): void;
}

/**
 * A port called in a mode that has nothing behind it: decide asked for something it never asks
 * for there (a bug). The runner ends the run with 70 on it, as on any internal error.
 */
export class PortUnavailableError extends Error {
  readonly port: keyof IoPorts;
  constructor(port: keyof IoPorts, why: string) {
    super(`the ${port} port was called, but ${why}`);
    this.name = 'PortUnavailableError';
    this.port = port;
  }
}
