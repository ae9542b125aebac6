// A Jepsen-style nemesis on real LiteFS 0.5.11 (`npm run nemesis`, bench/nemesis.mjs; and
// test/real/nemesis.test.ts): nodes with LiteFS's proxy in front of an app that boots in
// `bootDelayMs` (test/fixtures/app-boot-delay.mjs), the Consul stand-in, uniquely keyed writes
// through the proxies following fly-replay as Fly's edge does (testkit/http-writer.ts), and a
// schedule of faults drawn from a seed (testkit/nemesis/schedule.ts). Two setups run the same
// schedule: `supervisor` (litefs-supervisor as the exec command, `promote: false`, `--promote`)
// and `litefs-exec` (LiteFS's exec block as in the seed thread: `promote: true`, the migration
// `if-candidate`, then the app). At the end the checker (testkit/nemesis/checker.ts) says what
// was lost and how, and liveness says whether every node serves again or is fenced for a reason.
//
// A destructive operation (rm -rf of the db, a truncated db file, a wiped volume, scale-in) only
// hits a node while another node holds every acknowledged write (its TXID at least the last
// acknowledgement's, or every acknowledged key in its database): any loss is the software's.

import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import {
  failureReason,
  type HttpWriter,
  startHttpWriter,
  type WriteRecord,
} from '../http-writer.js';
import {
  CLI,
  type Cluster,
  createCluster,
  EXAMPLE,
  FIXTURES,
  type LitefsNode,
  type Owner,
  waitFor,
} from '../real-litefs.js';
import {
  type Ack,
  type KeySample,
  type LeaseEvidence,
  parseAck,
  parseClear,
  type Wipe,
} from './checker.js';
import { type HistoryDump, type Judgement, judge } from './judge.js';
import {
  DB,
  execPid,
  isPrimary,
  keysOf,
  keysOnDisk,
  litefsPid,
  passesChecks,
  removeDb,
  removeLtx,
  removeState,
  truncateDb,
  txidOf,
  unmountDead,
  wipeVolume,
} from './node-io.js';
import { Observer } from './observer.js';
import {
  DESTRUCTIVE,
  describeOp,
  drawSchedule,
  incidentSchedule,
  type PlannedOp,
  type Schedule,
} from './schedule.js';

export type Setup = 'supervisor' | 'litefs-exec';

export interface NemesisOptions {
  seed: number;
  steps: number;
  nodes: number;
  setup: Setup;
  /** `random` (drawn from the seed) or `incident` (the seed thread's schedule). */
  schedule?: 'random' | 'incident';
  /** Time between two writes being sent (ms, default 20). */
  writeIntervalMs?: number;
  /** The app's boot time (ms, default 1500). */
  bootDelayMs?: number;
  /** The supervisor's --fence-timeout (default 20s). */
  fenceTimeout?: string;
  /**
   * litefs.yml `lease.reconnect-delay`: with the supervisor, the value its README recommends
   * (100ms, docs/litefs-facts.md says why); with the exec block, the seed thread's config
   * (LiteFS's default, 1s). `default` leaves it to LiteFS in both setups.
   */
  reconnectDelay?: string;
  /** Where each node's whole output is written at the end (default: not kept). */
  logDir?: string;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface OperationRecord {
  index: number;
  kind: string;
  role?: string;
  node?: string;
  /** ms since the schedule started. */
  startMs: number;
  endMs: number;
  detail: string[];
  skipped?: string;
}

export interface NodeLiveness {
  node: string;
  /**
   * healthy: passes its checks; fenced: the supervisor exited 4, or runs fenced holding the
   * lease (a history-lost holder, S13); litefs-refused: LiteFS itself
   * would not open its store (it exits before any exec command); exited: any other exit;
   * unhealthy: runs without passing its checks; waiting: a replica that cannot sync because
   * its primary is fenced with doctor naming why; stopped: left stopped.
   */
  state: 'healthy' | 'fenced' | 'litefs-refused' | 'exited' | 'unhealthy' | 'waiting' | 'stopped';
  /** For a running node that does not pass its checks: its supervisor's state, primary, reason. */
  status?: string;
  primary?: string;
  reason?: string;
  exitCode?: number | null;
  /** LiteFS's last `ERROR:` line, for a node that exited. */
  error?: string;
  /** For a node that exited: doctor's warn/error findings (`id: summary`). */
  doctor?: string[];
}

export interface NemesisResult extends Judgement {
  seed: number;
  setup: Setup;
  schedule: string;
  steps: number;
  nodes: number;
  planned: string[];
  operations: OperationRecord[];
  finalReference: string;
  failedRequests: number;
  attempts: number;
  failures: Record<string, number>;
  longestUnavailableMs: number;
  totalUnavailableMs: number;
  liveness: { ok: boolean; nodes: NodeLiveness[] };
  unexpectedExits: { node: string; code: number | null; atMs: number; restarted: boolean }[];
  wallMs: number;
  startedAt: string;
  machine: { cpus: number; model: string; memGiB: number; node: string };
  load: { start: number[]; end: number[] };
  config: {
    writeIntervalMs: number;
    bootDelayMs: number;
    fenceTimeout: string;
    ttl: string;
    /** litefs.yml lease.reconnect-delay, or LiteFS's default (1s). */
    reconnectDelay: string;
  };
  logDir?: string;
}

const APP = `node ${join(FIXTURES, 'app-boot-delay.mjs')}`;
const MIGRATE = `node ${join(EXAMPLE, 'migrate.mjs')}`;
const MIGRATE_FAIL = `node ${join(FIXTURES, 'migrate-fail.mjs')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Operations that leave a running node down until a later step, or that destroy it. */
const LEAVES_STOPPED: ReadonlySet<string> = new Set([
  'stop',
  'scale-in',
  'rm-db',
  'truncate-db',
  'wipe-volume',
]);
const NAMES = 'abcdefghijklmnopqrstuvwxyz'.split('').map((c) => `node-${c}`);

type Life = 'unused' | 'running' | 'stopped' | 'gone';

/** Owner of the cluster for a run outside tap: its teardowns run at the end. */
function localOwner(): { t: Owner; teardown: () => Promise<void> } {
  const fns: (() => unknown)[] = [];
  return {
    t: { teardown: (fn) => fns.push(fn), passing: () => true },
    async teardown() {
      for (const fn of fns.reverse()) await fn();
    },
  };
}

export async function runNemesis(opts: NemesisOptions, owner?: Owner): Promise<NemesisResult> {
  const local = owner ? undefined : localOwner();
  const t = owner ?? local!.t;
  try {
    return await new Run(opts, t).run();
  } finally {
    await local?.teardown();
  }
}

class Run {
  private readonly supervised: boolean;
  private readonly schedule: Schedule;
  private readonly writeIntervalMs: number;
  private readonly bootDelayMs: number;
  private readonly fenceTimeout: string;
  private readonly reconnectDelay: string | undefined;
  private readonly log: (line: string) => void;
  private c!: Cluster;
  private writer!: HttpWriter;
  private observer!: Observer;
  private readonly life = new Map<string, Life>();
  /** The version each node runs at its next start, and whether its migration fails. */
  private readonly version = new Map<string, { v: number; failing: boolean }>();
  private nextVersion = 2;
  private t0 = 0;
  private readonly operations: OperationRecord[] = [];
  private readonly samples: KeySample[] = [];
  private readonly wipes: Wipe[] = [];
  private readonly unexpectedExits: NemesisResult['unexpectedExits'] = [];
  private readonly restarts = new Map<string, number>();
  private current: OperationRecord | undefined;

  constructor(
    private readonly opts: NemesisOptions,
    private readonly t: Owner,
  ) {
    this.supervised = opts.setup === 'supervisor';
    this.schedule =
      opts.schedule === 'incident'
        ? incidentSchedule(opts.nodes)
        : drawSchedule(opts.seed, opts.steps, opts.nodes);
    this.writeIntervalMs = opts.writeIntervalMs ?? 20;
    this.bootDelayMs = opts.bootDelayMs ?? 1500;
    this.fenceTimeout = opts.fenceTimeout ?? '20s';
    const delay = opts.reconnectDelay ?? (this.supervised ? '100ms' : 'default');
    this.reconnectDelay = delay === 'default' ? undefined : delay;
    this.log = opts.log ?? (() => {});
  }

  private rel(at: number): number {
    return at - this.t0;
  }

  private note(line: string): void {
    this.current?.detail.push(`${this.rel(Date.now())}ms ${line}`);
    this.log(`  ${line}`);
  }

  private nodesIn(...lives: Life[]): LitefsNode[] {
    return this.c.nodes.filter((n) => lives.includes(this.life.get(n.name) ?? 'unused'));
  }

  async run(): Promise<NemesisResult> {
    const startedAt = new Date();
    const loadStart = loadavg();
    const total = this.opts.nodes + this.schedule.scaleOuts;
    this.c = await createCluster(this.t, NAMES.slice(0, total), {
      proxy: true,
      ...(this.reconnectDelay ? { reconnectDelay: this.reconnectDelay } : {}),
    });
    for (const n of this.c.nodes) {
      this.life.set(n.name, 'unused');
      this.version.set(n.name, { v: 1, failing: false });
    }
    const initial = this.c.nodes.slice(0, this.opts.nodes);
    this.log(
      `nemesis ${this.opts.setup} ${this.opts.schedule ?? 'random'} seed ${this.opts.seed}: ${this.schedule.ops.map(describeOp).join(', ')}`,
    );
    await this.bootCluster(initial);

    this.observer = new Observer(() => this.nodesIn('running', 'stopped'), this.supervised);
    this.observer.start();
    await waitFor(() => this.observer.inService.size === initial.length, {
      timeoutMs: 30_000,
      message: 'every node in service',
    });
    this.writer = startHttpWriter({
      proxies: Object.fromEntries(this.c.nodes.map((n) => [n.name, n.proxyUrl])),
      // With no node passing its checks Fly's edge still sends requests somewhere: to the
      // nodes that run.
      entries: () => {
        const up = [...this.observer.inService].sort();
        return up.length > 0
          ? up
          : this.nodesIn('running')
              .filter((n) => n.running())
              .map((n) => n.name);
      },
      intervalMs: this.writeIntervalMs,
      durationMs: 6 * 3600_000,
      gapMs: 200,
    });
    this.t0 = Date.now();
    await sleep(2000);
    this.sampleAll();

    for (const op of this.schedule.ops) await this.step(op);

    // After the schedule: Fly's restarts, every stopped node started, then liveness.
    const final: OperationRecord = {
      index: this.schedule.ops.length,
      kind: 'final-start',
      startMs: this.rel(Date.now()),
      endMs: 0,
      detail: [],
    };
    this.current = final;
    this.operations.push(final);
    this.restartExited();
    for (const n of this.nodesIn('stopped')) await this.startNode(n);
    await this.settle();
    final.endMs = this.rel(Date.now());
    this.current = undefined;
    const liveness = await this.liveness();
    await sleep(2000);
    const writes = await this.writer.stop();
    await sleep(3000);
    const reference = await this.finalReference();
    this.sampleAll();
    await this.observer.stop();
    const wallMs = Date.now() - this.t0;
    const result = this.verdict(writes.records, reference, liveness, wallMs);
    const summary = writes;
    result.failedRequests = summary.failed;
    result.attempts = summary.attempts;
    result.failures = summary.failures;
    result.longestUnavailableMs = summary.noAck.longestMs;
    result.totalUnavailableMs = summary.noAck.totalMs;
    result.startedAt = startedAt.toISOString();
    result.load = { start: loadStart, end: loadavg() };
    if (this.opts.logDir) this.saveLogs(this.opts.logDir, writes.records);
    return result;
  }

  // ---- nodes -------------------------------------------------------------------------------

  private peersLine(names: LitefsNode[]): string {
    return names.map((p) => `${p.url}#health=${p.healthPort}`).join(',');
  }

  private configure(n: LitefsNode): void {
    const { v, failing } = this.version.get(n.name)!;
    const env = {
      FLY_IMAGE_REF: `registry.fly.io/nemesis:v${v}`,
      BOOT_DELAY_MS: String(this.bootDelayMs),
      NODE_NAME: n.name,
    };
    const migrate = failing ? MIGRATE_FAIL : MIGRATE;
    if (!this.supervised) {
      n.configure({
        promote: true,
        env,
        exec: [{ cmd: migrate, ifCandidate: true }, { cmd: APP }],
      });
      return;
    }
    // --peers: the nodes running now and this one, as Fly's DNS would list them.
    const peers = [...this.nodesIn('running').filter((p) => p !== n), n];
    n.configure({
      promote: false,
      env,
      // As the Dockerfile ships it: every start of a node runs the gate before LiteFS.
      beforeMount: true,
      exec: [
        {
          cmd: this.c.supervisorCmd(n, {
            peers: this.peersLine(peers),
            migrate: [migrate],
            app: APP,
            extra: ['--fence-timeout', this.fenceTimeout],
          }),
        },
      ],
    });
  }

  private async startNode(n: LitefsNode): Promise<void> {
    unmountDead(n);
    this.configure(n);
    this.life.set(n.name, 'running');
    n.start();
    this.observer?.undrain(n.name);
    this.note(
      `start ${n.name} v${this.version.get(n.name)!.v}${this.version.get(n.name)!.failing ? ' (failing migration)' : ''}`,
    );
  }

  private async stopNode(n: LitefsNode, why = 'stop'): Promise<void> {
    this.observer.drain(n.name);
    const res = await n.stop('SIGINT', 15_000);
    unmountDead(n);
    this.life.set(n.name, 'stopped');
    this.note(`${why} ${n.name}: exit ${res.code ?? res.signal}`);
  }

  /** The machine dies: LiteFS, its exec command and the app's group (Fly stops the VM). */
  private async crashNode(n: LitefsNode): Promise<void> {
    this.observer.drain(n.name);
    const pid = litefsPid(n);
    if (pid !== undefined) process.kill(pid, 'SIGKILL');
    await n.stop('SIGKILL', 5000);
    unmountDead(n);
    this.life.set(n.name, 'stopped');
    this.note(`kill -9 LiteFS of ${n.name} (pid ${pid ?? '?'})`);
  }

  private async healthy(n: LitefsNode, timeoutMs: number): Promise<boolean> {
    try {
      await waitFor(async () => !n.running() || (await passesChecks(n, this.supervised)), {
        timeoutMs,
        intervalMs: 200,
        message: `${n.name} passes its checks`,
      });
      return n.running();
    } catch {
      return false;
    }
  }

  private async bootCluster(initial: LitefsNode[]): Promise<void> {
    const [first, ...rest] = initial;
    // The first node takes the lease (and with the supervisor bootstraps once its peers answered).
    this.life.set(first!.name, 'running');
    for (const n of rest) this.life.set(n.name, 'running');
    for (const n of initial) this.configure(n);
    first!.start();
    await first!.waitLog(/primary lease acquired/, 30_000);
    if (!this.supervised && !(await this.healthy(first!, 60_000))) {
      throw new Error(`${first!.name} never came up:\n${first!.output().slice(-3000)}`);
    }
    for (const n of rest) {
      n.start();
      // With the exec block one at a time: a node promoting itself while another migrates fails
      // that migration (read only replica), the exec block's own failure mode, not this run's.
      if (!this.supervised && !(await this.healthy(n, 60_000))) {
        throw new Error(`${n.name} never came up:\n${n.output().slice(-3000)}`);
      }
    }
    for (const n of initial) {
      if (!(await this.healthy(n, 60_000))) {
        throw new Error(`${n.name} never came up:\n${n.output().slice(-3000)}`);
      }
    }
  }

  /** Nodes meant to run whose LiteFS exited by itself are started again, as Fly restarts a machine. */
  private restartExited(): void {
    for (const n of this.nodesIn('running')) {
      if (n.running()) continue;
      const count = this.restarts.get(n.name) ?? 0;
      const restarted = count < 5;
      void n.exited().then((x) => {
        this.unexpectedExits.push({
          node: n.name,
          code: x.code,
          atMs: this.rel(Date.now()),
          restarted,
        });
      });
      if (restarted) {
        this.restarts.set(n.name, count + 1);
        this.note(`${n.name} had exited: restarted (as Fly restarts a machine)`);
        void this.startNode(n);
      } else {
        this.life.set(n.name, 'stopped');
      }
    }
  }

  /** Every node meant to run passes its checks (or exited), at most 45 s. */
  private async settle(): Promise<void> {
    await Promise.all(this.nodesIn('running').map((n) => this.healthy(n, 45_000)));
  }

  private sampleAll(): void {
    const at = Date.now();
    for (const n of this.nodesIn('running', 'stopped')) {
      const keys = keysOf(n);
      if (keys !== undefined) this.samples.push({ node: n.name, at, keys });
    }
  }

  // ---- targets -----------------------------------------------------------------------------

  private async primaryNow(timeoutMs: number): Promise<LitefsNode | undefined> {
    try {
      return await waitFor(
        async () => {
          for (const n of this.nodesIn('running')) {
            if (n.running() && (await isPrimary(n))) return n;
          }
          return undefined;
        },
        { timeoutMs, intervalMs: 100, message: 'a primary' },
      );
    } catch {
      return undefined;
    }
  }

  private async resolve(op: PlannedOp): Promise<LitefsNode | string> {
    const byName = (list: LitefsNode[]) => [...list].sort((a, b) => a.name.localeCompare(b.name));
    if (op.role === 'stopped') {
      const list = byName(this.nodesIn('stopped'));
      return list[op.pick % list.length] ?? 'no stopped node';
    }
    const running = byName(this.nodesIn('running'));
    const primary = await this.primaryNow(10_000);
    if (op.role === 'primary') {
      if (primary) return primary;
      const any = running[op.pick % running.length];
      if (any) this.note(`no primary within 10 s: ${any.name} instead`);
      return any ?? 'no running node';
    }
    const replicas = running.filter((n) => n !== primary);
    return replicas[op.pick % replicas.length] ?? 'no replica';
  }

  // ---- the destructive-operation precondition ---------------------------------------------

  private acks(): Ack[] {
    const out: Ack[] = [];
    for (const r of this.writer.records()) {
      if (!r.ok) continue;
      const a = parseAck(r.ackBody);
      if (a) out.push({ key: r.key, ...a });
    }
    return out;
  }

  /**
   * Another node (not `target`) holds every acknowledged write: its TXID is at least the last
   * acknowledgement's, or its database has every acknowledged key. Waits up to 20 s.
   */
  private async otherHolder(target: LitefsNode): Promise<string | undefined> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const acks = this.acks();
      const last = [...acks].filter((a) => a.txid !== undefined).sort((a, b) => b.at - a.at)[0];
      const others = this.nodesIn('running', 'stopped').filter((n) => n !== target);
      for (const n of others) {
        if (n.running() && last?.txid !== undefined) {
          const txid = await txidOf(n);
          if (txid !== undefined && txid >= last.txid)
            return `${n.name} at TXID ${txid} >= ${last.txid}`;
        }
      }
      for (const n of others) {
        const keys = keysOf(n) ?? keysOnDisk(n);
        if (keys && acks.every((a) => keys.has(a.key))) {
          return `${n.name} has all ${acks.length} acknowledged keys`;
        }
      }
      if (Date.now() > deadline) return undefined;
      await sleep(500);
    }
  }

  // ---- one step ----------------------------------------------------------------------------

  private async step(op: PlannedOp): Promise<void> {
    this.restartExited();
    const rec: OperationRecord = {
      index: op.index,
      kind: op.kind,
      startMs: this.rel(Date.now()),
      endMs: 0,
      detail: [],
    };
    if (op.role) rec.role = op.role;
    this.current = rec;
    this.operations.push(rec);
    this.log(`${this.rel(Date.now())}ms step ${describeOp(op)}`);
    try {
      await this.execute(op, rec);
    } catch (err) {
      this.note(`failed: ${(err as Error).message.split('\n')[0]}`);
    }
    await this.settle();
    rec.endMs = this.rel(Date.now());
    this.sampleAll();
    this.current = undefined;
    await sleep(1000);
  }

  private async execute(op: PlannedOp, rec: OperationRecord): Promise<void> {
    switch (op.kind) {
      case 'deploy':
        return this.deploy(op);
      case 'consul-outage': {
        await this.consul('/_fake/outage/start');
        this.note(`Consul outage for ${op.durationMs} ms`);
        await sleep(op.durationMs ?? 5000);
        await this.consul('/_fake/outage/end');
        this.note('Consul back');
        return;
      }
      case 'expire-session': {
        const session = await this.leaseSession();
        if (!session) {
          rec.skipped = 'no session holds the lease';
          return;
        }
        await this.consul(`/_fake/expire-session/${session}`);
        this.note(`expired session ${session}`);
        return;
      }
      case 'scale-out': {
        const n = this.nodesIn('unused')[0];
        if (!n) {
          rec.skipped = 'no spare node';
          return;
        }
        rec.node = n.name;
        await this.startNode(n);
        return;
      }
      default:
        break;
    }
    const target = await this.resolve(op);
    if (typeof target === 'string') {
      rec.skipped = target;
      this.note(`skipped: ${target}`);
      return;
    }
    rec.node = target.name;
    const wasRunning = this.life.get(target.name) === 'running';
    // The schedule keeps a running node for writes, but a node may have died meanwhile (LiteFS
    // refusing a damaged db): never take down the last one that really runs for longer than a
    // restart.
    const lastOne = !this.nodesIn('running').some((n) => n !== target && n.running());
    if (lastOne && wasRunning && LEAVES_STOPPED.has(op.kind)) {
      rec.skipped = `${target.name} is the last node running`;
      this.note(`skipped: ${rec.skipped}`);
      return;
    }
    switch (op.kind) {
      case 'restart':
        await this.stopNode(target, 'restart: stop');
        await this.startNode(target);
        return;
      case 'stop':
        await this.stopNode(target);
        return;
      case 'start':
        await this.startNode(target);
        return;
      case 'kill-litefs':
        await this.crashNode(target);
        await sleep(op.downMs ?? 1000);
        await this.startNode(target);
        return;
      case 'kill-exec':
        await this.killExec(target);
        await sleep(op.downMs ?? 1000);
        await this.startNode(target);
        return;
      case 'failing-migration':
        return this.failingMigration(target);
      default:
        break;
    }
    // Operator mistakes and scale-in: on a stopped node, or stop it first and start it after.
    if (wasRunning) await this.stopNode(target, `${op.kind}: stop`);
    if (DESTRUCTIVE.has(op.kind)) {
      const holder = await this.otherHolder(target);
      if (!holder) {
        rec.skipped = 'no other node holds every acknowledged write';
        this.note(`skipped: ${rec.skipped}`);
        if (wasRunning) await this.startNode(target);
        return;
      }
      this.note(`precondition: ${holder}`);
      this.wipes.push({ node: target.name, at: Date.now(), kind: op.kind });
    }
    switch (op.kind) {
      case 'rm-db':
        removeDb(target);
        this.note(`rm -rf ${target.name} dbs/${DB}`);
        break;
      case 'rm-ltx':
        this.note(`rm ${target.name} dbs/${DB}/ltx/* (${removeLtx(target)} files)`);
        break;
      case 'truncate-db':
        this.note(`truncate ${target.name} database: ${truncateDb(target) ? 'done' : 'no file'}`);
        break;
      case 'wipe-volume':
        wipeVolume(target);
        this.note(`wiped ${target.name}'s volume (data dir and state file)`);
        break;
      case 'rm-state':
        this.note(`rm ${target.name} state file: ${removeState(target) ? 'done' : 'none'}`);
        break;
      case 'scale-in':
        wipeVolume(target);
        this.life.set(target.name, 'gone');
        this.note(`${target.name} destroyed with its volume`);
        return;
      default:
        throw new Error(`unknown operation ${op.kind}`);
    }
    if (wasRunning) await this.startNode(target);
  }

  private async deploy(op: PlannedOp): Promise<void> {
    const v = this.nextVersion++;
    for (const n of this.c.nodes) this.version.set(n.name, { v, failing: false });
    const running = this.nodesIn('running').sort((a, b) => a.name.localeCompare(b.name));
    const k = running.length === 0 ? 0 : op.pick % running.length;
    const order = [...running.slice(k), ...running.slice(0, k)];
    this.note(`deploy v${v}: ${order.map((n) => n.name).join(', ')}`);
    for (const n of order) {
      if (this.life.get(n.name) !== 'running') continue;
      await this.stopNode(n, 'deploy: stop');
      // Fly replaces the machine between the stop and the start.
      await sleep(1000);
      await this.startNode(n);
      const ok = await this.healthy(n, 60_000);
      this.note(`${n.name} ${ok ? 'passes its checks' : 'did not pass its checks within 60 s'}`);
    }
  }

  private async killExec(n: LitefsNode): Promise<void> {
    const pid = execPid(n);
    if (pid === undefined) {
      this.note(`no exec process of ${n.name}: killing the machine`);
      await this.crashNode(n);
      return;
    }
    process.kill(pid, 'SIGKILL');
    this.note(`kill -9 exec command of ${n.name} (pid ${pid})`);
    // LiteFS ends when its exec command does; then the machine stops (its app's group with it).
    const exited = await Promise.race([
      n.exited().then(() => true),
      sleep(10_000).then(() => false),
    ]);
    this.observer.drain(n.name);
    const res = await n.stop('SIGINT', 10_000);
    unmountDead(n);
    this.life.set(n.name, 'stopped');
    this.note(
      `${n.name}: LiteFS ${exited ? 'exited by itself' : 'stopped by us'}: ${res.code ?? res.signal}`,
    );
  }

  private async failingMigration(n: LitefsNode): Promise<void> {
    const good = this.version.get(n.name)!;
    const v = this.nextVersion++;
    await this.stopNode(n, 'failing deploy: stop');
    this.version.set(n.name, { v, failing: true });
    await this.startNode(n);
    // Fly waits for the machine's checks, then gives up and rolls back (auto_rollback).
    const ok = await this.healthy(n, 25_000);
    this.note(
      `v${v} on ${n.name}: ${n.running() ? (ok ? 'passes its checks' : 'not healthy after 25 s') : 'LiteFS exited'}`,
    );
    if (n.running()) await this.stopNode(n, 'rollback: stop');
    else {
      const res = await n.stop('SIGINT', 10_000);
      unmountDead(n);
      this.life.set(n.name, 'stopped');
      this.note(`${n.name} exited ${res.code ?? res.signal}`);
    }
    this.version.set(n.name, { v: good.v, failing: false });
    await this.startNode(n);
  }

  private async consul(path: string): Promise<void> {
    const res = await fetch(`${this.c.consul.url}${path}`, {
      method: 'POST',
      signal: AbortSignal.timeout(3000),
    });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`POST ${path}: ${res.status}`);
  }

  /** The session holding LiteFS's lease key (`<prefix>/<key>`), not the cluster record's. */
  private async leaseSession(): Promise<string | undefined> {
    const state = await this.c.consul.state();
    return state.kv.find(
      (e) => e.Session && e.Key.endsWith(this.c.key) && !e.Key.includes('litefs-supervisor'),
    )?.Session;
  }

  // ---- the end -----------------------------------------------------------------------------

  private async doctor(n: LitefsNode): Promise<string[]> {
    const r = spawnSync(
      process.execPath,
      [
        CLI,
        'doctor',
        '--litefs-config',
        n.configPath,
        '--db',
        DB,
        '--state-file',
        n.stateFile,
        '--json',
      ],
      { encoding: 'utf8', timeout: 20_000, env: { ...process.env, NODE_OPTIONS: '' } },
    );
    try {
      const report = JSON.parse(r.stdout) as {
        findings?: { id: string; level: string; summary: string }[];
      };
      return (report.findings ?? [])
        .filter((f) => f.level === 'warn' || f.level === 'error')
        .map((f) => `${f.id}: ${f.summary}`);
    } catch {
      return [`doctor gave no report (exit ${r.status}): ${(r.stderr ?? '').slice(0, 300)}`];
    }
  }

  /**
   * Every node meant to run serves (passes its checks), or is fenced (exited 4, or holding the
   * lease) with doctor naming why: that counts as alive. Waits the fence timeout and 45 s more for nodes still fenced.
   */
  private async liveness(): Promise<{ ok: boolean; nodes: NodeLiveness[] }> {
    const fenceMs = Number(/^(\d+)s$/.exec(this.fenceTimeout)?.[1] ?? 60) * 1000;
    const deadline = Date.now() + fenceMs + 45_000;
    const out: NodeLiveness[] = [];
    for (const n of this.nodesIn('running', 'stopped')) {
      if (this.life.get(n.name) === 'stopped') {
        out.push({ node: n.name, state: 'stopped' });
        continue;
      }
      const ok = await this.healthy(n, Math.max(1000, deadline - Date.now()));
      if (ok) {
        out.push({ node: n.name, state: 'healthy' });
        continue;
      }
      if (n.running()) {
        // A history-lost holder keeps the lease fenced (S13) instead of exiting 4.
        const status = this.supervised
          ? ((await n.health('/status').catch(() => undefined))?.body as
              | { state?: string; primaryHostname?: string | null; reason?: string }
              | undefined)
          : undefined;
        if (status?.state === 'fenced') {
          out.push({ node: n.name, state: 'fenced', doctor: await this.doctor(n) });
          continue;
        }
        out.push({
          node: n.name,
          state: 'unhealthy',
          ...(status?.state ? { status: status.state } : {}),
          ...(status?.primaryHostname ? { primary: status.primaryHostname } : {}),
          ...(status?.reason ? { reason: status.reason.slice(0, 300) } : {}),
        });
        continue;
      }
      const { code } = await n.exited();
      const error = n
        .output()
        .split('\n')
        .filter((l) => l.startsWith('ERROR: '))
        .pop();
      const state =
        code === 4 && this.supervised
          ? 'fenced'
          : error?.includes('cannot open store')
            ? 'litefs-refused'
            : 'exited';
      out.push({
        node: n.name,
        state,
        exitCode: code,
        ...(error ? { error: error.slice(0, 300) } : {}),
        doctor: await this.doctor(n),
      });
    }
    // A replica that cannot sync because its primary is fenced (a history-lost holder keeping
    // the lease, S13) waits for the operator that primary's doctor names: the cluster's liveness
    // is that primary's.
    const explained = (x: NodeLiveness) => x.state === 'fenced' && (x.doctor?.length ?? 0) > 0;
    for (const x of out) {
      const primary = out.find((p) => p.node === x.primary);
      if (x.state === 'unhealthy' && x.status === 'syncing' && primary && explained(primary)) {
        x.state = 'waiting';
      }
    }
    const ok = out.every(
      (x) =>
        x.state === 'healthy' || x.state === 'stopped' || x.state === 'waiting' || explained(x),
    );
    return { ok, nodes: out };
  }

  /**
   * The final primary's keys when a primary serves; otherwise (none, or a fenced one) the union
   * of every node's database: a write is lost then only when no node has it any more.
   */
  private async finalReference(): Promise<{ keys: Set<string>; from: string }> {
    const primary = await this.primaryNow(10_000);
    if (primary && (await passesChecks(primary, this.supervised))) {
      const keys = await waitFor(() => keysOf(primary), {
        timeoutMs: 10_000,
        message: 'final keys',
      }).catch(() => undefined);
      if (keys) return { keys, from: `primary ${primary.name}` };
      // Its database could not be read (e.g. LiteFS lost its history under it): judge from
      // every node's database, as when no primary serves.
    }
    const union = new Set<string>();
    const from: string[] = [];
    for (const n of this.nodesIn('running', 'stopped')) {
      const keys = keysOf(n);
      if (!keys) continue;
      from.push(n.name);
      for (const k of keys) union.add(k);
    }
    return {
      keys: union,
      from: `no serving primary${primary ? ` (${primary.name} holds the lease)` : ''}: union of ${from.join(', ')}`,
    };
  }

  private handoffAcquisitions(): { node: string; at: number }[] {
    return this.c.nodes.flatMap((n) =>
      n
        .allRecords()
        .filter((r) => /acquiring existing lease from handoff/.test(r.msg ?? ''))
        .map((r) => ({ node: n.name, at: Number(r.at) })),
    );
  }

  /** LiteFS's own lease lines as evidence (when the harness read them). */
  private logEvidence(): LeaseEvidence[] {
    return this.c.nodes.flatMap((n) =>
      n.allRecords().flatMap((r): LeaseEvidence[] => {
        const msg = r.msg ?? '';
        if (/primary lease acquired/.test(msg))
          return [{ node: n.name, at: Number(r.at), primary: true }];
        if (/exiting primary|primary lease lost/.test(msg)) {
          return [{ node: n.name, at: Number(r.at), primary: false }];
        }
        return [];
      }),
    );
  }

  private verdict(
    records: readonly WriteRecord[],
    reference: { keys: Set<string>; from: string },
    liveness: { ok: boolean; nodes: NodeLiveness[] },
    wallMs: number,
  ): NemesisResult {
    const parsed = this.acks();
    const acks: Ack[] = [
      ...parsed,
      // An acknowledgement the app did not describe still counts; it has no lease evidence.
      ...records
        .filter((r) => r.ok && !parseAck(r.ackBody))
        .map((r) => ({ key: r.key, node: r.servedBy ?? '?', at: r.settledAt })),
    ];
    const index = new Map(acks.map((a, i) => [a.key, i]));
    const indices = (keys: Iterable<string>) =>
      [...keys].map((k) => index.get(k)).filter((i): i is number => i !== undefined);
    const history: HistoryDump = {
      t0: this.t0,
      until: Date.now(),
      acks,
      finalKeys: indices(reference.keys),
      evidence: [
        ...this.observer.evidence,
        ...this.logEvidence(),
        ...parsed.map((a) => ({ node: a.node, at: a.at, primary: true })),
      ],
      handoffs: this.handoffAcquisitions(),
      spans: this.operations.map((o) => ({
        kind: o.kind,
        from: o.startMs + this.t0,
        to: o.endMs + this.t0,
      })),
      positions: this.observer.positions,
      following: this.observer.following,
      lags: this.observer.lags,
      wipes: this.wipes,
      samples: this.samples.map((x) => ({ node: x.node, at: x.at, keys: indices(x.keys) })),
      clears: this.c.nodes.flatMap((n) =>
        n.allRecords().flatMap((r) => {
          const c = parseClear(r.msg ?? '');
          return c ? [{ node: n.name, at: Number(r.at), ...c }] : [];
        }),
      ),
    };
    if (this.opts.logDir) {
      // What the checker saw, to check the run again without running it.
      mkdirSync(this.opts.logDir, { recursive: true });
      writeFileSync(join(this.opts.logDir, 'history.json'), JSON.stringify(history));
    }
    const cpu = cpus();
    return {
      seed: this.opts.seed,
      setup: this.opts.setup,
      schedule: this.opts.schedule ?? 'random',
      steps: this.schedule.ops.length,
      nodes: this.opts.nodes,
      planned: this.schedule.ops.map(describeOp),
      operations: this.operations,
      ...judge(history),
      finalReference: reference.from,
      failedRequests: 0,
      attempts: 0,
      failures: {},
      longestUnavailableMs: 0,
      totalUnavailableMs: 0,
      liveness,
      unexpectedExits: this.unexpectedExits,
      wallMs,
      startedAt: '',
      machine: {
        cpus: cpu.length,
        model: cpu[0]?.model ?? 'unknown',
        memGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
      },
      load: { start: [], end: [] },
      config: {
        writeIntervalMs: this.writeIntervalMs,
        bootDelayMs: this.bootDelayMs,
        fenceTimeout: this.fenceTimeout,
        ttl: '2s',
        reconnectDelay: this.reconnectDelay ?? '1s (LiteFS default)',
      },
      ...(this.opts.logDir ? { logDir: this.opts.logDir } : {}),
    };
  }

  private saveLogs(dir: string, records: readonly WriteRecord[]): void {
    mkdirSync(dir, { recursive: true });
    // Every request, acknowledged or not, for the timeline (bench/nemesis-timeline.mjs).
    writeFileSync(
      join(dir, 'writes.json'),
      JSON.stringify({
        t0: this.t0,
        writes: records.map((r) => ({
          sentMs: this.rel(r.sentAt),
          settledMs: this.rel(r.settledAt),
          ok: r.ok,
          ...(r.servedBy ? { servedBy: r.servedBy } : {}),
          ...(r.ok ? {} : { reason: failureReason(r) }),
        })),
      }),
    );
    for (const n of this.c.nodes) {
      if (this.life.get(n.name) === 'unused') continue;
      const lines = n.allRecords().map((r) => `${this.rel(Number(r.at))} ${JSON.stringify(r)}`);
      writeFileSync(join(dir, `${n.name}.log`), `${lines.join('\n')}\n`);
      writeFileSync(join(dir, `${n.name}.out`), n.allOutput());
    }
    writeFileSync(
      join(dir, 'operations.json'),
      JSON.stringify({ t0: this.t0, operations: this.operations }, null, 2),
    );
  }
}

/** One line per run: what the campaign table is made of. */
export function summaryLine(r: NemesisResult): string {
  const load = r.load.start[0]?.toFixed(1) ?? '?';
  return [
    `nemesis seed=${r.seed}`,
    `setup=${r.setup}`,
    `schedule=${r.schedule}`,
    `steps=${r.steps}`,
    `acked=${r.acked}`,
    `lost=${r.lostAcked}`,
    `asyncWindowLost=${r.asyncWindowLost}`,
    `emptied=${r.emptied}`,
    `twoWriters=${r.twoWriters}`,
    `failed=${r.failedRequests}`,
    `longestUnavailableMs=${r.longestUnavailableMs}`,
    `totalUnavailableMs=${r.totalUnavailableMs}`,
    `liveness=${r.liveness.ok ? 'ok' : 'FAIL'}`,
    `wallMs=${r.wallMs}`,
    `load=${load}/${r.load.end[0]?.toFixed(1) ?? '?'}`,
  ].join(' ');
}
