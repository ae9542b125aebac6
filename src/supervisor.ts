// The runner: one event loop that feeds inputs to decide and carries out its actions.
// Every input (a poll, an /events message, a child exit, a signal, the wake) goes through
// dispatch -> decide -> execute, one at a time, so the state only ever changes in decide.
// All I/O is passed in (docs/design.md section 12, point 3): tests drive it with fakes and a virtual clock.

import type { Config } from './config/types.js';
import { decide } from './core/decide/index.js';
import { EXIT } from './core/exit-code.js';
import type { Observation } from './core/observation.js';
import {
  type Action,
  type CommandKind,
  configuredCommands,
  type Input,
  initialState,
  type SupervisorState,
} from './core/state.js';
import {
  type AppReadyWatch,
  type EventSource,
  type Ports,
  PortUnavailableError,
  type RunningApp,
  type RunningCommand,
} from './ports.js';

/** Lines of a command's output kept for its failure message (S1 retries). */
const OUTPUT_TAIL_LINES = 5;

/**
 * How often a running supervisor reads /info and the mount dir while LiteFS's /events stream is
 * connected (at most; never more often than --poll-interval). The stream announces what the
 * running state acts on (lease changes, each one followed by a full observation at once; and
 * transactions); a cut stream or any other state returns to --poll-interval at the next tick.
 * What the stream does not announce is `.lag`: the routes that report it ask for an observation
 * no older than --poll-interval (Supervisor.fresh), so they are as fresh as before. This is what
 * keeps idle CPU low (docs/performance.md, "Idle CPU"): a full observation is ~10 file reads and an HTTP round
 * trip.
 */
export const IDLE_POLL_MS = 10_000;

/** How long a health route waits for a fresh observation before answering with the newest. */
export const FRESH_WAIT_MS = 1_000;

/** What the runner is built with: the configuration, the environment children inherit, every port. */
export interface SupervisorDeps extends Ports {
  config: Config;
  /** The environment children inherit. */
  env: NodeJS.ProcessEnv;
  /**
   * Called after each decision, before its actions run: a hook for the tests (they check the
   * invariants here), not a port; nothing in production needs it, so it may be absent.
   */
  onDecision?: (prev: SupervisorState, next: SupervisorState, input: Input) => void;
}

export class Supervisor {
  private state: SupervisorState;
  private readonly queue: Input[] = [];
  private draining = false;
  private pollTimer: unknown;
  /** The one timer for the state's wake (decide's next deadline), and the time it is set for. */
  private wakeTimer: unknown;
  private wakeAt: number | undefined;
  private events: EventSource | undefined;
  private observing = false;
  /** When the newest completed observation was started (its `at`). */
  private observedAt: number | undefined;
  /** The newest observation read /info and every file without an error. */
  private observedClean = false;
  /** Callers of fresh() waiting for an observation started at or after their `since`. */
  private freshWaiters: { since: number; resolve: () => void }[] = [];
  /** Observation requested while one was in flight; with the newest token asked for. */
  private wanted: { token: number | undefined } | undefined;
  private command: { kind: CommandKind; label: string; handle: RunningCommand } | undefined;
  private app: RunningApp | undefined;
  /** The app's readiness probe while it runs and is not ready (--app-ready). */
  private readyWatch: AppReadyWatch | undefined;
  private finished = false;
  /** State-file writes, one after another; finish() waits for the last. */
  private persisting: Promise<void> = Promise.resolve();
  private readonly done: Promise<number>;
  private resolveDone!: (code: number) => void;

  constructor(private readonly deps: SupervisorDeps) {
    const { config } = deps;
    this.state = initialState(deps.clock.now(), configuredCommands(config));
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  /** The current state (read-only use: the health API). */
  get current(): SupervisorState {
    return this.state;
  }

  /** Start observing; resolves with the exit code once the supervisor has finished. */
  run(): Promise<number> {
    this.start().catch((err: unknown) => this.crash(err));
    return this.done;
  }

  private async start(): Promise<void> {
    // The high-water mark must be known before the first decision about this node's data.
    const load = await this.deps.loadHwm();
    if (load.kind !== 'not-kept') this.dispatch({ type: 'hwm-loaded', load });
    if (this.finished) return; // a stop signal arrived while the file was read
    this.events = this.deps.watchEvents((ev) => {
      this.dispatch({ type: 'litefs-event', event: ev });
      // A lease change is worth a full look at once (files, /info), not at the next poll.
      if (ev.type !== 'tx') this.requestObservation(undefined);
    });
    this.poll();
  }

  /** Feed one input (signals come in this way). Inputs are handled one at a time, in order. */
  dispatch(input: Input): void {
    if (this.finished) return;
    this.queue.push(input);
    if (this.draining) return;
    this.draining = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) {
        const { state, actions } = decide(
          this.state,
          next,
          this.deps.config,
          this.deps.clock.now(),
        );
        this.deps.onDecision?.(this.state, state, next);
        this.state = state;
        for (const action of actions) this.execute(action);
        this.setWake();
      }
    } catch (err) {
      this.crash(err);
    } finally {
      this.draining = false;
    }
  }

  /**
   * One timer for the state's wake: set again when decide moved the wake (or the timer fired
   * and a wake is still wanted), cleared when there is none. When it fires it delivers a `wake`
   * input; decide finds what is due by comparing the time with each deadline.
   */
  private setWake(): void {
    if (this.finished) return;
    const { clock } = this.deps;
    const at = this.state.wake?.at;
    if (at === this.wakeAt && (at === undefined || this.wakeTimer !== undefined)) return;
    if (this.wakeTimer !== undefined) clock.clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    this.wakeAt = at;
    if (at === undefined) return;
    this.wakeTimer = clock.setTimeout(
      () => {
        this.wakeTimer = undefined;
        this.dispatch({ type: 'wake' });
      },
      Math.max(0, at - clock.now()),
    );
  }

  private poll(): void {
    if (this.finished) return;
    // The tick stays at --poll-interval, so leaving the idle case (a cut stream, any state but
    // running) restores the full rate within one interval; only the observation is skipped.
    const age = this.observedAt === undefined ? Infinity : this.deps.clock.now() - this.observedAt;
    if (!this.idle() || age >= IDLE_POLL_MS - this.deps.config.pollInterval / 2) {
      this.requestObservation(undefined);
    }
    this.pollTimer = this.deps.clock.setTimeout(() => this.poll(), this.deps.config.pollInterval);
  }

  /**
   * Running, with /events connected, and the last observation read everything: polling may
   * slow to IDLE_POLL_MS. A failed read (LiteFS's API erring, the mount unreadable) polls at
   * --poll-interval until one succeeds, so a recovery is seen as soon as before.
   */
  private idle(): boolean {
    return (
      this.state.phase === 'running' && this.observedClean && this.events?.connected() === true
    );
  }

  /**
   * Resolves once the state holds an observation at most --poll-interval old (at once when
   * polling runs at that rate anyway), or after FRESH_WAIT_MS when LiteFS is slower than that:
   * the health routes that report `.lag` stay as fresh as full-rate polling made them.
   * Nothing in the state changes but what an earlier poll tick would have brought.
   */
  fresh(): Promise<void> {
    const { clock, config } = this.deps;
    const now = clock.now();
    if (this.finished || !this.idle()) return Promise.resolve();
    if (this.observedAt !== undefined && now - this.observedAt <= config.pollInterval) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const waiter = { since: now, resolve };
      this.freshWaiters.push(waiter);
      const timer = clock.setTimeout(() => this.settleFresh(waiter), FRESH_WAIT_MS);
      waiter.resolve = () => {
        clock.clearTimeout(timer);
        resolve();
      };
      this.requestObservation(undefined);
    });
  }

  private settleFresh(waiter: { since: number; resolve: () => void }): void {
    const i = this.freshWaiters.indexOf(waiter);
    if (i !== -1) this.freshWaiters.splice(i, 1);
    waiter.resolve();
  }

  /**
   * Take an observation; while one is in flight, ask for one more after it, so one that
   * carries a token was always started after the token was issued (S1: fresh /info).
   */
  private requestObservation(token: number | undefined): void {
    if (this.observing) {
      this.wanted = { token: token ?? this.wanted?.token };
      return;
    }
    this.observing = true;
    this.deps.observe().then(
      (observation) => {
        this.observing = false;
        this.observedAt = observation.at;
        this.observedClean = readCleanly(observation);
        this.dispatch({ type: 'observation', observation, ...(token ? { token } : {}) });
        for (const w of this.freshWaiters.filter((w) => observation.at >= w.since)) {
          this.settleFresh(w);
        }
        this.afterObservation();
      },
      (err: unknown) => {
        this.observing = false;
        this.crash(err);
      },
    );
  }

  private afterObservation(): void {
    const again = this.wanted;
    this.wanted = undefined;
    if (again && !this.finished) this.requestObservation(again.token);
  }

  private execute(action: Action): void {
    const { config, logger } = this.deps;
    switch (action.type) {
      case 'log':
        logger.log(action.level, { event: action.event, ...action.fields }, action.msg);
        return;
      case 'observe':
        this.requestObservation(action.token);
        return;
      case 'run-command': {
        const { kind, label, index } = action;
        const tail: string[] = [];
        const handle = this.deps.startCommand({
          command: action.command,
          label,
          env: { ...this.deps.env, ...action.env },
          timeoutMs: action.timeoutMs,
          killAfterMs: config.shutdownTimeout,
          onLine: (stream, line) => {
            tail.push(line);
            if (tail.length > OUTPUT_TAIL_LINES) tail.shift();
            logger.log('info', { event: `${kind}.output`, command: label, stream }, line);
          },
        });
        this.command = { kind, label, handle };
        this.dispatch({ type: 'command-started', index, pid: handle.pid });
        handle.result.then((r) => {
          this.command = undefined;
          this.dispatch({
            type: 'command-exit',
            index,
            exitCode: r.exitCode,
            signal: r.signal,
            timedOut: r.timedOut,
            spawnError: r.spawnError,
            durationMs: r.durationMs,
            outputTail: tail,
          });
        });
        return;
      }
      case 'stop-command':
        this.command?.handle.terminate(action.signal as NodeJS.Signals);
        return;
      case 'start-app':
        this.deps.startApp({ argv: config.command, env: this.deps.env }).then((res) => {
          if (!res.ok) {
            this.dispatch({ type: 'app-spawn-failed', exitCode: res.exitCode, error: res.error });
            return;
          }
          this.app = res.app;
          this.dispatch({ type: 'app-started', pid: res.app.pid });
          res.app.exited.then(({ exitCode, signal }) => {
            this.app = undefined;
            this.readyWatch?.cancel();
            this.readyWatch = undefined;
            this.dispatch({ type: 'app-exit', exitCode, signal });
          });
        });
        return;
      case 'watch-app-ready': {
        const { pid } = action;
        this.readyWatch?.cancel();
        const watch = this.deps.watchAppReady({ pid });
        this.readyWatch = watch;
        watch.ready.then((ready) => {
          if (this.readyWatch === watch) this.readyWatch = undefined;
          if (ready) this.dispatch({ type: 'app-ready', pid });
        });
        return;
      }
      case 'signal-app':
        this.app?.signal(action.signal as NodeJS.Signals);
        return;
      case 'stop-app':
        this.app?.terminate(action.signal as NodeJS.Signals, config.shutdownTimeout);
        return;
      case 'ask-peers':
        this.deps.askPeers(action.selfNodeId).then(
          (report) => this.dispatch({ type: 'peers', token: action.token, report }),
          (err: unknown) => this.crash(err),
        );
        return;
      case 'promote':
        this.deps.promote({ haltAt: action.haltAt, haltWaitMs: action.haltWaitMs }).then(
          (r) =>
            this.dispatch({
              type: 'promote-result',
              ok: r.ok,
              status: r.status,
              error: r.error,
              halt: r.halt,
            }),
          (err: unknown) => this.crash(err),
        );
        return;
      case 'handoff':
        this.deps.handoff(action.nodeId, { haltWaitMs: action.haltWaitMs }).then(
          (r) =>
            this.dispatch({
              type: 'handoff-result',
              nodeId: action.nodeId,
              ok: r.ok,
              error: r.error,
              halt: r.halt,
            }),
          (err: unknown) => this.crash(err),
        );
        return;
      case 'halt-self':
        this.deps.haltSelf({ dbs: action.dbs, waitMs: action.waitMs }).then(
          (halt) => this.dispatch({ type: 'self-halt-result', halt }),
          (err: unknown) => this.crash(err),
        );
        return;
      case 'unhalt-self':
        this.deps.unhaltSelf().then(
          (r) => this.dispatch({ type: 'self-unhalt-result', error: r.error }),
          (err: unknown) => this.crash(err),
        );
        return;
      case 'backup': {
        const { db, txid, expectedBytes } = action;
        this.deps.backup({ db, txid, expectedBytes }).then(
          (result) => this.dispatch({ type: 'backup-result', db, result }),
          (err: unknown) => this.crash(err),
        );
        return;
      }
      case 'write-record': {
        const { token, dbs, clusterId, node } = action;
        this.deps.writeRecord({ dbs, clusterId, node }).then(
          (result) => this.dispatch({ type: 'record-written', token, result }),
          (err: unknown) => this.crash(err),
        );
        return;
      }
      case 'persist-hwm':
        this.persisting = this.persisting.then(() =>
          this.deps.persistHwm(action.file).then(
            () => this.dispatch({ type: 'hwm-persisted', error: undefined }),
            (err: unknown) => {
              // A failed write is reported and changes nothing else (S10); a state file that
              // this mode does not keep is a bug, as in every other port.
              if (err instanceof PortUnavailableError) {
                this.crash(err);
                return;
              }
              this.dispatch({
                type: 'hwm-persisted',
                error: err instanceof Error ? err.message : String(err),
              });
            },
          ),
        );
        return;
      case 'compact-io': {
        const { id, io } = action;
        this.deps.compact(io).then(
          (result) => this.dispatch({ type: 'compact-io-result', id, result }),
          (err: unknown) => this.crash(err),
        );
        return;
      }
      case 'compact-cancel':
        this.deps.compactCancel();
        return;
      case 'compact-reply':
        this.deps.replyToCompact(action.id, action.reply);
        return;
      case 'exit':
        void this.finish(action.code);
        return;
    }
  }

  /** Stop everything we started, then resolve run() with the code. Nothing is left running. */
  private async finish(code: number): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    const { clock, config } = this.deps;
    clock.clearTimeout(this.pollTimer);
    if (this.wakeTimer !== undefined) clock.clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    for (const w of [...this.freshWaiters]) this.settleFresh(w);
    this.events?.close();
    this.readyWatch?.cancel();
    const waits: Promise<unknown>[] = [];
    if (this.command) {
      this.command.handle.terminate('SIGTERM');
      waits.push(this.command.handle.result);
    }
    if (this.app) {
      this.app.terminate('SIGTERM', config.shutdownTimeout);
      waits.push(this.app.exited);
    }
    waits.push(this.persisting);
    // S7: this node's own write lock is never left held (decide releases it before; this is the
    // backstop for an exit that came first).
    waits.push(this.deps.unhaltSelf());
    // Compaction: an import already sent is waited for; a copy not imported is removed.
    this.deps.compactCancel();
    waits.push(this.deps.compactSettle());
    await Promise.all(waits);
    this.resolveDone(code);
  }

  private crash(err: unknown): void {
    this.deps.logger.log(
      'error',
      { event: 'supervisor.crash', err, exitCode: EXIT.internal },
      'internal error; stopping',
    );
    void this.finish(EXIT.internal);
  }
}

/** Every part of the observation was read without an error (absent files are fine). */
function readCleanly(o: Observation): boolean {
  return (
    o.info.ok &&
    o.primaryFile.kind !== 'error' &&
    o.lag.kind !== 'error' &&
    o.dbs.every((db) => db.error === undefined && db.pos.kind !== 'error')
  );
}
