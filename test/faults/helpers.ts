// Helpers for the fault-injection suite: a liveness probe that measures
// /health/live while a fault is under way, one fake LiteFS node wired to the built CLI, the
// counters every case asserts on (migrations run, app starts), and a small HTTP server that
// plays a peer answering garbage.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Test } from 'tap';
import { supervisorArgsFor } from '../../testkit/args.js';
import { FakeLitefs, type FakeLitefsOptions } from '../../testkit/fake-litefs.js';
import { type Cli, FIXTURES, getJson, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

export const node = process.execPath;

/**
 * The bound on GET /health/live while a fault is under way, asserted for every request of
 * every case (the first one included) and stated in docs/reliability.md ("Faults"). Not 200 ms:
 * on this project's 2-core machine with other suites running (load average 7-10), a request now
 * and then waits behind a busy CPU, most often the first one, made while the supervisor is
 * still loading its modules; the worst seen was about 1.1 s (docs/reliability.md says where the distribution each
 * file prints). A loop held up by a fault for good fails it, and so does one that stalls for
 * seconds (each request also has a 2 s deadline).
 */
export const LIVE_LIMIT_MS = 1500;

/** Every probe's figures, for the distribution printed when the file ends. */
const allProbes: ({ label: string } & ProbeResult)[] = [];

export interface ProbeResult {
  /** The latency of every request, in the order made, ms (the first one included). */
  latenciesMs: number[];
  /** Worst latency of any single request, ms. */
  maxMs: number;
  /** Requests that failed or did not answer 200 (with why). */
  failures: string[];
}

export interface LiveProbe {
  /** Waits until at least `n` requests were made (so a state was probed, not just entered). */
  waitSamples(n: number): Promise<void>;
  /** Stops polling; resolves with the figures once the last request has ended. */
  stop(): Promise<ProbeResult>;
}

/**
 * Polls `${url}/health/live` every `intervalMs` (default 50 ms) until stopped, recording the
 * latency of every request. Each request has its own 2 s deadline so a hung supervisor shows
 * up as a failure, not as a hung test.
 */
export function liveProbe(url: string, label: string, intervalMs = 50): LiveProbe {
  let stopped = false;
  const result: ProbeResult = { latenciesMs: [], maxMs: 0, failures: [] };
  const once = async (): Promise<number> => {
    const started = performance.now();
    try {
      const res = await fetch(`${url}/health/live`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status !== 200) result.failures.push(`HTTP ${res.status}`);
    } catch (err) {
      result.failures.push((err as Error).message);
    }
    const ms = performance.now() - started;
    result.latenciesMs.push(ms);
    result.maxMs = Math.max(result.maxMs, ms);
    return ms;
  };
  const loop = (async () => {
    while (!stopped) {
      const ms = await once();
      if (!stopped) await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - ms)));
    }
  })();
  return {
    async waitSamples(n) {
      await waitFor(() => result.latenciesMs.length >= n, {
        message: `${n} /health/live requests`,
      });
    },
    async stop() {
      stopped = true;
      await loop;
      allProbes.push({ label, ...result });
      return result;
    },
  };
}

/**
 * Asserts a probe's figures: every request answered 200, and every one (the first included)
 * within LIVE_LIMIT_MS. No rerun, no better-of-two: the bound is the one docs/reliability.md states.
 */
export function assertLive(t: Test, r: ProbeResult, what: string): void {
  const n = r.latenciesMs.length;
  t.same(r.failures, [], `${what}: /health/live answered 200 every time`);
  t.ok(n >= 3, `${what}: probed ${n} times`);
  const over = r.latenciesMs.flatMap((ms, i) =>
    ms > LIVE_LIMIT_MS ? [`request ${i + 1}: ${Math.round(ms)} ms`] : [],
  );
  const worst = r.latenciesMs.indexOf(r.maxMs) + 1;
  t.same(
    over,
    [],
    `${what}: each of ${n} /health/live requests within ${LIVE_LIMIT_MS} ms (worst ${r.maxMs.toFixed(1)} ms, request ${worst})`,
  );
}

/** The q-quantile (0..1) of sorted values, nearest rank. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

/**
 * Prints the distribution of every /health/live request this file made (p50, p99, max, and
 * the worst probe), as a tap comment: the distribution is read from these lines.
 */
export function reportProbes(t: Test): void {
  t.teardown(() => {
    if (allProbes.length === 0) return;
    const all = allProbes.flatMap((p) => p.latenciesMs).sort((a, b) => a - b);
    const worst = allProbes.reduce((a, b) => (b.maxMs > a.maxMs ? b : a));
    const worstAt = worst.latenciesMs.indexOf(worst.maxMs) + 1;
    const over = allProbes.filter((p) => p.maxMs > LIVE_LIMIT_MS).map((p) => p.label);
    t.comment(
      `/health/live: ${all.length} requests in ${allProbes.length} probes; p50 ${quantile(all, 0.5).toFixed(1)} ms, p99 ${quantile(all, 0.99).toFixed(1)} ms, max ${worst.maxMs.toFixed(1)} ms (${worst.label}, request ${worstAt} of ${worst.latenciesMs.length}); bound ${LIVE_LIMIT_MS} ms; probes over it: ${over.length === 0 ? 'none' : over.join(', ')}`,
    );
  });
}

/** Runs `fn` every `everyMs` for `forMs`: a fault that keeps recurring while the test watches. */
export async function repeatFor(
  forMs: number,
  everyMs: number,
  fn: (i: number) => void | Promise<void>,
): Promise<number> {
  const end = Date.now() + forMs;
  let i = 0;
  while (Date.now() < end) {
    await fn(i++);
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return i;
}

export function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

/** How many log records have this event. */
export const eventCount = (cli: Cli, event: string) =>
  cli.events().filter((e) => e === event).length;

/** How often the app was started (app.start events: the first start and every restart). */
export const appStarts = (cli: Cli) => cli.events().filter((e) => e === 'app.start').length;

/**
 * What every fault must leave untouched: the supervisor alive, the app started once and still
 * the same process (never restarted without cause).
 */
export function assertAppUntouched(t: Test, cli: Cli, readyFile: string, pid: number | undefined) {
  t.equal(cli.child.exitCode, null, 'alive');
  t.equal(appStarts(cli), 1, 'one app start');
  t.equal(readyPid(readyFile), pid, 'never restarted');
}

export async function status(url: string): Promise<Record<string, unknown>> {
  return (await getJson(`${url}/status`)).body;
}

export async function waitState(url: string, state: string, timeoutMs = 10_000): Promise<void> {
  await waitFor(async () => (await status(url)).state === state, {
    timeoutMs,
    message: `state ${state}`,
  });
}

/**
 * Sends `signal` to the supervisor and returns how it ended: the signal it died of (a requested
 * stop ends by the received signal, docs/design.md section 9), else its exit code.
 */
export async function stopWith(
  cli: Cli,
  signal: NodeJS.Signals,
): Promise<NodeJS.Signals | number | null> {
  cli.child.kill(signal);
  const end = await cli.exited;
  return end.signal ?? end.code;
}

/** One fake LiteFS node and the files of one supervisor run against it. */
export interface NodeRun {
  fake: FakeLitefs;
  dir: string;
  stateFile: string;
  migrateLog: string;
  signalLog: string;
  readyFile: string;
  env: NodeJS.ProcessEnv;
  /** Supervisor options for this node; `extra` go before the app command. */
  args(extra?: string[], app?: string[]): string[];
  start(extra?: string[], app?: string[]): Cli;
}

export const APP_FOREVER = [node, `${FIXTURES}app-forever.mjs`];
export const MIGRATE_OK = `${node} ${FIXTURES}migrate-ok.mjs m1`;

/**
 * A fake LiteFS node with `sqlite.db` at `txid` (0 with `empty`), in the given role, and the
 * supervisor's options for it: short poll, health on port 0, one quick migration.
 */
export async function nodeRun(
  t: Test,
  opts: {
    role: 'primary' | 'replica' | 'none';
    txid?: bigint;
    empty?: boolean;
    lag?: number | 'unsynced';
    fake?: FakeLitefsOptions;
    /** Where the state file goes (default `<dir>/state.json`). */
    stateFile?: (dir: string) => string;
  },
): Promise<NodeRun> {
  const dir = t.testdir();
  const fake = await FakeLitefs.start({ clusterId: 'LFSC00000000000000AA', ...opts.fake });
  t.teardown(() => fake.close());
  if (opts.empty) fake.writeDb('sqlite.db', { size: 0 });
  else {
    fake.writeDb('sqlite.db', { sqlite: true });
    fake.setPos('sqlite.db', opts.txid ?? 5n);
  }
  if (opts.role === 'primary') fake.becomePrimary();
  else if (opts.role === 'replica') {
    fake.becomeReplica('node-a');
    fake.setLag(opts.lag ?? 0);
  }
  const stateFile = opts.stateFile ? opts.stateFile(dir) : join(dir, 'state.json');
  const migrateLog = join(dir, 'migrate.log');
  const signalLog = join(dir, 'signals.log');
  const readyFile = join(dir, 'ready.json');
  const env = {
    FIXTURE_MIGRATE_LOG: migrateLog,
    FIXTURE_SIGNAL_LOG: signalLog,
    FIXTURE_READY_FILE: readyFile,
  };
  const args = (extra: string[] = [], app: string[] = APP_FOREVER) => [
    ...supervisorArgsFor(fake, { dataDir: dir, stateFile: stateFile }),
    '--min-free-disk',
    '0',
    '--migrate',
    MIGRATE_OK,
    ...extra,
    '--',
    ...app,
  ];
  return {
    fake,
    dir,
    stateFile,
    migrateLog,
    signalLog,
    readyFile,
    env,
    args,
    start: (extra, app) => startCli(t, args(extra, app), { env }),
  };
}

/** Writes a valid state file with a high-water mark for sqlite.db. */
export function writeHwm(path: string, txid: bigint, clusterId = 'LFSC00000000000000AA'): void {
  writeFileSync(
    path,
    JSON.stringify({
      version: 1,
      clusterId,
      dbs: {
        'sqlite.db': {
          txid: txid.toString(16).padStart(16, '0'),
          updatedAt: '2026-01-07T13:00:00.000Z',
        },
      },
    }),
  );
}

/** The pid the app fixture wrote when it became ready (it rewrites the file on every start). */
export function readyPid(file: string): number | undefined {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { pid: number }).pid;
  } catch {
    return undefined;
  }
}

/**
 * Waits for the app to be started and to have written its ready file; returns its pid. The
 * file is rewritten by every start, so the same pid at the end means it was never restarted.
 */
export async function appReady(cli: Cli, readyFile: string, timeoutMs = 15_000): Promise<number> {
  const pid = Number((await cli.waitEvent('app.started', undefined, timeoutMs)).pid);
  await waitFor(() => readyPid(readyFile) === pid, { timeoutMs, message: `app ${pid} ready` });
  return pid;
}

export type PeerBehaviour = (req: IncomingMessage, res: ServerResponse) => void;

/** A "peer" on 127.0.0.1 that answers every request with `behaviour`. */
export async function fakePeer(t: Test, behaviour: PeerBehaviour): Promise<string> {
  const server = createServer(behaviour);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** One "signal arrives in state X" case: how to get there, and what must hold after. */
export interface SignalCase {
  /** The state (docs/design.md section 5) the signal must arrive in. */
  state: string;
  node: Parameters<typeof nodeRun>[1];
  extra?: string[];
  app?: string[];
  /** More supervisor options that need the test (e.g. a fake peer's URL). */
  options?: (t: Test) => Promise<string[]>;
  /** Before the supervisor starts (e.g. stop the fake's API). */
  setup?: (run: NodeRun) => unknown;
  /** What must happen before the state is checked (e.g. a command running, a fence). */
  ready?: (run: NodeRun, cli: Cli) => Promise<unknown>;
  /** How soon after the signal the supervisor must have exited (default 3000 ms). */
  exitWithinMs?: number;
  /** Migration runs (migrate-ok's lines, m1) and app starts expected by the end. */
  migrations: number;
  appStarts: number;
  /** Extra assertions once the supervisor has exited. */
  after?: (t: Test, run: NodeRun, cli: Cli, signal: NodeJS.Signals) => void;
}

/**
 * Starts the supervisor, waits for the case's state while probing /health/live, sends the
 * signal and asserts that the supervisor died of it, that the exit was prompt, and the counters.
 */
export async function signalIn(t: Test, c: SignalCase, signal: NodeJS.Signals): Promise<void> {
  const run = await nodeRun(t, c.node);
  await c.setup?.(run);
  const more = (await c.options?.(t)) ?? [];
  const cli = run.start([...(c.extra ?? []), ...more], c.app);
  const url = await cli.healthUrl();
  const probe = liveProbe(url, `${signal} in ${c.state}`);
  await c.ready?.(run, cli);
  await waitState(url, c.state);
  await probe.waitSamples(4);
  assertLive(t, await probe.stop(), `in ${c.state}`);
  t.equal((await status(url)).state, c.state, `still ${c.state} when the signal is sent`);
  t.equal(cli.child.exitCode, null, 'alive until the signal');
  const sent = Date.now();
  cli.child.kill(signal);
  const end = await cli.exited;
  const tookMs = Date.now() - sent;
  t.same(end, { code: null, signal }, `ended by ${signal} (docs/design.md section 9)`);
  t.match(
    cli.records.find((r) => r.event === 'supervisor.signal-exit'),
    { signal },
    'supervisor.signal-exit logged',
  );
  t.ok(tookMs < (c.exitWithinMs ?? 3000), `exited promptly (${tookMs} ms)`);
  t.match(
    cli.records.find((r) => r.event === 'signal.received'),
    { signal },
  );
  t.equal(
    lines(run.migrateLog).filter((l) => l.startsWith('m1 ')).length,
    c.migrations,
    `${c.migrations} migration run(s)`,
  );
  t.equal(appStarts(cli), c.appStarts, `${c.appStarts} app start(s)`);
  t.equal(eventCount(cli, 'supervisor.crash'), 0, 'no internal error');
  c.after?.(t, run, cli, signal);
}
