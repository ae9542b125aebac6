// The Supervisor with every I/O faked and a virtual clock (docs/design.md section 12, point 3, as concurrently
// tests its restart policy): timers fire only when a test advances the clock, each app the
// supervisor starts is a record the test makes exit, and every timer ever set is kept with
// its delay, so a test can assert exactly what was scheduled.

import {
  noCompaction,
  noEvents,
  noPeers,
  noRecord,
  noStateFile,
  unavailable,
} from '../../src/cli/adapters-none.js';
import type { CompactReply } from '../../src/core/compact.js';
import { checkInvariants } from '../../src/core/invariants.js';
import type { Observation } from '../../src/core/observation.js';
import type { RunningApp, RunningCommand } from '../../src/ports.js';
import { Supervisor, type SupervisorDeps } from '../../src/supervisor.js';
import { testConfig } from './builders.js';

export function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Let promise callbacks and the supervisor's queue run. */
export const settle = () => new Promise((r) => setImmediate(r));

export interface FakeApp {
  startedAt: number;
  /** Signals forwarded (`SIGHUP`) and stops asked for (`terminate:SIGTERM`), in order. */
  signals: string[];
  exit(end: { exitCode: number; signal?: string }): void;
}

export interface TimerRecord {
  id: number;
  /** Virtual time it was set, its delay, and when it is due. */
  setAt: number;
  ms: number;
  at: number;
  state: 'pending' | 'fired' | 'cleared';
  fn: () => void;
}

export class Harness {
  now = 0;
  readonly timers: TimerRecord[] = [];
  private nextId = 1;
  readonly observations: { started: number; answer: (o: Observation) => void }[] = [];
  readonly commands: { command: string; done: (code: number) => void; terminated: string[] }[] = [];
  readonly apps: FakeApp[] = [];
  /** Readiness probes asked for (--app-ready): answer one with `ready(true)`. */
  readonly readyWatches: { pid: number; ready: (ok: boolean) => void; cancelled: boolean }[] = [];
  readonly logs: Record<string, unknown>[] = [];
  /** Lines the runner sent to a `compact` command. */
  readonly compactReplies: { id: number; reply: CompactReply }[] = [];
  /** S7: this node's own write lock, taken (`halt`) and released (`unhalt`), in order. */
  readonly selfHalts: string[] = [];
  /** Invariants (src/core/invariants.ts) broken by any decision; each also fails the file. */
  readonly violations: string[] = [];
  readonly deps: SupervisorDeps;

  constructor(over: Partial<SupervisorDeps['config']> = {}) {
    this.deps = {
      config: testConfig(over),
      env: {},
      clock: {
        now: () => this.now,
        setTimeout: (fn, ms) => {
          const timer: TimerRecord = {
            id: this.nextId++,
            setAt: this.now,
            ms,
            at: this.now + ms,
            state: 'pending',
            fn,
          };
          this.timers.push(timer);
          return timer.id;
        },
        clearTimeout: (id) => {
          const timer = this.timers.find((x) => x.id === id);
          if (timer?.state === 'pending') timer.state = 'cleared';
        },
      },
      logger: { log: (level, fields, msg) => this.logs.push({ level, msg, ...fields }) },
      observe: () => {
        const d = deferred<Observation>();
        this.observations.push({ started: this.now, answer: d.resolve });
        return d.promise;
      },
      startCommand: (opts): RunningCommand => {
        const d = deferred<{
          exitCode: number;
          signal: string | undefined;
          timedOut: boolean;
          durationMs: number;
        }>();
        const rec = {
          command: opts.command,
          done: (code: number) =>
            d.resolve({ exitCode: code, signal: undefined, timedOut: false, durationMs: 1 }),
          terminated: [] as string[],
        };
        this.commands.push(rec);
        return {
          pid: 100,
          result: d.promise,
          terminate: (sig = 'SIGTERM') => rec.terminated.push(sig),
        };
      },
      startApp: async () => {
        const d = deferred<{ exitCode: number; signal: string | undefined }>();
        const rec: FakeApp = {
          startedAt: this.now,
          signals: [],
          exit: ({ exitCode, signal }) => d.resolve({ exitCode, signal }),
        };
        this.apps.push(rec);
        const app: RunningApp = {
          pid: 200 + this.apps.length,
          exited: d.promise,
          signal: (s) => rec.signals.push(s),
          terminate: (s) => rec.signals.push(`terminate:${s}`),
        };
        return { ok: true, app };
      },
      watchAppReady: ({ pid }) => {
        const d = deferred<boolean>();
        const rec = { pid, ready: d.resolve, cancelled: false };
        this.readyWatches.push(rec);
        return {
          ready: d.promise,
          cancel: () => {
            rec.cancelled = true;
            d.resolve(false);
          },
        };
      },
      // The ports this harness fakes nothing behind, each explicit (src/cli/adapters-none.ts):
      // no /events stream (a test that needs one replaces watchEvents), no state file, no
      // --peers, and no LiteFS API: a test that makes decide promote, hand off or back up
      // fails with 70 naming the port, until it fakes that port.
      watchEvents: noEvents,
      ...noStateFile('this harness keeps no state file'),
      ...noPeers,
      ...noRecord,
      promote: unavailable('promote', 'this harness fakes no LiteFS API'),
      handoff: unavailable('handoff', 'this harness fakes no LiteFS API'),
      backup: unavailable('backup', 'this harness fakes no LiteFS API'),
      // S7: this node's own write lock, granted at once (every release recorded, the one the
      // runner makes when it stops too).
      haltSelf: ({ dbs }) => {
        this.selfHalts.push('halt');
        return Promise.resolve({ kind: 'held', dbs, waitedMs: 0 });
      },
      unhaltSelf: () => {
        this.selfHalts.push('unhalt');
        return Promise.resolve({ error: undefined });
      },
      ...noCompaction,
      replyToCompact: (id, reply) => this.compactReplies.push({ id, reply }),
      // Every decision the runner takes must keep the core's invariants. Thrown outside the
      // runner's try (which would turn it into exit 70), so tap fails the file on it.
      onDecision: (prev, next, input) => {
        const broken = checkInvariants(next, prev, this.now, this.deps.config);
        if (broken.length === 0) return;
        this.violations.push(...broken);
        queueMicrotask(() => {
          throw new Error(`invariant broken after ${input.type}: ${broken.join('; ')}`);
        });
      },
    };
  }

  /** A running supervisor, once it has read its (here: absent) state file and polls. */
  async supervisor(): Promise<{ sup: Supervisor; done: Promise<number> }> {
    const sup = new Supervisor(this.deps);
    const done = sup.run();
    await settle();
    return { sup, done };
  }

  /** Advance the virtual clock by `ms`, firing due timers in order, each at its own time. */
  async tick(ms: number): Promise<void> {
    const target = this.now + ms;
    for (;;) {
      const due = this.pending()
        .filter((x) => x.at <= target)
        .sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.now = due.at;
      due.state = 'fired';
      due.fn();
      await settle();
    }
    this.now = target;
    await settle();
  }

  pending(): TimerRecord[] {
    return this.timers.filter((x) => x.state === 'pending');
  }

  /** Timers whose delay is not the poll interval: the restart backoff, in this harness. */
  backoffTimers(): TimerRecord[] {
    return this.timers.filter((x) => x.ms !== this.deps.config.pollInterval);
  }

  events(): string[] {
    return this.logs.map((l) => String(l.event));
  }

  logsOf(event: string): Record<string, unknown>[] {
    return this.logs.filter((l) => l.event === event);
  }
}
