// decide: (state, input, config, now) -> (state, actions). The whole supervisor's logic.
// Pure: no I/O, no clock (now is an input), no randomness. The runner (src/supervisor.ts)
// carries the actions out and feeds the results back as inputs. Read it top to bottom:
// first the input is recorded, then `advance` chooses the next step from the facts.

import {
  applyLitefsEvent,
  clusterIdOf,
  type DbView,
  dbViewsOf,
  mergePoll,
  primaryHostnameOf,
  roleOf,
  syncOf,
} from './derive.js';
import { EXIT, signalExitCode } from './exit-code.js';
import type { HwmFile, HwmLoad } from './hwm-types.js';
import type { Observation } from './observation.js';
import { formatTxid } from './parse.js';
import type { PeerAnswer, PeerReport } from './peer-types.js';
import { type AnsweredPeer, handoverTarget, mostAdvancedCandidate, primaryPeer } from './peers.js';
import type { Policy } from './policy.js';
import { restartVerdict } from './restart.js';
import {
  HISTORY_LOST_REPAIR,
  mayHandOverOnStop,
  migrationRetry,
  primaryChecks,
  s1MayStartMigration,
  s5MayPromote,
  s5NewVersion,
  s6MustAbortMigration,
  s9DiskGuard,
  s11Rewinds,
} from './rules.js';
import { SHUTDOWN_SIGNALS, STOP_SIGNALS } from './signals.js';
import {
  type Action,
  type CommandRecord,
  type Input,
  type LogLevel,
  type PeerQuery,
  type Phase,
  type SupervisorState,
  TRANSITIONS_KEPT,
} from './state.js';

function describeDb(db: DbView): string {
  const txid = db.txid === undefined ? '-' : formatTxid(db.txid);
  const pages = db.pageCount === undefined ? '' : `/${db.pageCount}p`;
  const note = db.empty ? '(empty)' : db.historyLost ? '(history lost)' : '';
  return `${db.name}@${txid}${pages}${note}`;
}

export interface Decision {
  state: SupervisorState;
  actions: Action[];
}

/** At most one state-file write per 5 s (docs/design.md section 3), plus one at exit. */
const HWM_WRITE_INTERVAL_MS = 5000;
/** S4: how often a fenced node retries the handoff; S3: how often unanswered peers are re-asked. */
const HANDOFF_RETRY_MS = 3000;
const PEER_RETRY_MS = 3000;
/** S4: fenced time within this window adds up towards --fence-timeout (lease flaps). */
const FENCE_WINDOW_MS = 10 * 60_000;
/** S5: promotion requests before giving up and starting the app as a replica. */
const PROMOTE_ATTEMPTS = 3;

function describePeer(p: PeerAnswer): string {
  if (!p.ok) return 'no answer';
  const dbs = Object.entries(p.dbs).map(
    ([n, d]) => `${n}@${formatTxid(d.txid)}/${d.pageCount ?? '?'}p${d.hasData ? '' : '(no data)'}`,
  );
  return `${p.nodeId}${p.isPrimary ? '(primary)' : ''}${p.candidate ? '' : '(not candidate)'}[${p.evidence}]:${dbs.join('+')}`;
}

/** Phases bounded by --sync-timeout (a primary that cannot read its db waits in checking). */
const WAITING: ReadonlySet<Phase> = new Set([
  'waiting-for-litefs',
  'waiting-for-primary',
  'syncing',
  'checking',
]);

/** The last lines of a command's output, as one log field (undefined when there were none). */
function tailOf(lines: string[] | undefined): string | undefined {
  return lines && lines.length > 0 ? lines.join('\n') : undefined;
}

export function decide(prev: SupervisorState, input: Input, config: Policy, now: number): Decision {
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
    readonly config: Policy,
    readonly now: number,
  ) {}

  // ---- 1. Record what the input tells us -------------------------------------------------

  record(input: Input): void {
    switch (input.type) {
      case 'observation':
        this.observe(mergePoll(this.s.observation, input.observation));
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
        if (this.s.phase === 'restarting' && !this.s.shutdown) this.backoffOver();
        return;
      case 'handover-timer':
        return; // handingOver (from advance) compares the time

      case 'hwm-loaded':
        this.hwmLoaded(input.load);
        return;
      case 'hwm-persisted':
        if (input.error) {
          this.log('warn', 'hwm.write-fail', `could not write the state file: ${input.error}`, {
            stateFile: this.config.stateFile,
          });
        }
        return;
      case 'peers':
        this.peersAnswered(input.token, input.report);
        return;
      case 'promote-result':
        this.promoteAnswered(input);
        return;
      case 'handoff-result':
        this.handoffAnswered(input);
        return;
      case 'backup-result':
        this.backupDone(input);
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
    const info = obs.info.ok ? obs.info.value : undefined;
    if (info?.isPrimary && info.primaryHostname !== '') this.s.selfHostname = info.primaryHostname;
    const self = [this.config.hostname, this.s.selfHostname].filter((h): h is string => !!h);
    const role = roleOf(obs, self);
    const before = this.s.role;
    const primaryBefore = this.s.lastPrimary;
    if (role !== before) {
      this.log('info', 'role.change', `role is now ${role}`, {
        from: before,
        to: role,
        primary: primaryHostnameOf(obs),
      });
      this.s.role = role;
      if (role === 'primary') this.s.promote.done = true; // S5: nothing left to ask for
      if (before === 'primary') {
        // A new primary term starts from scratch: checks, bootstrap, backups (S2/S3/S8).
        this.s.primaryCleared = false;
        this.s.bootstrap = false;
        this.s.backedUp = [];
        // S1 retries count per primary term: a failed migration is tried afresh next term.
        for (const c of this.s.commands) {
          c.failures = 0;
          if (c.retryAt !== undefined) c.retryAt = this.now;
        }
        if (this.s.peers?.purpose === 'check') this.s.peers = undefined;
      }
    }
    this.noticeHistoryLost(obs, role);
    this.updateHwm(obs);
    // S11: a replica that sees a new primary asks the peers where it stands.
    const primaryNow = role === 'replica' ? primaryHostnameOf(obs) : undefined;
    if (
      primaryNow !== undefined &&
      primaryNow !== primaryBefore &&
      (before === 'primary' || primaryBefore !== undefined) &&
      this.config.peers !== undefined &&
      !this.config.standalone
    ) {
      this.askPeers('rewind');
    }
    if (role === 'replica' && primaryNow !== undefined) this.s.lastPrimary = primaryNow;
    if (role === 'primary') this.s.lastPrimary = undefined;
  }

  /**
   * S13: a gated db with data at TXID 0 lost its LTX history. Logged once per db (again if it
   * recovers and loses it anew), on any role: on a primary the checks fence it; on a replica it
   * is reported, and counts as data for S2/S3/S11 through hasData.
   */
  private noticeHistoryLost(obs: Observation, role: string): void {
    if (this.config.standalone) return;
    const lost = dbViewsOf(obs, this.config).filter((db) => db.historyLost);
    for (const db of lost) {
      if (this.s.historyLost.includes(db.name)) continue;
      this.log(
        'error',
        'db.history-lost',
        `${db.name} holds ${db.pageCount} pages at TXID 0: LiteFS has no transaction history for it (its LTX files are gone), so its next write would be a TXID 1 snapshot over every replica, or fail`,
        {
          db: db.name,
          pages: db.pageCount,
          pageSize: db.pageSize,
          txid: formatTxid(0n),
          role,
          hint: HISTORY_LOST_REPAIR,
        },
      );
    }
    this.s.historyLost = lost.map((db) => db.name);
  }

  /** docs/design.md section 3: the largest TXID seen per db; a synced replica follows its primary. */
  private updateHwm(obs: Observation): void {
    const s = this.s;
    if (this.config.standalone || !s.hwm.loaded || !obs.info.ok) return;
    const clusterId = clusterIdOf(obs);
    if (clusterId !== '' && s.hwm.clusterId !== clusterId) {
      if (s.hwm.clusterId !== '' && Object.keys(s.hwm.dbs).length > 0) {
        this.log(
          'warn',
          'hwm.cluster-changed',
          'the state file belongs to another cluster; starting a fresh high-water mark',
          {
            stateFile: this.config.stateFile,
            fileClusterId: s.hwm.clusterId,
            clusterId,
          },
        );
        s.hwm.dbs = {};
        s.hwm.peak = {};
      }
      s.hwm.clusterId = clusterId;
      s.hwm.dirty = true;
    }
    const syncedReplica = s.role === 'replica' && syncOf(obs, this.config.maxLag).synced;
    for (const db of obs.dbs) {
      if (db.error !== undefined || db.pos.kind !== 'present') continue;
      const txid = db.pos.value.txid;
      const prev = s.hwm.dbs[db.name];
      if (txid > (s.hwm.peak[db.name] ?? -1n)) s.hwm.peak[db.name] = txid;
      if (syncedReplica) {
        // A replica at TXID 0 follows a primary with no history (empty, or history lost:
        // LiteFS streams nothing from TXID 0): never lower the mark on that (section 3).
        if (txid === 0n) continue;
        if (prev !== undefined && txid < prev) {
          this.log(
            'error',
            'hwm.rewind',
            'this synced replica is now below its high-water mark: the cluster lost transactions somewhere',
            {
              db: db.name,
              txid: formatTxid(txid),
              hwm: formatTxid(prev),
              primary: primaryHostnameOf(obs),
            },
          );
        }
        if (prev !== txid) {
          s.hwm.dbs[db.name] = txid;
          s.hwm.dirty = true;
        }
      } else if (prev === undefined || txid > prev) {
        s.hwm.dbs[db.name] = txid;
        s.hwm.dirty = true;
      }
    }
    if (
      s.hwm.dirty &&
      (s.hwm.lastPersistAt === undefined || this.now - s.hwm.lastPersistAt >= HWM_WRITE_INTERVAL_MS)
    ) {
      this.persistHwm();
    }
  }

  private persistHwm(): void {
    const s = this.s;
    s.hwm.dirty = false;
    s.hwm.lastPersistAt = this.now;
    const updatedAt = new Date(this.now).toISOString();
    const dbs: HwmFile['dbs'] = {};
    for (const [name, txid] of Object.entries(s.hwm.dbs)) dbs[name] = { txid, updatedAt };
    this.actions.push({
      type: 'persist-hwm',
      file: { version: 1, clusterId: s.hwm.clusterId, dbs },
    });
  }

  private hwmLoaded(load: HwmLoad): void {
    const hwm = this.s.hwm;
    hwm.loaded = true;
    const stateFile = this.config.stateFile;
    switch (load.kind) {
      case 'ok':
        hwm.clusterId = load.file.clusterId;
        for (const [name, v] of Object.entries(load.file.dbs)) {
          hwm.dbs[name] = v.txid;
          hwm.peak[name] = v.txid;
        }
        this.log('info', 'hwm.loaded', 'high-water mark read from the state file', {
          stateFile,
          clusterId: load.file.clusterId || undefined,
          hwm:
            Object.entries(hwm.dbs)
              .map(([n, t]) => `${n}@${formatTxid(t)}`)
              .join(',') || undefined,
        });
        return;
      case 'missing':
        this.log(
          'info',
          'hwm.none',
          'no state file yet: no high-water mark (a new volume); peers still apply',
          { stateFile },
        );
        return;
      case 'corrupt':
        // S10: a damaged state file is reported and kept aside; it never stops the supervisor.
        this.log(
          'error',
          'hwm.corrupt',
          `the state file is damaged (${load.error}); kept aside and treated as no high-water mark (peers still apply)`,
          {
            stateFile,
            movedTo: load.movedTo,
          },
        );
        return;
      case 'unreadable':
        this.log(
          'error',
          'hwm.unreadable',
          `the state file cannot be read (${load.error}); treated as no high-water mark (peers still apply)`,
          { stateFile },
        );
        return;
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
        ? `timed out after --migrate-timeout ${this.config.migrateTimeout}ms`
        : input.spawnError
          ? `could not be started: ${input.spawnError}`
          : `exited with code ${input.exitCode}`;
      if (cmd.kind === 'migrate') {
        this.migrationFailed(cmd, why, { ...fields, output: tailOf(input.outputTail) });
        return;
      }
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

  /**
   * S1 retries (issue 12): a failed migration is tried again with backoff while this node stays
   * primary, each try re-confirmed by a fresh /info (primaryPath). With the app running it never
   * ends the supervisor; before the app started, running out of retries exits 3.
   */
  private migrationFailed(cmd: CommandRecord, why: string, fields: Record<string, unknown>): void {
    const s = this.s;
    cmd.failures += 1;
    cmd.lastOutput = typeof fields.output === 'string' ? fields.output.split('\n') : [];
    const appRunning = s.app.status === 'running';
    const verdict = migrationRetry(cmd.failures, this.config.migrateRetries, appRunning);
    const tries = `try ${cmd.failures} of ${this.config.migrateRetries + 1}`;
    if (verdict.kind === 'give-up') {
      this.exit(
        EXIT.commandFailed,
        'error',
        'migrate.fail',
        `--migrate command ${why} (${tries}, no retries left); the app is not started`,
        {
          ...fields,
          tries: cmd.failures,
          hint: 'fix the command or the database and redeploy; nothing after it was run. Fly restarts the machine; the other machines keep serving',
        },
      );
      return;
    }
    const retryAt = this.now + verdict.delayMs;
    cmd.retryAt = retryAt;
    const when = new Date(retryAt).toISOString();
    this.log(
      'error',
      'migrate.fail',
      verdict.kind === 'slow'
        ? `--migrate command ${why} (${tries}); retries used up: the app keeps running, trying again at ${when}`
        : `--migrate command ${why} (${tries}); retrying in ${verdict.delayMs}ms while this node stays primary`,
      { ...fields, tries: cmd.failures, retryAt: when, retryInMs: verdict.delayMs },
    );
    if (appRunning) {
      this.enter(
        'running',
        `app running as primary; migration ${this.ordinal(cmd)} failed, next try at ${when}`,
        'migrate.retry-wait',
        { level: 'warn', retryAt: when },
      );
    } else {
      this.enter(
        'migrating',
        `migration ${this.ordinal(cmd)} failed; next try at ${when}`,
        'migrate.retry-wait',
        { level: 'warn', retryAt: when },
      );
    }
  }

  private appStarted(pid: number): void {
    // A fence that began while the app was being spawned asked for it to stop (enterFence).
    const fencedWhileStarting = this.s.app.status === 'stopping' && !this.s.shutdown;
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
    if (fencedWhileStarting) {
      // S4: a fenced node writes nothing, so its app must not run either.
      this.s.app.status = 'stopping';
      this.log('warn', 'app.stop', 'stopping the app: this node was fenced while it started', {
        pid,
      });
      this.actions.push({ type: 'stop-app', signal: 'SIGTERM' });
      return;
    }
    this.enter('running', 'app started', 'state.running', {});
    this.s.waitingSince = undefined;
  }

  private appExited(exitCode: number, signal: string | undefined): void {
    const app = this.s.app;
    // A stop we asked for (S4 fence) is never the app ending the run, even when the fence
    // ended (the lease moved on) before the app finished stopping.
    const stopAsked = app.status === 'stopping' && !this.s.shutdown;
    app.status = 'exited';
    app.pid = undefined;
    app.lastExit = { exitCode, signal, at: this.now };
    const fields = {
      exitCode,
      signal,
      uptimeMs: app.startedAt ? this.now - app.startedAt : undefined,
    };
    if (this.s.fence || stopAsked) {
      // S4: we stopped it because this node is fenced: a stop we asked for, never restarted.
      this.log('info', 'app.exit', 'app stopped while fenced', fields);
      // S10: a SIGTERM/SIGINT that arrived while the fenced app was stopping ends the run now
      // (advance starts nothing once shutting down). The fence, not the app, ended the app's
      // run, so the code is the signal's 128+N, as for a fenced node without an app.
      if (this.s.shutdown) {
        const { signal, exitCode } = this.s.shutdown;
        this.exit(exitCode, 'info', 'supervisor.stop', `${signal} received while fenced; exiting`, {
          signal,
        });
      }
      return;
    }
    if (this.s.shutdown) {
      // docs/design.md section 9: the app's code (128+N after a signal) ends the run, also when
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
    const exitCode = signalExitCode(signal);
    const app = this.s.app;
    const appAlive =
      app.status === 'running' || app.status === 'starting' || app.status === 'stopping';
    const cmd = this.s.current ? this.s.commands[this.s.current.index] : undefined;
    const cmdRunning = cmd?.status === 'running';
    this.log('info', 'signal.received', `received ${signal}`, { signal });

    if (appAlive) {
      if (SHUTDOWN_SIGNALS.has(signal)) {
        const first = !this.s.shutdown;
        if (first) this.s.shutdown = { signal, exitCode };
        if (first && this.mayHandOver(cmdRunning)) {
          this.beginHandover(signal);
          return;
        }
        if (this.s.handover) {
          this.s.handover = undefined;
          this.log('warn', 'handover.abandon', `${signal} again: stopping the app now`, {});
        }
        app.status = app.status === 'starting' ? 'starting' : 'stopping';
        this.enter('stopping', `${signal} received; stopping the app`, 'state.stopping', {});
        if (app.status === 'stopping') {
          this.log('info', 'signal.forward', `forwarding ${signal} to the app`, {
            signal,
            pid: app.pid,
            shutdownTimeout: this.config.shutdownTimeout,
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

  private askPeers(purpose: PeerQuery['purpose']): void {
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

  private peersAnswered(token: number, report: PeerReport): void {
    const q = this.s.peers;
    if (!q || q.token !== token) return; // an answer to an older question
    q.report = report;
    const answered = report.answers.filter((a) => a.ok);
    const missing = report.answers.filter((a) => !a.ok);
    this.log(
      missing.length > 0 || report.discoveryError ? 'warn' : 'info',
      'peers.report',
      `${answered.length} peer(s) answered, ${missing.length} did not`,
      {
        peers:
          answered.map((a) => `${a.url}@${a.ok ? describePeer(a) : ''}`).join(',') || undefined,
        unanswered: missing.map((a) => `${a.url} (${a.ok ? '' : a.error})`).join(', ') || undefined,
        discoveryError: report.discoveryError,
      },
    );
    if (q.purpose === 'rewind') this.rewindCheck(q, report);
  }

  /** S11: best effort, never blocks. */
  private rewindCheck(q: PeerQuery, report: PeerReport): void {
    const own = dbViewsOf(this.s.observation, this.config).map((db) => ({
      ...db,
      txid: q.ownTxids[db.name] ?? db.txid,
    }));
    // The peak mark: a poll that straddles the lease change may already have lowered hwm.dbs.
    for (const r of s11Rewinds(own, this.s.hwm.peak, report, clusterIdOf(this.s.observation))) {
      this.s.rewindAlarms += 1;
      this.log(
        'error',
        'rewind.alarm',
        `the new primary is behind this replica (${r.why}): LiteFS will overwrite ${r.db} with a snapshot of the primary's older database`,
        {
          db: r.db,
          txid: formatTxid(r.own),
          primaryTxid: formatTxid(r.primary),
          primary: r.peer,
          backup: this.config.backupDir ? 'saving a copy now' : 'no --backup-dir: nothing saved',
        },
      );
      if (this.config.backupDir) {
        const db = own.find((d) => d.name === r.db);
        this.actions.push({
          type: 'backup',
          db: r.db,
          txid: r.own,
          expectedBytes: db?.sizeBytes ?? 0,
        });
      }
    }
  }

  private promoteAnswered(r: Extract<Input, { type: 'promote-result' }>): void {
    if (r.ok) {
      this.log(
        'info',
        'promote.sent',
        'LiteFS accepted the promotion request; waiting for the lease',
        {},
      );
      return;
    }
    if (r.status === 409) {
      this.s.promote.done = true;
      this.log(
        'warn',
        'promote.refused',
        `LiteFS refused: this node is not a candidate (${r.error}); carrying on as a replica`,
        {},
      );
      return;
    }
    this.log(
      'warn',
      'promote.fail',
      `promotion request failed: ${r.error}; retrying after --promote-timeout`,
      {
        status: r.status,
      },
    );
  }

  private handoffAnswered(r: Extract<Input, { type: 'handoff-result' }>): void {
    const h = this.s.handover;
    if (h && h.target === r.nodeId) {
      if (r.ok) {
        h.accepted = true;
        this.log(
          'info',
          'handover.accepted',
          `LiteFS is handing the lease to node ${r.nodeId}; the app runs until it has moved`,
          { nodeId: r.nodeId, elapsedMs: this.now - h.since },
        );
      } else {
        this.endHandover(
          'warn',
          'handover.fail',
          `handing the lease to node ${r.nodeId} failed: ${r.error}`,
          {
            nodeId: r.nodeId,
          },
        );
      }
      return;
    }
    const fence = this.s.fence;
    if (!fence) return;
    if (r.ok) {
      fence.handedTo = r.nodeId;
      this.log(
        'info',
        'handoff.accepted',
        `LiteFS is handing the lease to node ${r.nodeId}; this node will carry on as a replica`,
        { nodeId: r.nodeId },
      );
      return;
    }
    this.log(
      'warn',
      'handoff.fail',
      `handing the lease to node ${r.nodeId} failed: ${r.error}; retrying`,
      { nodeId: r.nodeId },
    );
  }

  private backupDone(r: Extract<Input, { type: 'backup-result' }>): void {
    const s = this.s;
    const wasPending = s.backupsPending.includes(r.db);
    s.backupsPending = s.backupsPending.filter((d) => d !== r.db);
    const res = r.result;
    if (res.kind === 'written') {
      this.log('info', 'backup.done', `saved ${r.db} before writing`, {
        db: r.db,
        path: res.path,
        bytes: res.bytes,
        removed: res.removed.join(',') || undefined,
      });
      if (res.retentionError !== undefined) {
        // The backup is written; only the pruning of older ones failed: say so, go on.
        this.log(
          'warn',
          'backup.retention-fail',
          `older backups of ${r.db} not pruned: ${res.retentionError}`,
          { db: r.db, error: res.retentionError },
        );
      }
    } else if (res.kind === 'skipped') {
      this.log('warn', 'backup.skip', `backup of ${r.db} skipped: ${res.why}`, { db: r.db });
    } else if (wasPending) {
      this.exit(
        EXIT.commandFailed,
        'error',
        'backup.fail',
        `backup of ${r.db} failed (${res.error}); not migrating without it`,
        {
          db: r.db,
          hint: 'fix --backup-dir (or remove it to migrate without backups) and redeploy',
        },
      );
      return;
    } else {
      this.log('error', 'backup.fail', `backup of ${r.db} failed: ${res.error}`, { db: r.db });
    }
    if (wasPending) s.backedUp = [...s.backedUp, r.db];
  }

  // ---- 2. Choose the next step from the facts ---------------------------------------------

  advance(input: Input): void {
    const s = this.s;
    if (s.shutdown) {
      if (s.handover) this.handingOver(input);
      return; // stopping: nothing new starts
    }
    if (this.commandInFlight(input)) return;
    const obs = s.observation;
    if (!obs) return;
    if (s.fence && this.fenced()) return;

    if (this.appActive()) {
      // S7: a node whose app runs and that becomes primary passes the checks at once.
      if (
        s.role === 'primary' &&
        (!s.primaryCleared || !s.migrationsDone) &&
        s.app.status === 'running'
      ) {
        this.primaryPath(true);
      } else if (s.phase !== 'running' && s.app.status === 'running' && !s.current) {
        this.enter('running', 'app running', 'state.running', {});
      }
      return;
    }
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
    if (s.role === 'primary' && !this.primaryPath(false)) return;
    if (s.role === 'replica') {
      const sync = syncOf(obs, this.config.maxLag);
      if (!sync.synced) {
        this.wait('syncing', `replica not synced yet: ${sync.detail}`, 'sync.wait', {
          lagMs: sync.lagMs,
        });
        return;
      }
      if (s.phase === 'syncing') {
        this.log('info', 'sync.done', `replica is synced: ${sync.detail}`, { lagMs: sync.lagMs });
      }
      if (this.promoting(obs)) return;
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

  private appActive(): boolean {
    const st = this.s.app.status;
    return (
      st === 'starting' || st === 'running' || st === 'stopping' || this.s.phase === 'restarting'
    );
  }

  /** A command in flight: S6 may stop a migration; an S1 confirmation may start one. */
  private commandInFlight(input: Input): boolean {
    const s = this.s;
    if (!s.current) return false;
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
      return true;
    }
    // Waiting for the S1 re-confirmation of a migration.
    const fresh = input.type === 'observation' && input.token === s.current.confirmToken;
    if (s1MayStartMigration(s.role, fresh)) {
      this.runCommand(cmd);
      return true;
    }
    if (!fresh && s.role === 'primary') return true; // still waiting for the fresh /info
    // Not primary any more (or no longer known): do not start it; re-decide.
    this.log('warn', 'migrate.skip', `not starting the migration: role is ${s.role}, not primary`, {
      command: cmd.command,
      index: this.ordinal(cmd),
    });
    s.current = undefined;
    return false;
  }

  /**
   * The primary's path: the checks (S2/S3, with the peers), then S8 backups, the S9 disk
   * guard and each migration behind S1. Returns true once nothing is left before the app.
   */
  private primaryPath(appRunning: boolean): boolean {
    const s = this.s;
    const config = this.config;
    const dbs = dbViewsOf(s.observation, config);
    if (!s.primaryCleared) {
      if (s.phase !== 'checking') {
        this.enter(
          'checking',
          appRunning
            ? 'this node became primary while its app runs; checking its databases (S7)'
            : 'this node is primary; checking its databases before it writes',
          'primary.check',
          {
            dbs: dbs.map(describeDb).join(','),
            hwm:
              Object.entries(s.hwm.dbs)
                .map(([n, t]) => `${n}@${formatTxid(t)}`)
                .join(',') || undefined,
          },
        );
      }
      const usePeers = config.peers !== undefined && !config.standalone;
      if (usePeers && (s.peers?.purpose !== 'check' || s.peers.firstAskedAt < s.since)) {
        this.askPeers('check');
        return false;
      }
      if (usePeers && !s.peers?.report) return false; // waiting for the answers
      const verdict = primaryChecks(
        {
          dbs,
          hwm: config.standalone ? {} : s.hwm.dbs,
          clusterId: clusterIdOf(s.observation),
          peers: usePeers ? s.peers?.report : undefined,
          waitedForPeersMs: s.peers ? this.now - s.peers.firstAskedAt : 0,
        },
        config,
      );
      if (verdict.kind === 'wait') {
        if (s.reason !== verdict.why)
          this.enter('checking', verdict.why, 'primary.wait-db', { level: 'warn' });
        if (verdict.askPeers && s.peers && this.now - s.peers.askedAt >= PEER_RETRY_MS)
          this.askPeers('check');
        this.wait('checking', verdict.why, 'primary.wait-db');
        return false;
      }
      if (verdict.kind === 'fence') {
        this.enterFence(verdict.why, verdict.action);
        return false;
      }
      s.primaryCleared = true;
      s.bootstrap = verdict.bootstrap;
      this.log(
        'info',
        'primary.cleared',
        verdict.bootstrap
          ? `primary with an empty database and nothing that says data exists elsewhere (--bootstrap ${config.bootstrap}): initialising a new cluster`
          : 'primary with a database that is not behind its high-water mark or any peer',
        {
          dbs: dbs.map(describeDb).join(','),
          peers: usePeers ? s.peers?.report?.answers.length : undefined,
        },
      );
    }
    const next = this.pending('migrate');
    if (next && appRunning && config.onPromotion === 'none' && !s.migrationsDone) {
      s.migrationsDone = true;
      this.log(
        'info',
        'migrate.skip',
        '--on-promotion none: not migrating after a promotion while the app runs',
        {},
      );
    }
    if (!next || s.migrationsDone) {
      s.migrationsDone = true;
      if (appRunning) this.enter('running', 'app running as primary', 'state.running', {});
      return true;
    }
    // S1 retries: a failed migration waits for its next try (the app, if running, keeps going).
    if (next.retryAt !== undefined && this.now < next.retryAt) return false;
    // S8: save each non-empty gated db before the first migration writes to it.
    if (config.backupDir && !s.bootstrap) {
      const todo = dbs.filter((db) => !db.empty && !s.backedUp.includes(db.name));
      if (todo.length > 0) {
        if (s.backupsPending.length === 0) {
          this.enter(
            'backing-up',
            `saving ${todo.map((d) => d.name).join(', ')} to ${config.backupDir} before migrating`,
            'backup.start',
            {},
          );
          for (const db of todo) {
            s.backupsPending.push(db.name);
            this.actions.push({
              type: 'backup',
              db: db.name,
              txid: db.txid ?? 0n,
              expectedBytes: db.sizeBytes,
            });
          }
        }
        return false;
      }
    }
    // S9: a migration on a nearly full volume is how the seed incident began.
    const disk = s9DiskGuard(s.observation?.disk, config.minFreeDisk);
    if (!disk.ok) {
      this.exit(EXIT.commandFailed, 'error', 'disk.refuse', `not migrating: ${disk.why}`, {
        hint: 'extend the volume or free space (see "full volume" in docs/deploying.md), or lower --min-free-disk',
      });
      return false;
    }
    next.bootstrap = s.bootstrap;
    const token = s.nextToken++;
    s.current = { index: next.index, confirmToken: token, stopRequested: false };
    const db = dbs[0];
    this.enter(
      'migrating',
      s.bootstrap
        ? 'initialising a new cluster: running migrations'
        : 'primary with synced database, running migrations',
      'migrate.confirm',
      {
        db: db?.name,
        txid: db?.txid === undefined ? undefined : formatTxid(db.txid),
        bootstrap: s.bootstrap || undefined,
        disk: disk.note,
      },
    );
    // S1: confirm the role with a fresh /info immediately before the command starts.
    this.actions.push({ type: 'observe', token });
    return false;
  }

  /** S5 sync-first promotion, before the app starts. True while a promotion is under way. */
  private promoting(obs: Observation): boolean {
    const s = this.s;
    if (!this.config.promote || this.config.standalone || s.promote.done || !obs.info.ok)
      return false;
    // The peak mark, not `hwm.dbs`: this observation has just lowered that to the position of
    // a synced replica, which would make "behind its mark" impossible to see here.
    const may = s5MayPromote(
      obs.info.value.candidate,
      true,
      dbViewsOf(obs, this.config),
      s.hwm.peak,
    );
    if (!may.ok) {
      s.promote.done = true;
      this.log('warn', 'promote.skip', `not asking for the lease: ${may.why}`, {});
      return false;
    }
    if (!s.promote.versionChecked) {
      // Issue 11: the lease moves once per new version, so ask the primary which one it runs.
      let primary: AnsweredPeer | undefined;
      if (
        this.config.promoteWhen === 'new-version' &&
        this.config.appVersion !== undefined &&
        this.config.peers !== undefined
      ) {
        const q = s.peers;
        if (q?.purpose !== 'promote') {
          this.enter(
            'promoting',
            'synced candidate asking the primary which app version it runs',
            'promote.version-check',
            { appVersion: this.config.appVersion },
          );
          this.askPeers('promote');
          return true;
        }
        if (!q.report) return true; // waiting for the answers
        primary = primaryPeer(q.report, clusterIdOf(obs));
      }
      const wants = s5NewVersion(this.config, primary);
      if (!wants.ok) {
        s.promote.done = true;
        this.log('info', 'promote.skip', `not asking for the lease: ${wants.why}`, {
          appVersion: this.config.appVersion,
          primaryVersion: primary?.appVersion,
        });
        return false;
      }
      s.promote.versionChecked = true;
      if (this.config.promoteWhen === 'new-version' && this.config.appVersion !== undefined) {
        this.log('info', 'promote.new-version', wants.why, {
          appVersion: this.config.appVersion,
          primaryVersion: primary?.appVersion,
        });
      }
    }
    const due =
      s.promote.lastAt === undefined || this.now - s.promote.lastAt >= this.config.promoteTimeout;
    if (!due) return true;
    if (s.promote.attempts >= PROMOTE_ATTEMPTS) {
      s.promote.done = true;
      this.log(
        'warn',
        'promote.give-up',
        `still a replica after ${PROMOTE_ATTEMPTS} promotion requests; starting the app as a replica`,
        {},
      );
      return false;
    }
    s.promote.attempts += 1;
    s.promote.lastAt = this.now;
    this.enter(
      'promoting',
      `synced candidate asking for the lease (attempt ${s.promote.attempts})`,
      'promote.request',
      {
        primary: primaryHostnameOf(obs),
      },
    );
    this.actions.push({ type: 'promote' });
    return true;
  }

  /** Issue 11: hand the lease over before stopping? (rules.ts mayHandOverOnStop) */
  private mayHandOver(commandRunning: boolean): boolean {
    const s = this.s;
    return mayHandOverOnStop({
      role: s.role,
      appRunning: s.app.status === 'running',
      commandRunning,
      fenced: s.fence !== undefined,
      config: this.config,
    });
  }

  /** Issue 11: the app keeps running while the peers are asked and the lease moves. */
  private beginHandover(signal: string): void {
    this.s.handover = { since: this.now, signal, target: undefined, accepted: false };
    this.enter(
      'stopping',
      `${signal} received; handing the lease to a synced candidate before stopping the app`,
      'handover.begin',
      { signal, handoffTimeout: this.config.handoffTimeout },
    );
    this.actions.push({ type: 'schedule-handover-timer', delayMs: this.config.handoffTimeout });
    this.askPeers('handover');
  }

  /**
   * Issue 11: the handover's next step. Done once LiteFS no longer shows this node as primary
   * (a 200 from /handoff only means the request was taken: docs/litefs-facts.md); no eligible candidate,
   * a failed /handoff or --handoff-timeout ends it too. Each end stops the app as before.
   */
  private handingOver(input: Input): void {
    const s = this.s;
    const h = s.handover!;
    if (s.app.status !== 'running') {
      s.handover = undefined; // the app ended by itself: appExited ends the run
      return;
    }
    if (s.role !== 'primary') {
      this.endHandover(
        'info',
        'handover.done',
        h.target === undefined
          ? `the lease left this node (role ${s.role}) before a handover was asked; stopping the app`
          : `the lease moved to node ${h.target} (this node is now ${s.role}); stopping the app`,
        { nodeId: h.target, primary: primaryHostnameOf(s.observation) },
      );
      return;
    }
    if (input.type === 'handover-timer' || this.now - h.since >= this.config.handoffTimeout) {
      this.endHandover(
        'warn',
        'handover.timeout',
        `the lease did not move within --handoff-timeout ${this.config.handoffTimeout}ms; stopping the app (LiteFS releases the lease when it exits)`,
        { nodeId: h.target, accepted: h.accepted },
      );
      return;
    }
    if (h.target !== undefined) return; // waiting for LiteFS to show the move
    const q = s.peers;
    if (q?.purpose !== 'handover' || !q.report) return; // waiting for the answers
    const own = dbViewsOf(s.observation, this.config);
    const self = [this.config.hostname, s.selfHostname].filter((x): x is string => !!x);
    const target = handoverTarget(
      q.report,
      own,
      clusterIdOf(s.observation),
      self,
      this.config.maxLag,
    );
    if (!target) {
      this.endHandover(
        'info',
        'handover.none',
        'no synced candidate that follows this node and has its data answered; stopping the app (LiteFS releases the lease when it exits)',
        {
          peers:
            q.report.answers
              .map((a) => `${a.url}@${a.ok ? describePeer(a) : 'no answer'}`)
              .join(',') || undefined,
        },
      );
      return;
    }
    h.target = target.nodeId;
    this.log(
      'info',
      'handover.request',
      `handing the lease to node ${target.nodeId} (${target.url}), the most advanced synced candidate, before stopping`,
      {
        nodeId: target.nodeId,
        peer: target.url,
        peerTxid: describePeer(target),
        lagMs: target.lagMs,
      },
    );
    this.actions.push({ type: 'handoff', nodeId: target.nodeId });
  }

  /** Issue 11: the handover is over, whatever its outcome: stop the app as before. */
  private endHandover(
    level: LogLevel,
    event: string,
    msg: string,
    fields: Record<string, unknown>,
  ): void {
    const s = this.s;
    const h = s.handover!;
    s.handover = undefined;
    this.log(level, event, msg, { ...fields, durationMs: this.now - h.since });
    if (s.app.status !== 'running') return;
    s.app.status = 'stopping';
    this.enter('stopping', `${h.signal} received; stopping the app`, 'state.stopping', {});
    this.log('info', 'signal.forward', `forwarding ${h.signal} to the app`, {
      signal: h.signal,
      pid: s.app.pid,
      shutdownTimeout: this.config.shutdownTimeout,
    });
    this.actions.push({ type: 'stop-app', signal: h.signal });
  }

  private enterFence(why: string, action: string): void {
    const s = this.s;
    s.fences += 1;
    s.fence = {
      since: this.now,
      why,
      action,
      attempts: 0,
      // The handoff retry interval holds across spells (lease flaps): see lastHandoffAt.
      lastAttemptAt:
        s.lastHandoffAt !== undefined && this.now - s.lastHandoffAt < HANDOFF_RETRY_MS
          ? s.lastHandoffAt
          : undefined,
      handedTo: undefined,
    };
    s.current = undefined;
    this.enter('fenced', why, 'fence.enter', {
      level: 'error',
      action,
      fenceTimeout: this.config.fenceTimeout,
    });
    if (s.app.status === 'running' || s.app.status === 'starting') {
      // S4/S7: a fenced node writes nothing, so its app must not run either.
      this.log('warn', 'app.stop', 'stopping the app: this node is fenced', { pid: s.app.pid });
      if (s.app.status === 'running') this.actions.push({ type: 'stop-app', signal: 'SIGTERM' });
      s.app.status = 'stopping';
    }
    this.fenced();
  }

  /**
   * S4: no writes; hand the lease to the most advanced connected candidate peer, retrying;
   * exit 4 after --fence-timeout. Returns false once the lease has moved (carry on).
   */
  private fenced(): boolean {
    const s = this.s;
    const fence = s.fence!;
    if (s.role !== 'primary') {
      this.log(
        'info',
        'fence.leave',
        `no longer primary (role ${s.role}); carrying on as a replica`,
        {
          handedTo: fence.handedTo,
          fencedMs: this.now - fence.since,
        },
      );
      s.fencedSpells = [...this.recentSpells(), { since: fence.since, until: this.now }];
      s.fence = undefined;
      s.peers = undefined;
      if (s.app.status === 'stopping' && s.app.pid === undefined) s.app.status = 'exited';
      return false;
    }
    const fencedMs =
      this.now -
      fence.since +
      this.recentSpells().reduce(
        (sum, spell) => sum + spell.until - Math.max(spell.since, this.now - FENCE_WINDOW_MS),
        0,
      );
    if (fencedMs >= this.config.fenceTimeout) {
      const flaps = this.recentSpells().length;
      this.exit(
        EXIT.fenced,
        'error',
        'fence.exit',
        flaps === 0
          ? `still fenced after --fence-timeout: ${fence.why}; exiting so LiteFS releases the lease`
          : `fenced for ${fencedMs}ms in the last ${FENCE_WINDOW_MS / 60_000} minutes across ${flaps + 1} spells (the lease keeps coming back): ${fence.why}; exiting so LiteFS releases the lease`,
        {
          action: fence.action,
          handoffAttempts: fence.attempts,
          fencedMs,
          spells: flaps + 1,
        },
      );
      return true;
    }
    if (fence.lastAttemptAt !== undefined && this.now - fence.lastAttemptAt < HANDOFF_RETRY_MS)
      return true;
    if (this.config.peers === undefined || this.config.standalone) {
      if (fence.lastAttemptAt === undefined) {
        fence.lastAttemptAt = this.now;
        this.log(
          'warn',
          'handoff.none',
          'no --peers to hand the lease to; waiting for --fence-timeout',
          {},
        );
      }
      return true;
    }
    // Each attempt asks the peers afresh: who is connected and most advanced changes.
    const q = s.peers;
    const fresh = q?.purpose === 'check' && q.askedAt >= (fence.lastAttemptAt ?? fence.since);
    if (!fresh) {
      this.askPeers('check');
      return true;
    }
    if (!q.report) return true; // waiting for the answers
    fence.lastAttemptAt = this.now;
    const own = dbViewsOf(s.observation, this.config);
    const target = mostAdvancedCandidate(q.report, own, clusterIdOf(s.observation));
    if (!target) {
      // S4: never to an empty peer or one with less than this node's evidence.
      this.log(
        'warn',
        'handoff.none',
        "no candidate peer with data and at least this node's evidence answered; not handing the lease to a peer that would write less; retrying",
        {
          own: own.map(describeDb).join(','),
          peers:
            q.report.answers
              .map((a) => `${a.url}@${a.ok ? describePeer(a) : 'no answer'}`)
              .join(',') || undefined,
        },
      );
      return true;
    }
    fence.attempts += 1;
    this.log(
      'info',
      'handoff.request',
      `handing the lease to node ${target.nodeId} (${target.url}), the most advanced candidate`,
      {
        nodeId: target.nodeId,
        peer: target.url,
        peerTxid: describePeer(target),
      },
    );
    s.lastHandoffAt = this.now;
    this.actions.push({ type: 'handoff', nodeId: target.nodeId });
    return true;
  }

  /** Fenced spells that ended inside the S4 window. */
  private recentSpells(): { since: number; until: number }[] {
    return this.s.fencedSpells.filter((spell) => spell.until > this.now - FENCE_WINDOW_MS);
  }

  private runCommand(cmd: CommandRecord): void {
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
      timeoutMs: this.config.migrateTimeout,
    });
  }

  /**
   * The restart backoff is over: it counts as a restart (--restart-max) either way. The app
   * starts again at once, unless this node became primary during the backoff: then, as at a
   * first start, its checks (S2/S3, fenced if behind) and migrations come before the app
   * (`advance` takes that path from `checking`). Restarting it directly would run the app as
   * primary on a database nobody checked, until S7 noticed and stopped it.
   */
  private backoffOver(): void {
    const s = this.s;
    s.app.restarts += 1;
    s.app.restartTimes = [...s.app.restartTimes, this.now];
    if (s.role === 'primary' && (!s.primaryCleared || !s.migrationsDone)) {
      this.enter(
        'checking',
        `this node became primary while the app waited to restart (restart ${s.app.restarts}); checking its databases before the app starts`,
        'primary.check',
        {},
      );
      return;
    }
    this.startApp('restart');
  }

  private startApp(why: 'start' | 'restart'): void {
    const app = this.s.app;
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
    // /status says why it waits now, not why it began to (e.g. lag fine, db not replicated
    // yet); the log line is written on entering the phase only.
    else s.reason = reason;
    const limit = this.config.syncTimeout;
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

  /** The next command of `kind` still to run: never run, aborted (S6), or waiting to retry. */
  private pending(kind: CommandRecord['kind']): CommandRecord | undefined {
    return this.s.commands.find(
      (c) =>
        c.kind === kind &&
        (c.status === 'pending' || c.status === 'aborted' || c.retryAt !== undefined),
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
    // The last high-water mark write, at shutdown (docs/design.md section 3).
    if (this.s.hwm.loaded && this.s.hwm.dirty && !this.config.standalone) this.persistHwm();
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
