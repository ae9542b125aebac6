// decide: (state, input, config, now) -> (state, actions). The whole supervisor's logic.
// Pure: no I/O, no clock (now is an input), no randomness. The runner (src/supervisor.ts)
// carries the actions out and feeds the results back as inputs. Read it top to bottom:
// first the input is recorded, then `advance` chooses the next step from the facts.

import type { Config } from '../config/types.js';
import {
  applyLitefsEvent,
  type DbView,
  dbViewsOf,
  primaryHostnameOf,
  roleOf,
  syncOf,
} from './derive.js';
import { signalNumber } from './exit-code.js';
import type { Observation } from './observation.js';
import { formatTxid } from './parse.js';
import { restartVerdict } from './restart.js';
import {
  primaryChecks,
  SHUTDOWN_SIGNALS,
  STOP_SIGNALS,
  s1MayStartMigration,
  s6MustAbortMigration,
} from './rules.js';
import {
  type Action,
  type CommandRecord,
  type Input,
  type LogLevel,
  type Phase,
  type SupervisorState,
  TRANSITIONS_KEPT,
} from './state.js';

function describeDb(db: DbView): string {
  const txid = db.txid === undefined ? '-' : formatTxid(db.txid);
  return `${db.name}@${txid}${db.empty ? '(empty)' : ''}`;
}

export interface Decision {
  state: SupervisorState;
  actions: Action[];
}

/** Exit codes of DESIGN.md section 9 that the supervisor itself chooses. */
export const EXIT = {
  commandFailed: 3,
  fenced: 4,
  syncTimeout: 5,
} as const;

/** Phases bounded by --sync-timeout (a primary that cannot read its db waits in checking). */
const WAITING: ReadonlySet<Phase> = new Set([
  'waiting-for-litefs',
  'waiting-for-primary',
  'syncing',
  'checking',
]);

export function decide(prev: SupervisorState, input: Input, config: Config, now: number): Decision {
  if (prev.exited !== undefined) return { state: prev, actions: [] };
  const d = new Draft(structuredClone(prev), config, now);
  d.record(input);
  if (d.s.exited === undefined) d.advance(input);
  return { state: d.s, actions: d.actions };
}

/** A mutable copy of the state for one decision, and the actions it collects. */
class Draft {
  readonly actions: Action[] = [];
  constructor(
    readonly s: SupervisorState,
    readonly config: Config,
    readonly now: number,
  ) {}

  // ---- 1. Record what the input tells us -------------------------------------------------

  record(input: Input): void {
    switch (input.type) {
      case 'observation':
        this.observe(input.observation);
        return;
      case 'litefs-event':
        if (this.s.observation) {
          this.observe(applyLitefsEvent(this.s.observation, input.event, this.now));
        }
        return;
      case 'command-started': {
        const cmd = this.s.commands[input.index];
        if (cmd) this.log('debug', `${cmd.kind}.spawned`, 'command spawned', { pid: input.pid });
        return;
      }
      case 'command-exit':
        this.commandExited(input);
        return;
      case 'app-started':
        this.appStarted(input.pid);
        return;
      case 'app-spawn-failed':
        this.s.app.status = 'exited';
        this.s.app.lastExit = { exitCode: input.exitCode, signal: undefined, at: this.now };
        this.exit(
          input.exitCode,
          'error',
          'app.spawn-fail',
          `the app could not be started: ${input.error}`,
          {
            command: this.config.command.join(' '),
            hint:
              input.exitCode === 127
                ? 'check the command after -- exists in PATH'
                : 'check the command after -- is executable',
          },
        );
        return;
      case 'app-exit':
        this.appExited(input.exitCode, input.signal);
        return;
      case 'signal':
        this.signal(input.signal);
        return;
      case 'restart-timer':
        if (this.s.phase === 'restarting' && !this.s.shutdown) this.startApp('restart');
        return;
    }
  }

  private observe(obs: Observation): void {
    const wasReachable = this.s.litefsReachable;
    this.s.observation = obs;
    if (!this.config.standalone && wasReachable !== obs.info.ok) {
      this.s.litefsReachable = obs.info.ok;
      if (obs.info.ok) {
        this.log('info', 'litefs.connected', 'LiteFS API is answering', {
          url: this.config.litefsUrl,
          nodeId: obs.info.value.nodeId,
          clusterId: obs.info.value.clusterId || undefined,
        });
      } else {
        this.log(
          wasReachable === undefined ? 'info' : 'warn',
          'litefs.unreachable',
          'LiteFS API is not answering',
          {
            url: this.config.litefsUrl,
            error: obs.info.error,
          },
        );
      }
    }
    const role = roleOf(obs);
    if (role !== this.s.role) {
      this.log('info', 'role.change', `role is now ${role}`, {
        from: this.s.role,
        to: role,
        primary: primaryHostnameOf(obs),
      });
      this.s.role = role;
    }
  }

  private commandExited(input: Extract<Input, { type: 'command-exit' }>): void {
    const cmd = this.s.commands[input.index];
    if (!cmd) return;
    const stopRequested = this.s.current?.index === input.index && this.s.current.stopRequested;
    this.s.current = undefined;
    cmd.endedAt = this.now;
    cmd.exitCode = input.exitCode;
    cmd.signal = input.signal;
    const fields = {
      command: cmd.command,
      index: this.ordinal(cmd),
      exitCode: input.exitCode,
      signal: input.signal,
      durationMs: input.durationMs,
    };
    if (this.s.shutdown) {
      // S10: a stop signal arrived while it ran: the app is not started, exit 128+N.
      cmd.status = input.exitCode === 0 ? 'done' : 'aborted';
      this.exit(
        this.s.shutdown.exitCode,
        'info',
        `${cmd.kind}.stopped`,
        `${cmd.kind} command ended after ${this.s.shutdown.signal}; not starting the app`,
        fields,
      );
      return;
    }
    if (stopRequested) {
      // S6: we stopped it because the lease moved; re-decide below as a replica.
      cmd.status = 'aborted';
      this.log(
        'warn',
        `${cmd.kind}.aborted`,
        'migration stopped because this node is no longer primary; it will run on whichever node holds the lease',
        fields,
      );
      return;
    }
    if (input.timedOut || input.exitCode !== 0 || input.spawnError) {
      cmd.status = input.timedOut ? 'timed-out' : 'failed';
      const why = input.timedOut
        ? `timed out after --migrate-timeout ${this.config.migrateTimeoutMs}ms`
        : input.spawnError
          ? `could not be started: ${input.spawnError}`
          : `exited with code ${input.exitCode}`;
      this.exit(
        EXIT.commandFailed,
        'error',
        `${cmd.kind}.fail`,
        `--${cmd.kind} command ${why}; the app is not started`,
        {
          ...fields,
          hint: 'fix the command or the database and redeploy; nothing after it was run',
        },
      );
      return;
    }
    cmd.status = 'done';
    this.log('info', `${cmd.kind}.done`, `--${cmd.kind} command succeeded`, fields);
    if (cmd.kind === 'migrate' && !this.pending('migrate')) {
      this.s.migrationsDone = true;
      this.log('info', 'migrate.complete', 'all migrations applied', {
        count: this.s.commands.filter((c) => c.kind === 'migrate').length,
      });
    }
  }

  private appStarted(pid: number): void {
    this.s.app.status = 'running';
    this.s.app.pid = pid;
    this.s.app.startedAt = this.now;
    this.log('info', 'app.started', 'app is running', {
      pid,
      command: this.config.command.join(' '),
    });
    if (this.s.shutdown) {
      // A stop signal arrived while the app was being spawned: pass it on now.
      const signal = this.s.shutdown.signal ?? 'SIGTERM';
      this.s.app.status = 'stopping';
      this.log('info', 'signal.forward', `forwarding ${signal} to the app`, { signal, pid });
      this.actions.push({ type: 'stop-app', signal });
      return;
    }
    this.enter('running', 'app started', 'state.running', {});
    this.s.waitingSince = undefined;
  }

  private appExited(exitCode: number, signal: string | undefined): void {
    const app = this.s.app;
    app.status = 'exited';
    app.pid = undefined;
    app.lastExit = { exitCode, signal, at: this.now };
    const fields = {
      exitCode,
      signal,
      uptimeMs: app.startedAt ? this.now - app.startedAt : undefined,
    };
    if (this.s.shutdown) {
      // DESIGN.md section 9: the app's code (128+N after a signal) ends the run, also when
      // we forwarded the signal: never 0 just because the supervisor was asked to stop.
      this.exit(exitCode, 'info', 'app.exit', 'app exited after the forwarded signal', fields);
      return;
    }
    const verdict = restartVerdict(
      this.config.restart,
      this.config.restartMax,
      exitCode,
      app.restartTimes,
      this.now,
    );
    if (!verdict.restart) {
      this.exit(
        exitCode,
        exitCode === 0 ? 'info' : 'error',
        'app.exit',
        `app exited; not restarting: ${verdict.why}`,
        fields,
      );
      return;
    }
    app.restartTimes = verdict.recentRestarts;
    this.log('warn', 'app.exit', `app exited; restarting in ${verdict.delayMs}ms`, fields);
    this.enter(
      'restarting',
      `app exited with code ${exitCode}; backoff ${verdict.delayMs}ms`,
      'app.backoff',
      {
        delayMs: verdict.delayMs,
        restartsInWindow: verdict.recentRestarts.length,
      },
    );
    this.actions.push({ type: 'schedule-restart', delayMs: verdict.delayMs });
  }

  private signal(signal: string): void {
    const exitCode = 128 + (signalNumber(signal) ?? 15);
    const app = this.s.app;
    const appAlive =
      app.status === 'running' || app.status === 'starting' || app.status === 'stopping';
    const cmd = this.s.current ? this.s.commands[this.s.current.index] : undefined;
    const cmdRunning = cmd?.status === 'running';
    this.log('info', 'signal.received', `received ${signal}`, { signal });

    if (appAlive) {
      if (SHUTDOWN_SIGNALS.has(signal)) {
        if (!this.s.shutdown) this.s.shutdown = { signal, exitCode };
        app.status = app.status === 'starting' ? 'starting' : 'stopping';
        this.enter('stopping', `${signal} received; stopping the app`, 'state.stopping', {});
        if (app.status === 'stopping') {
          this.log('info', 'signal.forward', `forwarding ${signal} to the app`, {
            signal,
            pid: app.pid,
            shutdownTimeoutMs: this.config.shutdownTimeoutMs,
          });
          this.actions.push({ type: 'stop-app', signal });
        }
        return;
      }
      if (app.status !== 'starting') {
        this.log('info', 'signal.forward', `forwarding ${signal} to the app`, {
          signal,
          pid: app.pid,
        });
        this.actions.push({ type: 'signal-app', signal });
      }
      return;
    }
    if (!STOP_SIGNALS.has(signal)) {
      this.log('info', 'signal.ignored', `${signal} ignored: no app is running to receive it`, {
        signal,
      });
      return;
    }
    if (!this.s.shutdown) this.s.shutdown = { signal, exitCode };
    if (cmdRunning && cmd) {
      // S10: forward to the command's process group; exit 128+N once it has ended.
      this.enter(
        'stopping',
        `${signal} received during --${cmd.kind}; the app will not be started`,
        'state.stopping',
        {},
      );
      this.log('info', 'signal.forward', `forwarding ${signal} to the --${cmd.kind} command`, {
        signal,
        command: cmd.command,
      });
      this.actions.push({ type: 'stop-command', signal });
      return;
    }
    this.exit(
      exitCode,
      'info',
      'supervisor.stop',
      `${signal} received before the app started; exiting`,
      { signal },
    );
  }

  // ---- 2. Choose the next step from the facts ---------------------------------------------

  advance(input: Input): void {
    const s = this.s;
    if (s.shutdown) return; // stopping: nothing new starts
    if (s.app.status !== 'not-started') return; // the app's lifetime is driven by its events

    // A command in flight: S6 may stop a migration; otherwise wait for it (or run it, S1).
    if (s.current) {
      const cmd = s.commands[s.current.index]!;
      if (cmd.status === 'running') {
        if (s6MustAbortMigration(cmd, s.role) && !s.current.stopRequested) {
          s.current.stopRequested = true;
          this.log(
            'warn',
            'migrate.abort',
            `lease lost during a migration (role is now ${s.role}); stopping it`,
            {
              command: cmd.command,
              index: this.ordinal(cmd),
              primary: primaryHostnameOf(s.observation),
            },
          );
          this.actions.push({ type: 'stop-command', signal: 'SIGTERM' });
        }
        return;
      }
      // Waiting for the S1 re-confirmation of a migration.
      const fresh = input.type === 'observation' && input.token === s.current.confirmToken;
      if (s1MayStartMigration(s.role, fresh)) {
        this.runCommand(cmd);
        return;
      }
      if (!fresh && s.role === 'primary') return; // still waiting for the fresh /info
      // Not primary any more (or no longer known): do not start it; re-decide below.
      this.log(
        'warn',
        'migrate.skip',
        `not starting the migration: role is ${s.role}, not primary`,
        {
          command: cmd.command,
          index: this.ordinal(cmd),
        },
      );
      s.current = undefined;
    }

    const obs = s.observation;
    if (!obs) return;
    if (!obs.info.ok) {
      this.wait(
        'waiting-for-litefs',
        `LiteFS API at ${this.config.litefsUrl} is not answering: ${obs.info.error}`,
        'litefs.wait',
      );
      return;
    }
    if (s.role === 'unknown') {
      this.wait(
        'waiting-for-primary',
        'no primary is known yet (election in progress or LiteFS starting)',
        'primary.wait',
      );
      return;
    }

    if (s.role === 'primary' && !s.migrationsDone) {
      this.checkAndMigrate();
      if (!s.migrationsDone) return;
    }

    if (s.role === 'replica') {
      const sync = syncOf(obs, this.config.maxLagMs);
      if (!sync.synced) {
        this.wait('syncing', `replica not synced yet: ${sync.detail}`, 'sync.wait', {
          lagMs: sync.lagMs,
        });
        return;
      }
      if (s.phase === 'syncing') {
        this.log('info', 'sync.done', `replica is synced: ${sync.detail}`, { lagMs: sync.lagMs });
      }
    }

    // Synced replica, or primary with its migrations done: --before commands, then the app.
    const before = this.pending('before');
    if (before) {
      this.enter(
        'starting-app',
        `running --before command ${this.ordinal(before)}`,
        'before.begin',
        {},
      );
      this.runCommand(before);
      return;
    }
    this.startApp('start');
  }

  /**
   * A primary that has not yet cleared its checks: the primary checks (S2/S3) before it
   * writes, then each pending migration behind S1. Sets migrationsDone when nothing is left.
   */
  private checkAndMigrate(): void {
    const s = this.s;
    const dbs = dbViewsOf(s.observation, this.config);
    if (s.phase !== 'checking' && s.phase !== 'migrating' && s.phase !== 'fenced') {
      this.enter(
        'checking',
        'this node is primary; checking its databases before it writes',
        'primary.check',
        {
          dbs: dbs.map(describeDb).join(','),
        },
      );
    }
    const verdict = primaryChecks(dbs, this.config);
    if (verdict.kind === 'wait') {
      if (s.reason !== verdict.why) {
        this.enter('checking', verdict.why, 'primary.wait-db', { level: 'warn' });
      }
      this.wait('checking', verdict.why, 'primary.wait-db');
      return;
    }
    if (verdict.kind === 'fence') {
      this.fence(verdict.why, verdict.action);
      return;
    }
    const next = this.pending('migrate');
    if (!next) {
      s.migrationsDone = true;
      return;
    }
    next.bootstrap = verdict.bootstrap;
    const token = s.nextToken++;
    s.current = { index: next.index, confirmToken: token, stopRequested: false };
    const db = dbs[0];
    this.enter(
      'migrating',
      verdict.bootstrap
        ? `primary with an empty database and nothing that forbids it (--bootstrap ${this.config.bootstrap}): initialising a new cluster`
        : 'primary with synced database, running migrations',
      'migrate.confirm',
      {
        db: db?.name,
        txid: db?.txid === undefined ? undefined : formatTxid(db.txid),
        bootstrap: verdict.bootstrap || undefined,
      },
    );
    // S1: confirm the role with a fresh /info immediately before the command starts.
    this.actions.push({ type: 'observe', token });
  }

  private fence(why: string, action: string): void {
    if (this.s.phase !== 'fenced') {
      this.enter('fenced', why, 'fence.enter', {
        level: 'error',
        action,
        fenceTimeoutMs: this.config.fenceTimeoutMs,
      });
      return;
    }
    if (this.now - this.s.since >= this.config.fenceTimeoutMs) {
      this.exit(
        EXIT.fenced,
        'error',
        'fence.exit',
        `still fenced after --fence-timeout: ${why}; exiting so LiteFS releases the lease`,
        { action },
      );
    }
  }

  private runCommand(cmd: CommandRecord): void {
    cmd.status = 'running';
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
      cmd.kind === 'migrate' ? 'primary confirmed, running migration' : 'running --before command',
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
      timeoutMs: this.config.migrateTimeoutMs,
    });
  }

  private startApp(why: 'start' | 'restart'): void {
    const app = this.s.app;
    if (why === 'restart') {
      app.restarts += 1;
      app.restartTimes = [...app.restartTimes, this.now];
    }
    app.status = 'starting';
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

  /** Enter (or stay in) a waiting phase; --sync-timeout bounds the whole wait (exit 5). */
  private wait(
    phase: Phase,
    reason: string,
    event: string,
    fields: Record<string, unknown> = {},
  ): void {
    const s = this.s;
    if (s.waitingSince === undefined || !WAITING.has(s.phase)) s.waitingSince = this.now;
    if (s.phase !== phase) this.enter(phase, reason, event, fields);
    const limit = this.config.syncTimeoutMs;
    if (limit > 0 && this.now - s.waitingSince >= limit) {
      this.exit(
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
  }

  // ---- helpers ---------------------------------------------------------------------------

  private pending(kind: CommandRecord['kind']): CommandRecord | undefined {
    return this.s.commands.find(
      (c) => c.kind === kind && (c.status === 'pending' || c.status === 'aborted'),
    );
  }

  private ordinal(cmd: CommandRecord): number {
    return this.s.commands.filter((c) => c.kind === cmd.kind && c.index <= cmd.index).length;
  }

  private enter(
    phase: Phase,
    reason: string,
    event: string,
    fields: Record<string, unknown>,
  ): void {
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

  private exit(
    code: number,
    level: LogLevel,
    event: string,
    msg: string,
    fields: Record<string, unknown>,
  ): void {
    this.log(level, event, msg, fields);
    this.enter('stopping', msg, 'supervisor.exit', { exitCode: code });
    this.s.exited = code;
    this.actions.push({ type: 'exit', code });
  }

  private log(level: LogLevel, event: string, msg: string, fields: Record<string, unknown>): void {
    const clean: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) clean[k] = v;
    this.actions.push({ type: 'log', level, event, msg, fields: clean });
  }
}
