// The working copy of one decision: the state being changed, the actions collected, and the
// few acts several steps share (log, enter a phase, exit, ask the peers, run a command, start
// the app, wait). Steps (steps/*.ts) are functions of a Draft and the input.

import { dbViewsOf } from '../derive.js';
import { EXIT } from '../exit-code.js';
import type { HwmFile } from '../hwm-types.js';
import { formatTxid } from '../parse.js';
import type { Policy } from '../policy.js';
import {
  type Action,
  type CommandRecord,
  type Input,
  type LogLevel,
  type PeerQuery,
  type Phase,
  type SupervisorState,
  TRANSITIONS_KEPT,
  type WakeReason,
} from '../state.js';
import { syncTimeoutAt, WAITING, WAITS } from './deadlines.js';

/**
 * What a step tells the pipeline: 'continue' to the next step, or 'done': this decision is
 * complete (the node waits, acted, or exited). Every step returns one of the two.
 */
export type Verdict = 'continue' | 'done';

export type Step = (d: Draft, input: Input) => Verdict;

/**
 * Facts about this input that only the recording could see (the state before it changed),
 * for the steps that act on them. Lives for one decision; never part of the state.
 */
export interface News {
  /** The observation reached the high-water mark bookkeeping (LiteFS answered, mark loaded). */
  hwmUpdated?: boolean;
  /** S11: a replica sees a new primary (after a lease change): ask the peers where it stands. */
  newPrimary?: boolean;
  /** The app that exited was being stopped by us (S4 fence), not under a shutdown. */
  appStopAsked?: boolean;
  /** A backup the migrations were waiting for failed (S8: no migration without it). */
  backupFailed?: { db: string; error: string };
}

export class Draft {
  readonly actions: Action[] = [];
  readonly news: News = {};
  constructor(
    readonly s: SupervisorState,
    readonly config: Policy,
    readonly now: number,
  ) {}

  log(level: LogLevel, event: string, msg: string, fields: Record<string, unknown>): void {
    const clean: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) clean[k] = v;
    this.actions.push({ type: 'log', level, event, msg, fields: clean });
  }

  /** Enter (or stay in) a phase, logging why; `fields.level` sets the log level. */
  enter(phase: Phase, reason: string, event: string, fields: Record<string, unknown>): void {
    const s = this.s;
    const { level, ...rest } = fields as { level?: LogLevel };
    if (s.phase !== phase) {
      s.transitions = [...s.transitions, { from: s.phase, to: phase, at: this.now, reason }].slice(
        -TRANSITIONS_KEPT,
      );
      this.log(level ?? 'info', event, reason, { ...rest, state: phase, from: s.phase });
    } else {
      this.log(level ?? 'info', event, reason, { ...rest, state: phase });
    }
    if (s.phase !== phase) s.since = this.now;
    s.phase = phase;
    s.reason = reason;
  }

  /** End the run with `code`: nothing else happens after it, so it is always 'done'. */
  exit(
    code: number,
    level: LogLevel,
    event: string,
    msg: string,
    fields: Record<string, unknown>,
  ): 'done' {
    this.log(level, event, msg, fields);
    // The last high-water mark write, at shutdown (docs/design.md section 3).
    if (this.s.hwm.loaded && this.s.hwm.dirty && !this.config.standalone) this.persistHwm();
    this.enter('stopping', msg, 'supervisor.exit', { exitCode: code });
    this.s.exited = code;
    this.actions.push({ type: 'exit', code });
    return 'done';
  }

  persistHwm(): void {
    const s = this.s;
    s.hwm.dirty = false;
    s.hwm.lastPersistAt = this.now;
    const updatedAt = new Date(this.now).toISOString();
    const dbs: HwmFile['dbs'] = {};
    for (const [name, txid] of Object.entries(s.hwm.dbs)) dbs[name] = { txid, updatedAt };
    for (const [name, retired] of Object.entries(s.hwm.retired)) {
      dbs[name] = { txid: s.hwm.dbs[name] ?? 0n, updatedAt, retired };
    }
    this.actions.push({
      type: 'persist-hwm',
      file: { version: 1, clusterId: s.hwm.clusterId, dbs },
    });
  }

  /**
   * The next command of `kind` still to run: never run, aborted (S6), or failed and not given
   * up on (a migration between S1 retries; whether its retry is due is `retryAt`'s business).
   */
  nextToRun(kind: CommandRecord['kind']): CommandRecord | undefined {
    return this.s.commands.find(
      (c) =>
        c.kind === kind &&
        (c.status === 'pending' ||
          c.status === 'aborted' ||
          c.status === 'failed' ||
          c.status === 'timed-out'),
    );
  }

  /** The hostnames LiteFS may announce for this node: litefs.yml's, and the one learned as primary. */
  ownHostnames(): string[] {
    return [this.config.hostname, this.s.selfHostname].filter((h): h is string => !!h);
  }

  /** 1-based position of a command among those of its kind (for logs). */
  ordinal(cmd: CommandRecord): number {
    return this.s.commands.filter((c) => c.kind === cmd.kind && c.index <= cmd.index).length;
  }

  /** The log fields of a command's end. */
  exitFields(cmd: CommandRecord, input: Extract<Input, { type: 'command-exit' }>) {
    return {
      command: cmd.command,
      index: this.ordinal(cmd),
      exitCode: input.exitCode,
      signal: input.signal,
      durationMs: input.durationMs,
    };
  }

  askPeers(purpose: PeerQuery['purpose']): void {
    const s = this.s;
    const token = s.nextToken++;
    const firstAskedAt = s.peers && s.peers.purpose === purpose ? s.peers.firstAskedAt : this.now;
    const ownTxids: Record<string, bigint> = {};
    for (const db of dbViewsOf(s.observation, this.config)) ownTxids[db.name] = db.txid ?? 0n;
    s.peers = { token, purpose, askedAt: this.now, firstAskedAt, report: undefined, ownTxids };
    this.log('debug', 'peers.ask', `asking the peers (${purpose})`, { peers: this.config.peers });
    const info = s.observation?.info;
    this.actions.push({
      type: 'ask-peers',
      token,
      selfNodeId: info?.ok ? info.value.nodeId : undefined,
    });
  }

  runCommand(cmd: CommandRecord): void {
    cmd.status = 'running';
    cmd.retryAt = undefined;
    cmd.startedAt = this.now;
    cmd.endedAt = undefined;
    cmd.exitCode = undefined;
    cmd.signal = undefined;
    this.s.current = { index: cmd.index, confirmToken: undefined, stopRequested: false };
    const label = `${cmd.kind}[${this.ordinal(cmd)}]`;
    const env: Record<string, string> = cmd.bootstrap ? { LITEFS_SUPERVISOR_BOOTSTRAP: '1' } : {};
    const db = dbViewsOf(this.s.observation, this.config)[0];
    this.log(
      'info',
      `${cmd.kind}.start`,
      cmd.kind === 'migrate'
        ? 'primary confirmed, running migration'
        : `running --${cmd.kind} command`,
      {
        command: cmd.command,
        index: this.ordinal(cmd),
        db: cmd.kind === 'migrate' ? db?.name : undefined,
        txid: cmd.kind === 'migrate' && db?.txid !== undefined ? formatTxid(db.txid) : undefined,
        bootstrap: cmd.bootstrap || undefined,
      },
    );
    this.actions.push({
      type: 'run-command',
      index: cmd.index,
      kind: cmd.kind,
      label,
      command: cmd.command,
      env,
      timeoutMs: this.config.migrateTimeout,
    });
  }

  startApp(why: 'start' | 'restart'): void {
    const app = this.s.app;
    app.status = 'starting';
    app.ready = false;
    app.readyAt = undefined;
    app.readyBy = undefined;
    this.enter(
      'starting-app',
      why === 'restart'
        ? `restarting the app (restart ${app.restarts})`
        : `starting the app as ${this.s.role}`,
      'app.start',
      {
        command: this.config.command.join(' '),
        role: this.s.role,
      },
    );
    this.actions.push({ type: 'start-app' });
  }

  /**
   * Wait for the deadline of the wait `why` (declared once in deadlines.ts WAITS) in `phase`:
   * logged once per wait (a new deadline is a new wait), its reason kept current for /status.
   * The wake comes from the declaration; the step only says that it waits.
   */
  waitFor(
    why: WakeReason,
    phase: Phase,
    reason: string,
    event: string,
    fields: Record<string, unknown> = {},
  ): 'done' {
    const s = this.s;
    const key = `${why}@${WAITS[why].deadline(s, this.config, this.now)}`;
    if (s.waitLogged !== key || s.phase !== phase) {
      s.waitLogged = key;
      this.enter(phase, reason, event, fields);
    } else {
      s.reason = reason;
    }
    return 'done';
  }

  /** Enter (or stay in) a waiting phase; --sync-timeout bounds the whole wait (exit 5). */
  waitIn(
    phase: Phase,
    reason: string,
    event: string,
    fields: Record<string, unknown> = {},
  ): 'done' {
    const s = this.s;
    if (s.waitingSince === undefined || !WAITING.has(s.phase)) s.waitingSince = this.now;
    if (s.phase !== phase) this.enter(phase, reason, event, fields);
    // /status says why it waits now, not why it began to (e.g. lag fine, db not replicated
    // yet); the log line is written on entering the phase only.
    else s.reason = reason;
    const limit = this.config.syncTimeout;
    const at = syncTimeoutAt(s, this.config);
    if (at !== undefined && this.now >= at) {
      return this.exit(
        EXIT.syncTimeout,
        'error',
        'sync.timeout',
        `gave up after --sync-timeout ${limit}ms: ${reason}`,
        {
          waitedMs: this.now - s.waitingSince,
          hint: 'check LiteFS is running and can reach the cluster, or raise --sync-timeout (0 waits forever)',
        },
      );
    }
    return 'done';
  }
}
