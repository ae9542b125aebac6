// Real LiteFS on one machine, for test/real and `npm run demo:incident -- --real`:
// `litefs mount` processes against the Consul stand-in, each with its own dirs, ports and lease
// hostname, the built CLI as exec command. Everything started here is stopped through the
// owner's teardown (tap's t.teardown, or the demo's), and on process exit as a last resort (a
// failed or timed-out test file must not leave FUSE mounts or LiteFS processes behind).
// Development only: testkit is not part of the npm package.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import type * as Preflight from '../scripts/real-preflight.mjs';

/** Who owns a cluster: its teardown stops everything (tap's Test fits). */
export interface Owner {
  teardown(fn: () => unknown): void;
  passing?(): boolean;
  comment?(message: string): void;
}

import { CLI, ROOT } from './paths.js';
import { freePort, waitFor } from './wait.js';

export { CLI, freePort, ROOT, waitFor };

export const EXAMPLE = join(ROOT, 'example');
export const FIXTURES = join(ROOT, 'test/fixtures/');

// What the real suite needs is checked in one place, scripts/real-preflight.mjs, which CI also
// runs before anything is installed. Loaded from the repository root: this module runs both as
// TypeScript (testkit/) and built (dist-testkit/testkit/), at different depths.
const preflight = (await import(
  pathToFileURL(join(ROOT, 'scripts', 'real-preflight.mjs')).href
)) as typeof Preflight;

/** ../shared/litefs next to the repository (CI clones it there): LiteFS and the stand-in. */
export const SHARED_LITEFS = preflight.SHARED_LITEFS;

export type LogRecord = Record<string, string>;

/**
 * One logfmt line as a record: LiteFS's own (`level=INFO msg="..."`, no event) and the
 * supervisor's (`level=... msg=... event=...`) alike; other lines (the app's) give undefined.
 * Each record gets `at`, when the test read it (ms since epoch), for reaction times.
 */
export function parseLine(line: string): LogRecord | undefined {
  const re = /([A-Za-z_][\w.]*)=("(?:[^"\\]|\\.)*"|\S*)/g;
  const out: LogRecord = {};
  let m = re.exec(line);
  if (m?.index !== 0) return undefined;
  while (m) {
    const raw = m[2] ?? '';
    try {
      out[m[1]!] = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    } catch {
      out[m[1]!] = raw;
    }
    m = re.exec(line);
  }
  if (!out.level) return undefined;
  out.at = String(Date.now());
  return out;
}

/** Why real LiteFS cannot run here (everything missing, `; `-separated), or undefined. */
export function realSkipReason(): string | undefined {
  const { missing } = preflight.realPreflight();
  if (missing.length > 0) return missing.join('; ');
  if (!existsSync(CLI)) return `${CLI} is missing: run npm run build first`;
  return undefined;
}

/** The LiteFS binary: LITEFS_BIN, else `litefs` on PATH, else ../shared/litefs/litefs. */
export function findLitefs(): { bin: string } | { missing: string } {
  return preflight.findLitefs();
}

/** The Consul stand-in: CONSUL_STANDIN, else ../shared/litefs/consul-standin.mjs. */
export function findConsulStandin(): string | undefined {
  const found = preflight.findConsulStandin();
  return 'script' in found ? found.script : undefined;
}

// ---- last-resort cleanup ------------------------------------------------------------------

const liveProcesses = new Set<ChildProcess>();
const liveMounts = new Set<string>();
/** Process groups of the apps the supervisors started (their own groups: LiteFS's kill misses them). */
const appGroups = new Set<number>();

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {}
}
let exitHookInstalled = false;

function isMounted(dir: string): boolean {
  try {
    const target = resolve(dir);
    return readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .some((line) => line.split(' ')[1] === target);
  } catch {
    return false;
  }
}

/** tmpfs data volumes (ClusterOptions.volumeMb) still mounted. */
const liveVolumes = new Set<string>();

function unmountVolume(vol: string): void {
  if (!liveVolumes.delete(vol)) return;
  try {
    execFileSync('umount', [vol], { stdio: 'ignore' });
  } catch {
    try {
      execFileSync('umount', ['-l', vol], { stdio: 'ignore' });
    } catch {}
  }
}

function unmount(dir: string): void {
  if (!isMounted(dir)) return;
  try {
    execFileSync('fusermount3', ['-u', dir], { stdio: 'ignore' });
  } catch {
    try {
      execFileSync('fusermount3', ['-uz', dir], { stdio: 'ignore' });
    } catch {}
  }
}

/** Kills everything still running and unmounts every mount, synchronously. */
function cleanUpNow(): void {
  for (const child of liveProcesses) {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {}
    try {
      child.kill('SIGKILL');
    } catch {}
  }
  for (const pid of appGroups) killGroup(pid);
  for (const dir of liveMounts) unmount(dir);
  for (const vol of [...liveVolumes]) unmountVolume(vol);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', cleanUpNow);
  // tap ends a timed-out test file with SIGTERM, and 'exit' does not run on a signal death:
  // clean up, then die of the signal as before.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.once(signal, () => {
      cleanUpNow();
      process.kill(process.pid, signal);
    });
  }
}

function track(child: ChildProcess): void {
  installExitHook();
  liveProcesses.add(child);
  child.once('exit', () => liveProcesses.delete(child));
}

// ---- Consul stand-in -------------------------------------------------------------------------

export interface Consul {
  url: string;
  state(): Promise<ConsulState>;
  /** The session holding the lease key, if any. */
  leaseHolder(key: string): Promise<string | undefined>;
  /** A KV value as text (`GET /v1/kv/<key>`), or undefined when the key does not exist (404). */
  kv(key: string): Promise<string | undefined>;
  /** Deletes a KV key (`DELETE /v1/kv/<key>`), as an operator's `consul kv delete` does. */
  deleteKv(key: string): Promise<void>;
  /** From now on KV requests for keys under `prefix` answer 500; the lease keeps working. */
  failKv(prefix: string): Promise<void>;
  /** Ends failKv. */
  endFailKv(): Promise<void>;
  /** The lease key as Consul holds it now (see LeaseSample). */
  lease(key: string): Promise<LeaseSample>;
  /**
   * Samples the lease key every `intervalMs` (default 25) until stopped or the owner's
   * teardown: the evidence for how a lease moved (test/real/harness.ts). A lock-delay (1 s
   * here) and a key left unlocked between two holders (LiteFS's 1 s reconnect delay) last far
   * longer than that. Resolves once a first sample is in, so the state before the test's next
   * action is on record.
   */
  watchLease(key: string, opts?: { intervalMs?: number }): Promise<LeaseWatch>;
  stop(): Promise<void>;
}

export interface ConsulState {
  sessions: { ID: string; Name?: string }[];
  kv: { Key: string; Session?: string }[];
}

/**
 * The lease key at one moment: the key's entry as Consul's KV API returns it, with the value
 * LiteFS wrote (litefs.PrimaryInfo: hostname, advertise-url), and from the stand-in's
 * `GET /_fake/state` the live sessions (ms left of each TTL window) and the key's lock-delay.
 * Two reads, one after the other (see readLease).
 */
export interface LeaseSample {
  /** When it was read (ms since epoch). */
  at: number;
  /** The key's entry, or undefined when the key does not exist (404). */
  key?: LeaseKey;
  /** The live sessions: id, name and the ms left of its TTL window (null without a TTL). */
  sessions: { id: string; name: string; expiresInMs: number | null }[];
  /** The ms left of the key's lock-delay, when one runs. */
  lockDelayMs?: number;
}

export interface LeaseKey {
  /** The session holding the lock, or undefined when the key is unlocked. */
  session?: string;
  lockIndex: number;
  /** The value as text: LiteFS's PrimaryInfo JSON, empty after a release. */
  value: string;
  /** From the value: the holder's lease.hostname and lease.advertise-url. */
  hostname?: string;
  advertiseURL?: string;
}

export interface LeaseWatch {
  /** Every sample so far, oldest first. */
  samples(): LeaseSample[];
  /**
   * The first sample taken at or after `since` (ms since epoch; default: now) for which `pred`
   * holds, waiting for it up to `timeoutMs` (default 20 s).
   */
  until(
    pred: (s: LeaseSample) => boolean,
    opts?: { since?: number; timeoutMs?: number; message?: string },
  ): Promise<LeaseSample>;
  stop(): Promise<void>;
}

/** One line per change of the lease key, for a test's comment or a failure's diagnostic. */
export function describeLease(samples: LeaseSample[]): string {
  const lines: string[] = [];
  let last = '';
  const t0 = samples[0]?.at ?? 0;
  for (const s of samples) {
    const k = s.key;
    const held = k?.session ? `held by ${k.session.slice(0, 8)} for ${k.hostname ?? '?'}` : '';
    const key = !k ? 'no key' : held || `unlocked (value ${JSON.stringify(k.value)})`;
    const delay = s.lockDelayMs === undefined ? '' : ', lock-delay running';
    const sessions = s.sessions.map((x) => x.id.slice(0, 8)).join(' ');
    const line = `${key}${delay}; sessions [${sessions}]`;
    if (line !== last) lines.push(`+${s.at - t0} ms: ${line}`);
    last = line;
  }
  return lines.join('\n');
}

export async function startConsul(
  t: Owner,
  opts: { ttlMin?: string; ttlMultiplier?: number } = {},
): Promise<Consul> {
  const script = findConsulStandin()!;
  const child = spawn(
    process.execPath,
    [
      script,
      '--port',
      '0',
      '--session-ttl-min',
      opts.ttlMin ?? '2s',
      '--ttl-multiplier',
      String(opts.ttlMultiplier ?? 1),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  track(child);
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const url = await waitFor(() => /listening on (http:\/\/\S+)/.exec(err)?.[1], {
    timeoutMs: 10_000,
    message: 'Consul stand-in listening',
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await once(child, 'exit');
  };
  t.teardown(stop);
  const control = async (path: string) => {
    const res = await fetch(`${url}${path}`, { method: 'POST', signal: AbortSignal.timeout(2000) });
    const text = await res.text();
    if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${text}`);
  };
  const state = async (): Promise<ConsulState> => {
    const res = await fetch(`${url}/_fake/state`);
    const body = (await res.json()) as Record<string, unknown>;
    return normaliseConsulState(body);
  };
  return {
    url,
    state,
    async leaseHolder(key) {
      const s = await state();
      return s.kv.find((e) => e.Key.endsWith(key) && e.Session)?.Session;
    },
    async kv(key) {
      const res = await fetch(`${url}/v1/kv/${key}`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 404) {
        await res.arrayBuffer();
        return undefined;
      }
      if (!res.ok) throw new Error(`GET /v1/kv/${key}: ${res.status} ${await res.text()}`);
      const [entry] = (await res.json()) as { Value: string | null }[];
      return entry?.Value ? Buffer.from(entry.Value, 'base64').toString('utf8') : '';
    },
    async deleteKv(key) {
      const res = await fetch(`${url}/v1/kv/${key}`, {
        method: 'DELETE',
        signal: AbortSignal.timeout(2000),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`DELETE /v1/kv/${key}: ${res.status} ${text}`);
    },
    async failKv(prefix) {
      await control(`/_fake/fail-kv/start?prefix=${encodeURIComponent(prefix)}`);
    },
    async endFailKv() {
      await control('/_fake/fail-kv/end');
    },
    lease: (key) => readLease(url, key),
    async watchLease(key, opts = {}) {
      const watch = watchLease(url, key, opts.intervalMs ?? 25);
      t.teardown(() => watch.stop());
      await waitFor(() => watch.samples().length > 0, {
        timeoutMs: 10_000,
        message: `a first sample of ${key}`,
      });
      return watch;
    },
    stop,
  };
}

async function readLease(url: string, key: string): Promise<LeaseSample> {
  const at = Date.now();
  // The state first, then the key: a sample that shows a session gone shows the key as its end
  // left it (deleted, unlocked), never the key as it was before.
  const stateRes = await fetch(`${url}/_fake/state`, { signal: AbortSignal.timeout(2000) });
  const state = (await stateRes.json()) as {
    sessions?: { ID: string; Name?: string; ExpiresInMs?: number | null }[];
    lockDelays?: Record<string, number>;
  };
  const sample: LeaseSample = {
    at,
    sessions: (state.sessions ?? []).map((s) => ({
      id: s.ID,
      name: s.Name ?? '',
      expiresInMs: s.ExpiresInMs ?? null,
    })),
  };
  const delay = state.lockDelays?.[key];
  if (delay !== undefined) sample.lockDelayMs = delay;
  const kvRes = await fetch(`${url}/v1/kv/${key}`, { signal: AbortSignal.timeout(2000) });
  if (kvRes.status === 404) {
    await kvRes.arrayBuffer();
    return sample;
  }
  if (!kvRes.ok) throw new Error(`GET /v1/kv/${key}: ${kvRes.status} ${await kvRes.text()}`);
  const [entry] = (await kvRes.json()) as {
    Session?: string;
    LockIndex: number;
    Value: string | null;
  }[];
  if (!entry) return sample;
  const value = entry.Value ? Buffer.from(entry.Value, 'base64').toString('utf8') : '';
  const k: LeaseKey = { lockIndex: entry.LockIndex, value };
  if (entry.Session) k.session = entry.Session;
  try {
    const info = JSON.parse(value) as { hostname?: string; 'advertise-url'?: string };
    if (info.hostname) k.hostname = info.hostname;
    if (info['advertise-url']) k.advertiseURL = info['advertise-url'];
  } catch {}
  sample.key = k;
  return sample;
}

function watchLease(url: string, key: string, intervalMs: number): LeaseWatch {
  const samples: LeaseSample[] = [];
  let stopped = false;
  let errors = 0;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  const tick = () => {
    inFlight = readLease(url, key)
      .then((s) => {
        samples.push(s);
      })
      .catch(() => {
        errors += 1;
      })
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  };
  tick();
  return {
    samples: () => samples,
    async until(pred, opts = {}) {
      const since = opts.since ?? Date.now();
      try {
        return await waitFor(() => samples.find((s) => s.at >= since && pred(s)), {
          timeoutMs: opts.timeoutMs ?? 20_000,
          intervalMs,
          message: opts.message ?? 'lease sample',
        });
      } catch (err) {
        const seen = describeLease(samples.filter((s) => s.at >= since - 1000));
        throw new Error(`${(err as Error).message}; ${errors} failed reads; seen:\n${seen}`);
      }
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
    },
  };
}

function normaliseConsulState(body: Record<string, unknown>): ConsulState {
  const asArray = (v: unknown): Record<string, unknown>[] =>
    Array.isArray(v)
      ? (v as Record<string, unknown>[])
      : v && typeof v === 'object'
        ? Object.values(v as Record<string, Record<string, unknown>>)
        : [];
  const kvRaw = body.kv ?? body.KV ?? body.kvs;
  const sessionsRaw = body.sessions ?? body.Sessions;
  return {
    sessions: asArray(sessionsRaw).map((s) => ({
      ID: String(s.ID ?? s.id),
      Name: s.Name as string | undefined,
    })),
    kv: asArray(kvRaw).map((e) => ({
      Key: String(e.Key ?? e.key),
      Session: (e.Session ?? e.session) as string | undefined,
    })),
  };
}

// ---- LiteFS nodes ----------------------------------------------------------------------------

export interface ExecEntry {
  cmd: string;
  ifCandidate?: boolean;
}

export interface NodeOptions {
  name: string;
  candidate?: boolean;
  /** litefs.yml lease.promote (LiteFS promotes by itself). */
  promote?: boolean;
  /** exec entries; the last runs in the background (LiteFS's rule). */
  exec?: ExecEntry[];
  /** Extra environment for `litefs mount` (and so for the exec commands). */
  env?: Record<string, string>;
  /** lease.consul.key for this node (default: the cluster's key). */
  leaseKey?: string;
  /** The whole litefs.yml, as given (then exec/candidate/promote above are ignored). */
  configText?: string;
  /**
   * A `proxy:` section (LiteFS's HTTP proxy on proxyPort, in front of the app on appPort, with
   * the app's PORT set to appPort). Default: the cluster's `proxy` option, off unless given.
   */
  proxy?: boolean;
  /**
   * Run `litefs-supervisor before-mount` before `litefs mount`, as the Dockerfile's CMD does
   * (`sh -c "litefs-supervisor before-mount && exec litefs mount"`): a starting node leaves a
   * free lease to the running nodes. Default off (LiteFS mounts at once).
   */
  beforeMount?: boolean;
}

export interface LitefsNode {
  name: string;
  dir: string;
  mountDir: string;
  dataDir: string;
  configPath: string;
  httpPort: number;
  url: string;
  /** The supervisor's health port for this node (free port, picked up front). */
  healthPort: number;
  healthUrl: string;
  /** LiteFS's proxy port (proxy.addr) and URL: where users' requests enter, with `proxy` on. */
  proxyPort: number;
  proxyUrl: string;
  /** The app's port (proxy.target, and the app's PORT with `proxy` on; picked up front). */
  appPort: number;
  stateFile: string;
  /** Everything LiteFS and its exec commands wrote to stdout and stderr, this run. */
  output(): string;
  /** The same, over every run of this node (restarts included). */
  allOutput(): string;
  /** Parsed logfmt lines of this run (LiteFS's and the supervisor's). */
  records(): LogRecord[];
  /** The same, over every run of this node (restarts included). */
  allRecords(): LogRecord[];
  /** Supervisor events of this run, in order. */
  events(): string[];
  /** Write litefs.yml (again) with these exec entries / options. */
  configure(opts?: Partial<NodeOptions>): void;
  start(): void;
  running(): boolean;
  /** Resolves when the LiteFS process of the current run has exited. */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends the signal to LiteFS and waits for it to exit (SIGKILL after timeoutMs). */
  stop(
    signal?: NodeJS.Signals,
    timeoutMs?: number,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  mounted(): boolean;
  /** Waits for a log line whose msg matches, from this run; returns the record. */
  waitLog(re: RegExp, timeoutMs?: number): Promise<LogRecord>;
  waitEvent(event: string, timeoutMs?: number): Promise<LogRecord>;
  info(): Promise<LitefsInfoBody>;
  /** Node ID from /info's Litefs-Id header. */
  nodeId(): Promise<string>;
  waitPrimary(timeoutMs?: number): Promise<void>;
  /** Row count of `table` in `db`, read through the mount (read-only). */
  rows(table: string, db?: string): number | undefined;
  /**
   * Runs SQL statements on this node's mount (writable only on the primary), waiting up to
   * busyTimeoutMs (default 2000) for another connection's write lock.
   */
  exec(sql: string, db?: string, busyTimeoutMs?: number): void;
  health(path?: string): Promise<{ status: number; body: unknown }>;
}

export interface LitefsInfoBody {
  clusterID?: string;
  isPrimary: boolean;
  candidate: boolean;
  path?: string;
  primary?: { hostname?: string };
}

export interface Cluster {
  dir: string;
  consul: Consul;
  key: string;
  litefsBin: string;
  nodes: LitefsNode[];
  node(name: string): LitefsNode;
  /** Comma-separated LiteFS URLs of these nodes, or of every node (for --peers). */
  peers(...names: string[]): string;
  /** The supervisor exec line for a node, with these supervisor options. */
  supervisorCmd(node: LitefsNode, opts?: SupervisorLine): string;
  /** Which node holds the lease according to LiteFS (/info), or undefined. */
  primary(): Promise<LitefsNode | undefined>;
}

export interface SupervisorLine {
  /** --peers for this node (default: every node); e.g. only the nodes running, as Fly DNS lists. */
  peers?: string;
  migrate?: string[];
  promote?: boolean;
  stateFile?: boolean;
  extra?: string[];
  app?: string;
}

function quote(s: string): string {
  return /^[A-Za-z0-9_\-./:=,@]+$/.test(s) ? s : `"${s.replace(/(["\\$`])/g, '\\$1')}"`;
}

function yamlString(s: string): string {
  return JSON.stringify(s);
}

export interface ClusterOptions {
  /** lease.consul.ttl (default 2s) and lock-delay (default 1s). */
  ttl?: string;
  lockDelay?: string;
  /**
   * lease.reconnect-delay (LiteFS's default 1s): how long a node waits before it looks for the
   * lease again after losing its primary or its stream to one (store.go monitorLease).
   */
  reconnectDelay?: string;
  /** Every node with LiteFS's proxy in front of its app (NodeOptions.proxy); default off. */
  proxy?: boolean;
  /**
   * Each node's data dir on its own tmpfs of this many MB (mounted at `<node dir>/vol`, the data
   * dir at `vol/data`): a small data volume, as on Fly, whose free space a test can exhaust.
   */
  volumeMb?: number;
}

/**
 * A cluster of `names.length` LiteFS nodes in one temp dir, sharing one Consul stand-in. Nodes
 * are configured but not started. Everything is stopped and unmounted on teardown.
 */
export async function createCluster(
  t: Owner,
  names: string[],
  opts: ClusterOptions = {},
): Promise<Cluster> {
  const lfs = findLitefs();
  if ('missing' in lfs) throw new Error(lfs.missing);
  const dir = mkdtempSync(join(tmpdir(), 'lfs-real-'));
  const consul = await startConsul(t);
  const key = `litefs/test-${Math.random().toString(16).slice(2, 10)}`;
  const nodes: LitefsNode[] = [];
  for (const name of names) {
    nodes.push(await makeNode(dir, name, consul, key, lfs.bin, opts));
  }
  const cluster: Cluster = {
    dir,
    consul,
    key,
    litefsBin: lfs.bin,
    nodes,
    node(name) {
      const n = nodes.find((x) => x.name === name);
      if (!n) throw new Error(`no node ${name}`);
      return n;
    },
    peers: (...names) =>
      (names.length === 0 ? nodes : names.map((n) => cluster.node(n))).map((n) => n.url).join(','),
    supervisorCmd(node, line = {}) {
      const args = [
        'node',
        CLI,
        '--litefs-config',
        node.configPath,
        '--db',
        'app.db',
        '--peers',
        line.peers ?? cluster.peers(),
        '--health-addr',
        `127.0.0.1:${node.healthPort}`,
        '--poll-interval',
        '250ms',
        '--peer-wait',
        '5s',
        '--shutdown-timeout',
        '2s',
      ];
      if (line.promote !== false) args.push('--promote');
      if (line.stateFile !== false) args.push('--state-file', node.stateFile);
      for (const m of line.migrate ?? [`node ${join(EXAMPLE, 'migrate.mjs')}`]) {
        args.push('--migrate', m);
      }
      args.push(...(line.extra ?? []));
      args.push('--', ...(line.app ?? `node ${join(EXAMPLE, 'app.mjs')}`).split(' '));
      return args.map(quote).join(' ');
    },
    async primary() {
      for (const n of nodes) {
        if (!n.running()) continue;
        try {
          if ((await n.info()).isPrimary) return n;
        } catch {}
      }
      return undefined;
    },
  };
  t.teardown(async () => {
    if (t.passing?.() === false || process.env.REAL_VERBOSE) {
      for (const n of nodes) {
        t.comment?.(`--- ${n.name} output (last run) ---\n${n.output().slice(-8000)}`);
      }
    }
    // SIGINT first (the supervisor stops its app, LiteFS unmounts), SIGKILL after 8 s.
    await Promise.all(nodes.map((n) => n.stop('SIGINT', 8000).catch(() => undefined)));
    for (const n of nodes) unmount(n.mountDir);
    for (const n of nodes) unmountVolume(join(n.dir, 'vol'));
    await consul.stop();
    if (!process.env.KEEP_REAL_DIRS) rmSync(dir, { recursive: true, force: true });
  });
  return cluster;
}

async function makeNode(
  clusterDir: string,
  name: string,
  consul: Consul,
  key: string,
  bin: string,
  clusterOpts: ClusterOptions,
): Promise<LitefsNode> {
  const dir = join(clusterDir, name);
  const mountDir = join(dir, 'mnt');
  let dataDir = join(dir, 'data');
  mkdirSync(mountDir, { recursive: true });
  if (clusterOpts.volumeMb !== undefined) {
    const vol = join(dir, 'vol');
    mkdirSync(vol, { recursive: true });
    execFileSync('mount', [
      '-t',
      'tmpfs',
      '-o',
      `size=${clusterOpts.volumeMb}m,mode=0755`,
      'tmpfs',
      vol,
    ]);
    liveVolumes.add(vol);
    dataDir = join(vol, 'data');
  }
  mkdirSync(dataDir, { recursive: true });
  const httpPort = await freePort();
  const healthPort = await freePort();
  const proxyPort = await freePort();
  const appPort = await freePort();
  const url = `http://127.0.0.1:${httpPort}`;
  const configPath = join(dir, 'litefs.yml');
  let options: NodeOptions = { name };
  let child: ChildProcess | undefined;
  let exitedP: Promise<{ code: number | null; signal: NodeJS.Signals | null }> = Promise.resolve({
    code: null,
    signal: null,
  });
  let out = '';
  let history = '';
  let partial = '';
  let records: LogRecord[] = [];
  let pastRecords: LogRecord[] = [];
  const appPids: number[] = [];

  const proxyOn = () => options.proxy ?? clusterOpts.proxy ?? false;
  const writeConfig = () => {
    if (options.configText !== undefined) {
      writeFileSync(configPath, options.configText);
      return;
    }
    const exec = options.exec ?? [];
    const lines = [
      'fuse:',
      `  dir: ${yamlString(mountDir)}`,
      'data:',
      `  dir: ${yamlString(dataDir)}`,
      'http:',
      `  addr: "127.0.0.1:${httpPort}"`,
      'lease:',
      '  type: "consul"',
      `  candidate: ${options.candidate ?? true}`,
      `  promote: ${options.promote ?? false}`,
      `  hostname: ${yamlString(name)}`,
      `  advertise-url: ${yamlString(url)}`,
      ...(clusterOpts.reconnectDelay === undefined
        ? []
        : [`  reconnect-delay: ${yamlString(clusterOpts.reconnectDelay)}`]),
      '  consul:',
      `    url: ${yamlString(consul.url)}`,
      `    key: ${yamlString(options.leaseKey ?? key)}`,
      `    ttl: ${yamlString(clusterOpts.ttl ?? '2s')}`,
      `    lock-delay: ${yamlString(clusterOpts.lockDelay ?? '1s')}`,
    ];
    if (proxyOn()) {
      // 127.0.0.1 rather than localhost: the harness's apps listen on HOST=127.0.0.1, and a
      // target that resolved to ::1 first would only add refused dials.
      lines.push(
        'proxy:',
        `  addr: "127.0.0.1:${proxyPort}"`,
        `  target: "127.0.0.1:${appPort}"`,
        '  db: "app.db"',
      );
    }
    if (exec.length > 0) {
      lines.push('exec:');
      for (const e of exec) {
        lines.push(`  - cmd: ${yamlString(e.cmd)}`);
        if (e.ifCandidate) lines.push('    if-candidate: true');
      }
    }
    writeFileSync(configPath, `${lines.join('\n')}\n`);
  };

  const node: LitefsNode = {
    name,
    dir,
    mountDir,
    dataDir,
    configPath,
    httpPort,
    url,
    healthPort,
    healthUrl: `http://127.0.0.1:${healthPort}`,
    proxyPort,
    proxyUrl: `http://127.0.0.1:${proxyPort}`,
    appPort,
    stateFile: join(dir, 'litefs-supervisor.json'),
    output: () => out,
    allOutput: () => history + out,
    records: () => records,
    allRecords: () => [...pastRecords, ...records],
    events: () => records.map((r) => r.event ?? '').filter((e) => e !== ''),
    configure(more = {}) {
      options = { ...options, ...more };
      writeConfig();
    },
    start() {
      if (child && child.exitCode === null && child.signalCode === null) {
        throw new Error(`${name}: already running`);
      }
      if (!existsSync(configPath)) writeConfig();
      history += out;
      out = '';
      partial = '';
      pastRecords = [...pastRecords, ...records];
      records = [];
      const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
      // tap's loader hooks must not reach the CLI or the app; nor the developer's settings.
      delete env.NODE_OPTIONS;
      for (const k of Object.keys(env)) {
        if (k.startsWith('LITEFS_SUPERVISOR_') && !(options.env && k in options.env)) delete env[k];
      }
      if (!options.env?.FLY_APP_NAME) delete env.FLY_APP_NAME;
      env.DATABASE_PATH ??= join(mountDir, 'app.db');
      env.HOST ??= '127.0.0.1';
      env.PORT ??= '0';
      // Behind the proxy the app must listen where proxy.target points.
      if (proxyOn() && options.env?.PORT === undefined) env.PORT = String(appPort);
      // With beforeMount, sh runs the gate, then execs LiteFS (same pid, same process group).
      const [file, args] = options.beforeMount
        ? [
            'sh',
            [
              '-c',
              `${[process.execPath, CLI, 'before-mount', '--litefs-config', configPath].map(quote).join(' ')} && exec ${[bin, 'mount', '-config', configPath].map(quote).join(' ')}`,
            ],
          ]
        : [bin, ['mount', '-config', configPath]];
      const c = spawn(file, args, {
        cwd: dir,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // its own process group: the exit hook can kill the whole tree
      });
      child = c;
      track(c);
      liveMounts.add(mountDir);
      const onData = (d: string) => {
        out += d;
        partial += d;
        const lines = partial.split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          const r = parseLine(line);
          if (r) {
            records.push(r);
            if (r.event === 'app.started' && r.pid) {
              appPids.push(Number(r.pid));
              appGroups.add(Number(r.pid));
            }
          }
        }
      };
      c.stdout?.setEncoding('utf8').on('data', onData);
      c.stderr?.setEncoding('utf8').on('data', onData);
      const closed = Promise.all([once(c.stdout!, 'close'), once(c.stderr!, 'close')]).catch(
        () => undefined,
      );
      exitedP = once(c, 'exit').then(async ([code, signal]) => {
        await Promise.race([closed, new Promise((r) => setTimeout(r, 500))]);
        return { code: code as number | null, signal: signal as NodeJS.Signals | null };
      });
    },
    running: () => !!child && child.exitCode === null && child.signalCode === null,
    exited: () => exitedP,
    async stop(signal = 'SIGINT', timeoutMs = 15_000) {
      const c = child;
      if (!c) return { code: null, signal: null };
      if (c.exitCode === null && c.signalCode === null) {
        c.kill(signal);
        const timer = setTimeout(() => {
          if (c.pid) killGroup(c.pid);
        }, timeoutMs);
        await exitedP;
        clearTimeout(timer);
      }
      const res = await exitedP;
      // Nothing of this run survives: LiteFS's group (the supervisor, commands) and the apps'
      // own groups; then our ends of the pipes, which a surviving app would keep open.
      if (c.pid) killGroup(c.pid);
      for (const pid of appPids.splice(0)) {
        killGroup(pid);
        appGroups.delete(pid);
      }
      c.stdout?.destroy();
      c.stderr?.destroy();
      return res;
    },
    mounted: () => isMounted(mountDir),
    async waitLog(re, timeoutMs = 20_000) {
      try {
        const found = await waitFor(
          () =>
            records.find((r) => re.test(r.msg ?? '')) ?? (node.running() ? undefined : 'exited'),
          { timeoutMs, message: `${name}: log ${re}` },
        );
        if (found === 'exited') throw new Error(`${name}: LiteFS exited; log ${re} not seen`);
        return found;
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- ${name} output ---\n${out.slice(-6000)}`);
      }
    },
    async waitEvent(event, timeoutMs = 20_000) {
      try {
        const found = await waitFor(
          () => records.find((r) => r.event === event) ?? (node.running() ? undefined : 'exited'),
          { timeoutMs, message: `${name}: event ${event}` },
        );
        if (found === 'exited') throw new Error(`${name}: LiteFS exited; event ${event} not seen`);
        return found;
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- ${name} output ---\n${out.slice(-6000)}`);
      }
    },
    async info() {
      const res = await fetch(`${url}/info`, { signal: AbortSignal.timeout(2000) });
      return (await res.json()) as LitefsInfoBody;
    },
    async nodeId() {
      const res = await fetch(`${url}/info`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res.headers.get('litefs-id') ?? '';
    },
    async waitPrimary(timeoutMs = 20_000) {
      await waitFor(async () => (await node.info()).isPrimary, {
        timeoutMs,
        intervalMs: 50,
        message: `${name} primary`,
      });
    },
    rows(table, db = 'app.db') {
      const file = join(mountDir, db);
      if (!existsSync(file)) return undefined;
      const conn = new Database(file, { readonly: true, fileMustExist: true, timeout: 2000 });
      try {
        const has = conn
          .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")
          .pluck()
          .get(table);
        if (!has) return undefined;
        return conn.prepare(`SELECT count(*) FROM "${table}"`).pluck().get() as number;
      } finally {
        conn.close();
      }
    },
    exec(sql, db = 'app.db', busyTimeoutMs = 2000) {
      const conn = new Database(join(mountDir, db), { timeout: busyTimeoutMs });
      try {
        conn.exec(sql);
      } finally {
        conn.close();
      }
    },
    async health(path = '/health') {
      const res = await fetch(`${node.healthUrl}${path}`, { signal: AbortSignal.timeout(2000) });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {}
      return { status: res.status, body };
    },
  };
  return node;
}

/** Reads a data-dir file of a node, e.g. for the incident's `ltx/*` removal. */
export function ltxDir(node: LitefsNode, db = 'app.db'): string {
  return join(node.dataDir, 'dbs', db, 'ltx');
}

/** Milliseconds between two log lines as the test read them (LiteFS's lines carry no time). */
export function msBetween(a: LogRecord | undefined, b: LogRecord | undefined): number | undefined {
  if (!a?.at || !b?.at) return undefined;
  return Number(b.at) - Number(a.at);
}

/**
 * A supervisor exec line (cluster.supervisorCmd) whose --peers URLs name each peer's
 * supervisor health port (`#health=PORT`), so that on one host the supervisors read each
 * other's /status evidence (app version, synced, lag) instead of LiteFS alone (S5 --promote-when
 * new-version, handover on stop).
 */
export function withPeerHealth(cluster: Cluster, cmd: string): string {
  const plain = `--peers ${cluster.peers()}`;
  if (!cmd.includes(plain)) throw new Error(`no ${plain} in the exec line`);
  const annotated = cluster.nodes.map((n) => `${n.url}#health=${n.healthPort}`).join(',');
  return cmd.replace(plain, `--peers "${annotated}"`);
}
