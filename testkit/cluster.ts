// A small LiteFS cluster on one machine, for tests and the incident demo (docs/design.md section 11):
// several FakeLitefs nodes (each with its own HTTP port and mount dir) that share one cluster ID
// and one Consul-like lease, and replicate a real SQLite file by LiteFS's rules, so that a test
// can OBSERVE data loss or its absence (docs/litefs-facts.md "Replication rules":
// the seed incident).
//
// What is modelled, and where in superfly/litefs it comes from:
// - the lease (store.go monitorLease, consul/consul.go): one holder at most; handoff to a
//   connected replica; /promote asks the primary for a handoff; a stopped primary releases it;
// - writes: a change of the primary's db file made by any process becomes the next TXID with a
//   content-derived checksum and an LTX record (db.go CommitJournal), `-pos` and a `tx` event;
// - replication (http/server.go handlePostStream, streamDB, streamLTX): TXID 0 streams nothing,
//   TXID 1 is always a snapshot, a replica ahead or at the same TXID with another checksum is
//   cleared and gets a snapshot, otherwise it catches up from the primary's LTX records;
// - readiness and lag (store.go primaryTimestamp, fuse/lag_node.go): `.lag` is +2147483647
//   until the first heartbeat after the initial replication set, then now minus the last
//   heartbeat or transaction timestamp; it is reset only when a node loses the lease;
// - node restarts (store.go NewStore, Open; db.go Open): a new random node ID, the cluster ID
//   kept on the volume, the position recovered from LTX files (TXID 0 when they are gone, even
//   when the database file still holds data), a checksum mismatch refusing to start;
// - Consul (consul/consul.go, testkit/fake-consul.ts): the lease key holds the primary's
//   hostname and advertise URL under a session while a node holds the lease, so a supervisor
//   reading it (the cluster record, docs/design.md section 3) sees who LiteFS says is primary;
//   each node has a litefs.yml naming that Consul (`lease.type: consul`, url, key), which is
//   where the supervisor learns of it.
// Simplifications are listed on FakeCluster.

import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeConsul } from './fake-consul.js';
import { FakeLitefs, type FakeLitefsPeers, type PeerResult } from './fake-litefs.js';

export interface ClusterNodeOptions {
  /** Test-facing name, e.g. 'a'. */
  name: string;
  /** `lease.candidate` (default true). */
  candidate?: boolean;
  /** What `.primary` and /info show for this node (default: the name). */
  hostname?: string;
  /** Initial `Litefs-Id` (default random; a restart always draws a new one). */
  nodeId?: string;
}

export interface FakeClusterOptions {
  nodes: ClusterNodeOptions[];
  /** Database(s) the cluster replicates, as named in the mount dir (e.g. 'sqlite.db'). */
  db: string | string[];
  /** Shared cluster ID (default generated, `LFSC` + 16 hex chars). */
  clusterId?: string;
  /** Node that takes the lease at start (default: none, unless autoElect). */
  primary?: string;
  /**
   * When the lease is free, the first running candidate (in `nodes` order) takes it, as
   * candidates racing for the Consul lease would. Default false: tests call elect().
   */
  autoElect?: boolean;
  /** How often the db files are checked for writes and `.lag` is refreshed (default 20 ms). */
  pollMs?: number;
  /** Time without a primary during a lease change (default 20 ms). */
  switchDelayMs?: number;
  /** Primary heartbeat to replicas (default 1000 ms, http/server.go HeartbeatInterval). */
  heartbeatMs?: number;
  /** The cluster's Consul (testkit/fake-consul.ts), as each node's litefs.yml names it. */
  consul?: {
    /** `lease.consul.url`'s path: LiteFS's key prefix (default none). */
    prefix?: string;
    /** An ACL token in the URL (`http://:TOKEN@...`), as FLY_CONSUL_URL carries one. */
    token?: string;
    /** `lease.consul.key` (default `litefs/sim`). */
    key?: string;
  };
}

export interface Position {
  txid: bigint;
  /** Post-apply checksum, 16 lower-case hex chars. */
  checksum: string;
}

export type ClusterEventType =
  | 'write'
  | 'snapshot'
  | 'catch-up'
  | 'lease'
  | 'connect'
  | 'disconnect'
  | 'rejected-write'
  | 'kill'
  | 'restart';

/** One step of the cluster's life, in order; `history` is what a test asserts on. */
export interface ClusterEvent {
  /** Date.now() when it happened. */
  at: number;
  type: ClusterEventType;
  /** Where it came from: the writing primary, the streaming primary, the old lease holder. */
  from?: string;
  /** What it changed: the receiving replica, the new lease holder, the node killed/restarted. */
  to?: string;
  db?: string;
  /** Position after the event (write, snapshot, catch-up). */
  txid?: bigint;
  checksum?: string;
  /** Receiver's position before a snapshot or catch-up. */
  before?: Position;
  /** Snapshot only: the receiver had a non-empty database with other bytes, now replaced. */
  overwrote?: boolean;
  /** Why, in LiteFS's terms (log lines of http/server.go and store.go where they exist). */
  reason: string;
}

export interface RestartOptions {
  /** The volume is new or was wiped: db files gone, TXID 0, no LTX files. */
  wipe?: boolean;
  /**
   * With wipe: keep `data.dir/clusterid` (the incident: only the database dir was deleted).
   * Default false: a wiped node has no cluster ID and adopts the primary's when it connects.
   */
  keepClusterId?: boolean;
  /**
   * Only the LTX files are deleted (the incident's `rm ltx/*`): the database file keeps its
   * data, but LiteFS recovers the position from LTX files, so it restarts at TXID 0.
   */
  dropLtx?: boolean;
  /** Node ID of the new process (default random, store.go NewStore). */
  nodeId?: string;
}

const ZERO_CHECKSUM = '0'.repeat(16);
/** ltx.ChecksumFlag: every LTX checksum has the high bit set. */
const CHECKSUM_FLAG = 1n << 63n;
/** First 8 bytes of a live rollback journal (sqlite.org/fileformat.html, "hot journals"). */
const JOURNAL_MAGIC = Buffer.from([0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7]);

interface DbCopy {
  /** The bytes LiteFS holds for this db on this node; null = no database file. */
  content: Buffer | null;
  /** Fingerprint of the file after the last change the cluster knows of (its own included). */
  seen: string | null;
  /** A changed fingerprint waiting one poll to settle. */
  pending: string | null;
  /** LTX records by TXID: what a catch-up needs (http/server.go streamLTX). */
  ltx: Map<bigint, { pre: string; post: string }>;
}

interface Node {
  name: string;
  fake: FakeLitefs;
  running: boolean;
  /** Name of the primary this replica streams from (connected: handoff target, receives data). */
  connectedTo: string | undefined;
  /** disconnect() was called: stays off the primary until reconnect(). */
  partitioned: boolean;
  /** store.go primaryTimestamp: -1 not ready (or lost the lease), 0 primary, else ms. */
  primaryTs: number;
  lastHeartbeat: number;
  lastLag: string;
  dbs: Map<string, DbCopy>;
}

/**
 * Simplifications (each kept because a test cannot tell the difference, or says so):
 * - the mount dir is also the volume: the db file IS LiteFS's copy of the database;
 * - a commit is detected by polling (file settled for one poll, no live rollback journal), so
 *   transactions committed within one poll interval become one TXID; in WAL mode a commit is
 *   seen when SQLite checkpoints into the db file (at the latest when the last connection
 *   closes), not per WAL commit;
 * - replicas' files are rewritten in place without SQLite's locks (LiteFS takes them);
 * - LTX files are never removed by retention (only by a snapshot, a wipe or dropLtx);
 * - writes on a replica cannot fail the writer as LiteFS does (`read only replica`): they are
 *   recorded as `rejected-write` and undone;
 * - a stopped node always releases the lease (LiteFS does on a clean exit; after a crash Consul
 *   would keep it until the TTL expires); all replicas reconnect right after a lease change
 *   (LiteFS retries after its 1 s reconnect delay).
 */
export class FakeCluster {
  readonly clusterId: string;
  readonly dbs: readonly string[];
  /** Unexpected errors inside the poller (it never throws into the test). */
  readonly errors: Error[] = [];

  #nodes = new Map<string, Node>();
  #history: ClusterEvent[] = [];
  #listeners = new Set<(event: ClusterEvent) => void>();
  #leaseHolder: string | undefined;
  /** Lease operations queued or running: a primary refuses a second handoff meanwhile. */
  #pendingSwitches = 0;
  #queue: Promise<void> = Promise.resolve();
  /** Node IDs whose /promote is asking the primary for a handoff right now (for the reason). */
  #promoting = new Set<bigint>();
  #autoElect: boolean;
  #switchDelayMs: number;
  #heartbeatMs: number;
  #timer: NodeJS.Timeout | undefined;
  #sleeps = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  #closed = false;
  #consul: FakeConsul | undefined;
  /** `lease.consul.key` as litefs.yml names it (without the URL's prefix). */
  readonly leaseKeyName: string;
  /** Per-node litefs.yml files live here. */
  #dir: string;

  private constructor(options: FakeClusterOptions, clusterId: string) {
    this.clusterId = clusterId;
    this.leaseKeyName = options.consul?.key ?? 'litefs/sim';
    this.#dir = mkdtempSync(join(tmpdir(), 'fake-cluster-'));
    this.dbs = typeof options.db === 'string' ? [options.db] : [...options.db];
    this.#autoElect = options.autoElect ?? false;
    this.#switchDelayMs = options.switchDelayMs ?? 20;
    this.#heartbeatMs = options.heartbeatMs ?? 1000;
  }

  static async start(options: FakeClusterOptions): Promise<FakeCluster> {
    const names = options.nodes.map((n) => n.name);
    if (new Set(names).size !== names.length || names.length === 0) {
      throw new Error(`FakeCluster: node names must be unique and non-empty, got ${names}`);
    }
    if (options.primary !== undefined && !names.includes(options.primary)) {
      throw new Error(`FakeCluster: primary ${options.primary} is not one of ${names}`);
    }
    // litefs.go GenerateClusterID: "LFSC" + 16 upper-case hex chars.
    const clusterId = options.clusterId ?? `LFSC${randomBytes(8).toString('hex').toUpperCase()}`;
    const cluster = new FakeCluster(options, clusterId);
    try {
      cluster.#consul = await FakeConsul.start({
        prefix: options.consul?.prefix,
        token: options.consul?.token,
      });
      for (const spec of options.nodes) {
        const fake = await FakeLitefs.start({
          clusterId,
          hostname: spec.hostname ?? spec.name,
          candidate: spec.candidate ?? true,
          nodeId: spec.nodeId,
          switchDelayMs: cluster.#switchDelayMs,
        });
        fake.peers = cluster.#peers(spec.name);
        const node: Node = {
          name: spec.name,
          fake,
          running: true,
          connectedTo: undefined,
          partitioned: false,
          primaryTs: -1,
          lastHeartbeat: 0,
          lastLag: '',
          dbs: new Map(cluster.dbs.map((db) => [db, emptyCopy()])),
        };
        cluster.#nodes.set(spec.name, node);
        cluster.#writeLitefsYml(node);
      }
      const pollMs = options.pollMs ?? 20;
      cluster.#timer = setInterval(() => cluster.#tick(), pollMs);
      cluster.#timer.unref();
      if (options.primary !== undefined) await cluster.elect(options.primary);
      else cluster.#maybeAutoElect();
    } catch (err) {
      await cluster.close();
      throw err;
    }
    return cluster;
  }

  // --- observation -------------------------------------------------------------------------

  /** Every step so far, oldest first (a copy). */
  get history(): ClusterEvent[] {
    return [...this.#history];
  }

  /** Called for each new history event (the demo narrates with it); returns an unsubscribe. */
  onEvent(listener: (event: ClusterEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Name of the lease holder, undefined while no node holds it. */
  get primary(): string | undefined {
    return this.#leaseHolder;
  }

  get names(): string[] {
    return [...this.#nodes.keys()];
  }

  node(name: string): FakeLitefs {
    return this.#node(name).fake;
  }

  /** The cluster's Consul: the lease key, the cluster record, faults. */
  get consul(): FakeConsul {
    if (!this.#consul) throw new Error('FakeCluster: Consul is not started');
    return this.#consul;
  }

  /** The lease key in Consul, under the URL's prefix (consul/consul.go kvKey). */
  get leaseKey(): string {
    return this.consul.keyOf(this.leaseKeyName);
  }

  /**
   * The node's litefs.yml (fuse.dir, data.dir, http.addr, lease with its Consul): what
   * `litefs mount -config` would read and what the supervisor reads with --litefs-config.
   */
  litefsConfig(name: string): string {
    return join(this.#dir, this.#node(name).name, 'litefs.yml');
  }

  dbPath(name: string, db = this.#defaultDb()): string {
    return this.#node(name).fake.dbPath(db);
  }

  /** `<db>-pos` of the node; TXID 0 with a zero checksum when LiteFS does not know the db. */
  position(name: string, db = this.#defaultDb()): Position {
    return this.#node(name).fake.position(db) ?? { txid: 0n, checksum: ZERO_CHECKSUM };
  }

  isRunning(name: string): boolean {
    return this.#node(name).running;
  }

  /** Streaming from the primary (so a handoff target and a receiver of its transactions). */
  isConnected(name: string): boolean {
    return this.#node(name).connectedTo !== undefined;
  }

  // --- control -----------------------------------------------------------------------------

  /**
   * The lease goes to `name`, as if the holder's session ended and this candidate won the
   * Consul race. Resolves once it is primary and the other running nodes are connected.
   */
  async elect(name: string): Promise<void> {
    const node = this.#node(name);
    const refusal = this.#cannotAcquire(node);
    if (refusal) throw new Error(`FakeCluster.elect(${name}): ${refusal}`);
    await this.#enqueue(async () => {
      if (this.#leaseHolder === name) return;
      const again = this.#cannotAcquire(node);
      if (again) throw new Error(`FakeCluster.elect(${name}): ${again}`);
      const from = this.#release('expire');
      await this.#sleep(this.#switchDelayMs);
      if (this.#closed) return;
      this.#acquire(node, from, 'elected: won the lease race');
    });
  }

  /**
   * The node's LiteFS stops (clean exit): it releases the lease if it holds it (store.go
   * monitorLeaseAsPrimary destroys it on exit), its replicas lose their stream, its HTTP API
   * goes away. Its volume (the mount dir's db files) stays for restartNode.
   */
  async kill(name: string): Promise<void> {
    const node = this.#node(name);
    if (!node.running) return;
    // A transaction that committed before the stop is durable in LiteFS (LTX written at
    // commit): pick up a write the poller has not seen yet.
    this.#checkNode(node, false);
    node.running = false;
    if (this.#leaseHolder === name) {
      this.#release('release', 'primary stopped: LiteFS destroys the lease');
    }
    if (node.connectedTo !== undefined) node.connectedTo = undefined;
    node.fake.loseLeader();
    node.primaryTs = -1;
    this.#record({ type: 'kill', to: name, reason: 'LiteFS stopped' });
    await node.fake.stop();
    this.#maybeAutoElect();
  }

  /**
   * Starts the node's LiteFS again (stopping it first if needed) with a new node ID, on the
   * same port and mount dir; it connects to the current primary, if any, before this resolves.
   * Throws, leaving the node stopped, when the db file no longer matches its position (LiteFS
   * refuses to open the store: the incident after a VACUUM on the raw file).
   */
  async restartNode(name: string, options: RestartOptions = {}): Promise<void> {
    const node = this.#node(name);
    if (node.running) await this.kill(name);
    for (const db of this.dbs) {
      const copy = node.dbs.get(db) ?? emptyCopy();
      node.dbs.set(db, copy);
      const path = node.fake.dbPath(db);
      if (options.wipe) {
        for (const suffix of ['', '-journal', '-wal', '-shm'])
          rmSync(`${path}${suffix}`, { force: true });
        node.fake.removeDb(db);
        Object.assign(copy, emptyCopy());
        continue;
      }
      // db.go recover: a transaction cut off by the stop is rolled back from its hot journal,
      // which restores what LiteFS last committed.
      if (journalActive(path)) {
        writeInPlace(path, copy.content);
        rmSync(`${path}-journal`, { force: true });
      }
      const content = readContent(path);
      copy.content = content;
      copy.seen = fingerprint(path);
      copy.pending = null;
      if (options.dropLtx) {
        // db.go Open: the position comes from the highest LTX file; none -> TXID 0.
        copy.ltx.clear();
        if (node.fake.position(db)) node.fake.setPos(db, 0n, ZERO_CHECKSUM, { emit: false });
        continue;
      }
      const pos = this.position(name, db);
      const actual = checksumOf(content);
      if (pos.txid > 0n && actual !== pos.checksum) {
        throw new Error(
          `cannot open store: open databases: open database(${JSON.stringify(db)}): recover ltx: ` +
            `database checksum ${actual} on TXID ${hex16(pos.txid)} does not match LTX ` +
            `post-apply checksum ${pos.checksum}`,
        );
      }
    }
    if (options.wipe && !options.keepClusterId) node.fake.clusterId = '';
    node.fake.renewNodeId(options.nodeId);
    node.primaryTs = -1;
    this.#writeLag(node, true);
    await node.fake.restart();
    node.running = true;
    const what = options.wipe
      ? 'wiped volume'
      : options.dropLtx
        ? 'LTX files deleted'
        : 'volume kept';
    this.#record({
      type: 'restart',
      to: name,
      reason: `LiteFS started (${what}), node ID ${node.fake.nodeId}`,
    });
    const holder = this.#leaseHolder === undefined ? undefined : this.#nodes.get(this.#leaseHolder);
    if (holder) this.#connect(node, holder);
    this.#maybeAutoElect();
  }

  /** The replica loses its stream to the primary and stays off it until reconnect(). */
  disconnect(name: string): void {
    const node = this.#node(name);
    if (this.#leaseHolder === name) {
      throw new Error(
        `FakeCluster.disconnect(${name}): it is the primary; disconnect its replicas`,
      );
    }
    node.partitioned = true;
    if (node.connectedTo !== undefined) this.#disconnect(node, 'disconnected (network)');
  }

  reconnect(name: string): void {
    const node = this.#node(name);
    node.partitioned = false;
    const holder = this.#leaseHolder === undefined ? undefined : this.#nodes.get(this.#leaseHolder);
    if (holder && node.running && node.connectedTo === undefined) {
      this.#connect(node, holder);
    }
  }

  /**
   * Checks every running node's db files now, without waiting for them to settle: a test that
   * has just finished a write (its process exited) can call this instead of waiting a poll.
   */
  flush(): void {
    for (const node of this.#nodes.values()) if (node.running) this.#checkNode(node, false);
  }

  /** Stops every node and removes their temp dirs. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    for (const sleep of this.#sleeps) {
      clearTimeout(sleep.timer);
      sleep.resolve();
    }
    this.#sleeps.clear();
    await this.#queue.catch(() => undefined);
    for (const node of this.#nodes.values()) await node.fake.close();
    await this.#consul?.close();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  // --- lease -------------------------------------------------------------------------------

  #cannotAcquire(node: Node): string | undefined {
    if (!node.running) return 'node is not running';
    if (!node.fake.candidate) return 'not a candidate (lease.candidate: false)';
    // store.go monitorLease: a node without a cluster ID cannot take a lease that has one, and
    // a node with another cluster ID cannot connect at all.
    if (node.fake.clusterId === '') return 'local node has no cluster ID and the lease has one';
    if (node.fake.clusterId !== this.clusterId)
      return 'lease already initialized with a different cluster ID';
    return undefined;
  }

  /**
   * Lease holder gives it up; everyone streaming from it is cut. Returns the old holder. In
   * Consul (`how`): a clean stop releases the key (empty value, no session); an election over
   * it means its session ended (LiteFS's sessions delete their key); a handoff keeps the
   * session for the target, which rewrites the value when it takes the lease.
   */
  #release(how: 'release' | 'expire' | 'handoff', reason?: string): string | undefined {
    const from = this.#leaseHolder;
    if (from === undefined) return undefined;
    if (how === 'release') this.consul.releaseLease(this.leaseKey);
    else if (how === 'expire') this.consul.expireLease(this.leaseKey);
    const old = this.#node(from);
    // Writes committed before the lease was lost are real transactions.
    if (old.running) this.#checkNode(old, false);
    this.#leaseHolder = undefined;
    // store.go setLease(nil): primary timestamp -1, so `.lag` reads unsynced.
    old.primaryTs = -1;
    old.fake.loseLeader();
    this.#writeLag(old, true);
    for (const node of this.#nodes.values()) {
      if (node.connectedTo === from) this.#disconnect(node, `primary ${from} lost the lease`);
    }
    if (reason) this.#record({ type: 'lease', from, reason });
    return from;
  }

  #acquire(node: Node, from: string | undefined, reason: string, handoff = false): void {
    if (!node.running) {
      // A handed-over session nobody took ends at its TTL: the key goes with it.
      if (handoff) this.consul.expireLease(this.leaseKey);
      this.#record({ type: 'lease', from, reason: `${node.name} stopped before taking the lease` });
      this.#maybeAutoElect();
      return;
    }
    // consul/consul.go: Acquire creates a session and writes the PrimaryInfo under it; after a
    // handoff the target renews the same session and the value names it.
    const info = { hostname: node.fake.hostname, advertiseUrl: node.fake.url };
    if (!handoff || !this.consul.handLease(this.leaseKey, info)) {
      this.consul.expireLease(this.leaseKey);
      this.consul.setLease(this.leaseKey, info);
    }
    // store.go: the first primary writes the cluster ID beside the lease.
    const clusterIdKey = `${this.leaseKey}/clusterid`;
    if (this.consul.value(clusterIdKey) === undefined)
      this.consul.put(clusterIdKey, this.clusterId);
    this.#leaseHolder = node.name;
    if (node.connectedTo !== undefined) this.#disconnect(node, 'taking the lease');
    node.fake.becomePrimary();
    node.primaryTs = 0;
    this.#writeLag(node, true);
    this.#record({ type: 'lease', from, to: node.name, reason });
    // Every other running node finds the new primary (store.go monitorLease ->
    // monitorLeaseAsReplica) and streams from it.
    for (const other of this.#nodes.values()) {
      if (other !== node && other.running && !other.partitioned) this.#connect(other, node);
    }
  }

  #maybeAutoElect(): void {
    if (!this.#autoElect || this.#closed || this.#leaseHolder !== undefined) return;
    void this.#enqueue(async () => {
      await this.#sleep(this.#switchDelayMs);
      if (this.#closed || this.#leaseHolder !== undefined) return;
      const winner = [...this.#nodes.values()].find((n) => this.#cannotAcquire(n) === undefined);
      if (winner) this.#acquire(winner, undefined, 'lease was free: first candidate took it');
    }).catch((err: unknown) => this.errors.push(err as Error));
  }

  #enqueue(fn: () => Promise<void>): Promise<void> {
    this.#pendingSwitches++;
    const run = this.#queue.then(async () => {
      try {
        if (!this.#closed) await fn();
      } finally {
        this.#pendingSwitches--;
      }
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** What the node's litefs.yml says (written once: its port and dirs never change). */
  #writeLitefsYml(node: Node): void {
    const q = (s: string) => JSON.stringify(s);
    const port = new URL(node.fake.url).port;
    const text = [
      'fuse:',
      `  dir: ${q(node.fake.mountDir)}`,
      'data:',
      `  dir: ${q(node.fake.dataDir)}`,
      'http:',
      `  addr: ${q(`127.0.0.1:${port}`)}`,
      'lease:',
      '  type: "consul"',
      `  candidate: ${node.fake.candidate}`,
      '  promote: false',
      `  hostname: ${q(node.fake.hostname)}`,
      `  advertise-url: ${q(node.fake.url)}`,
      '  consul:',
      `    url: ${q(this.consul.url)}`,
      `    key: ${q(this.leaseKeyName)}`,
      '',
    ].join('\n');
    const dir = join(this.#dir, node.name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'litefs.yml'), text);
  }

  #peers(name: string): FakeLitefsPeers {
    return {
      promote: (fake) => this.#promote(name, fake),
      handoff: (fake, nodeId) => this.#handoff(name, fake, nodeId),
      import: (_fake, db, bytes) => this.#import(name, db, bytes),
    };
  }

  /** http/server.go handlePostPromote: ask the primary, over HTTP, to hand the lease here. */
  async #promote(name: string, fake: FakeLitefs): Promise<PeerResult> {
    const node = this.#node(name);
    const primary = node.connectedTo === undefined ? undefined : this.#nodes.get(node.connectedTo);
    if (!primary) {
      return {
        ok: false,
        status: 500,
        message: 'no primary is currently available for handoff, cannot promote',
      };
    }
    const id = BigInt(`0x${fake.nodeId}`);
    this.#promoting.add(id);
    try {
      const answer = await post(`${primary.fake.url}/handoff?nodeID=${fake.nodeId}`);
      if (answer.status !== 200) {
        return { ok: false, status: 500, message: `handoff failed: ${answer.body.trim()}` };
      }
      return { ok: true };
    } catch (err) {
      return { ok: false, status: 500, message: `handoff failed: ${(err as Error).message}` };
    } finally {
      this.#promoting.delete(id);
    }
  }

  /** store.go Handoff on the primary `name`: only to a replica connected to it. */
  #handoff(name: string, _fake: FakeLitefs, nodeId: bigint): PeerResult {
    if (this.#pendingSwitches > 0 || this.#leaseHolder !== name) {
      return { ok: false, status: 500, message: 'cannot handoff: node is not currently primary' };
    }
    const target = [...this.#nodes.values()].find(
      (n) => n.running && n.connectedTo === name && BigInt(`0x${n.fake.nodeId}`) === nodeId,
    );
    if (!target) {
      return {
        ok: false,
        status: 500,
        message: 'cannot handoff: target node is not currently connected',
      };
    }
    let reason = this.#promoting.has(nodeId)
      ? `handoff requested by POST /promote on ${target.name}`
      : `POST /handoff?nodeID=${target.fake.nodeId} on ${name}`;
    // LiteFS checks candidacy only in /promote and before acquiring a free lease; neither
    // store.go Handoff nor the handed-off AcquireExisting in monitorLease does.
    if (!target.fake.candidate) reason += ' (target is not a candidate: LiteFS does not check)';
    void this.#enqueue(async () => {
      // The answer goes out before the role changes (docs/litefs-facts.md HTTP API).
      await this.#sleep(0);
      if (this.#closed || this.#leaseHolder !== name) return;
      const from = this.#release('handoff');
      // Seen on real LiteFS 0.5.11 (test/fixtures/litefs-0.5.11/events-handoff-old-primary.ndjson):
      // the old primary first finds the lease key still naming itself ("existing primary found
      // (node-a) ... cannot connect to self"): `.primary` and /info name it for a moment.
      const old = this.#node(name);
      if (old.running) old.fake.becomeReplica(old.fake.hostname);
      await this.#sleep(this.#switchDelayMs);
      if (this.#closed) return;
      if (old.running && old.connectedTo === undefined) old.fake.loseLeader();
      this.#acquire(target, from, reason, true);
    }).catch((err: unknown) => this.errors.push(err as Error));
    return { ok: true };
  }

  /** db.go Import on the primary: the body replaces the database as one transaction. */
  #import(name: string, db: string, bytes: Buffer): PeerResult {
    const node = this.#node(name);
    if (this.#leaseHolder !== name) return { ok: false, status: 503, message: 'lease expired' };
    const copy = node.dbs.get(db) ?? emptyCopy();
    node.dbs.set(db, copy);
    const path = node.fake.dbPath(db);
    writeInPlace(path, bytes);
    copy.seen = fingerprint(path);
    copy.pending = null;
    this.#commit(node, db, Buffer.from(bytes), 'POST /import');
    return { ok: true };
  }

  // --- replication -------------------------------------------------------------------------

  #connect(node: Node, primary: Node): void {
    if (!node.running || node.partitioned || node === primary) return;
    // store.go monitorLeaseAsReplica: adopt the primary's cluster ID, refuse another one.
    if (node.fake.clusterId === '') node.fake.clusterId = this.clusterId;
    if (node.fake.clusterId !== this.clusterId) {
      this.#record({
        type: 'connect',
        from: primary.name,
        to: node.name,
        reason: `cannot stream from primary with a different cluster id: ${node.fake.clusterId} <> ${this.clusterId}`,
      });
      return;
    }
    // The primary info (`.primary`) is set before the stream opens.
    node.connectedTo = primary.name;
    node.fake.becomeReplica(primary.fake.hostname);
    const streamed = this.dbs.map((db) => this.#streamDb(primary, node, db)).filter(Boolean);
    // The "ready" frame and a heartbeat follow the initial replication set
    // (http/server.go handlePostStream), whatever was or was not streamed.
    const now = Date.now();
    node.primaryTs = now;
    node.lastHeartbeat = now;
    this.#writeLag(node, true);
    this.#record({
      type: 'connect',
      from: primary.name,
      to: node.name,
      reason:
        streamed.length === 0
          ? 'connected, ready: nothing to stream'
          : `connected, ready after ${streamed.join(', ')}`,
    });
  }

  #disconnect(node: Node, reason: string): void {
    const from = node.connectedTo;
    node.connectedTo = undefined;
    // setPrimaryInfo(nil) only: the primary timestamp stays, so `.lag` keeps growing.
    node.fake.loseLeader();
    this.#record({ type: 'disconnect', from, to: node.name, reason });
  }

  /**
   * http/server.go streamDB + streamLTX for one db. Returns what was sent ('snapshot' or
   * 'catch-up' of db), or undefined when nothing was.
   */
  #streamDb(primary: Node, replica: Node, db: string): string | undefined {
    const source = primary.dbs.get(db);
    const p = primary.fake.position(db);
    // A db the primary does not have: LiteFS sends a deprecated drop frame the replica skips.
    if (!source || !p) return undefined;
    const c = this.position(replica.name, db);
    let client: Position = c;
    const why: string[] = [];
    if (client.txid > p.txid) {
      why.push(
        `client transaction id (${hex16(client.txid)}) exceeds primary transaction id (${hex16(p.txid)}), clearing client position`,
      );
      client = { txid: 0n, checksum: ZERO_CHECKSUM };
    }
    if (client.txid === p.txid && client.checksum !== p.checksum) {
      why.push(
        `client transaction id (${hex16(client.txid)}) caught up but checksum is mismatched (${client.checksum} <> ${p.checksum}), clearing client position`,
      );
      client = { txid: 0n, checksum: ZERO_CHECKSUM };
    }
    // Caught up (or the primary is at TXID 0): nothing is sent and the replica keeps its own
    // data and position, even when they are ahead of the primary's.
    if (client.txid >= p.txid) return undefined;
    const next = client.txid + 1n;
    let snapshotWhy: string | undefined;
    if (next === 1n) {
      snapshotWhy = 'starting from txid 0000000000000001, writing snapshot';
    } else {
      for (let txid = next; txid <= p.txid; txid++) {
        const record = source.ltx.get(txid);
        if (!record) {
          snapshotWhy = `transaction file for txid ${hex16(txid)} no longer available, writing snapshot`;
          break;
        }
        if (txid === next && record.pre !== client.checksum) {
          snapshotWhy = `client preapply checksum mismatch for txid ${hex16(txid)}, writing snapshot`;
          break;
        }
      }
    }
    const target = replica.dbs.get(db) ?? emptyCopy();
    replica.dbs.set(db, target);
    const previous = target.content;
    const path = replica.fake.dbPath(db);
    writeInPlace(path, source.content);
    target.content = source.content === null ? null : Buffer.from(source.content);
    target.seen = fingerprint(path);
    target.pending = null;
    if (snapshotWhy !== undefined) {
      // store.go processLTXStreamFrame: a snapshot removes every other LTX file.
      target.ltx = new Map();
    } else {
      for (let txid = next; txid <= p.txid; txid++) {
        const record = source.ltx.get(txid);
        if (record) target.ltx.set(txid, { ...record });
      }
    }
    // db.go ApplyLTXNoLock sets the position and emits a tx event on the replica too.
    replica.fake.setPos(db, p.txid, p.checksum);
    // Transaction timestamps count as heartbeats only once ready (processLTXStreamFrame).
    if (replica.primaryTs > 0) replica.primaryTs = Date.now();
    const kind = snapshotWhy === undefined ? 'catch-up' : 'snapshot';
    const event: Omit<ClusterEvent, 'at'> = {
      type: kind,
      from: primary.name,
      to: replica.name,
      db,
      txid: p.txid,
      checksum: p.checksum,
      before: c,
      reason: [...why, snapshotWhy ?? `ltx ${hex16(next)}-${hex16(p.txid)} applied`].join('; '),
    };
    if (kind === 'snapshot') {
      event.overwrote =
        previous !== null &&
        previous.length > 0 &&
        (source.content === null || !previous.equals(source.content));
    }
    this.#record(event);
    return `${kind} of ${db}`;
  }

  /** A new transaction on the primary (db.go CommitJournal), streamed to connected replicas. */
  #commit(node: Node, db: string, content: Buffer | null, reason: string): void {
    const copy = node.dbs.get(db) ?? emptyCopy();
    node.dbs.set(db, copy);
    const prev = this.position(node.name, db);
    const txid = prev.txid + 1n;
    const checksum = checksumOf(content);
    copy.ltx.set(txid, { pre: prev.checksum, post: checksum });
    copy.content = content;
    node.fake.setPos(db, txid, checksum);
    this.#record({ type: 'write', from: node.name, db, txid, checksum, before: prev, reason });
    for (const replica of this.#nodes.values()) {
      if (replica.connectedTo === node.name && replica.running) this.#streamDb(node, replica, db);
    }
  }

  // --- polling -----------------------------------------------------------------------------

  #tick(): void {
    if (this.#closed) return;
    try {
      const now = Date.now();
      for (const node of this.#nodes.values()) {
        if (!node.running) continue;
        this.#checkNode(node, true);
        if (node.connectedTo !== undefined && now - node.lastHeartbeat >= this.#heartbeatMs) {
          node.lastHeartbeat = now;
          if (node.primaryTs > 0) node.primaryTs = now;
        }
        this.#writeLag(node);
      }
    } catch (err) {
      this.errors.push(err as Error);
    }
  }

  #checkNode(node: Node, requireSettled: boolean): void {
    for (const db of this.dbs) this.#checkDb(node, db, requireSettled);
  }

  /** Spots a change of the db file made by another process; commits or rejects it. */
  #checkDb(node: Node, db: string, requireSettled: boolean): void {
    const copy = node.dbs.get(db) ?? emptyCopy();
    node.dbs.set(db, copy);
    const path = node.fake.dbPath(db);
    const fp = fingerprint(path);
    if (fp === copy.seen) {
      copy.pending = null;
      return;
    }
    // A transaction is in progress until SQLite deletes (or zeroes) its rollback journal;
    // LiteFS commits at that moment (db.go CommitJournal).
    if (journalActive(path)) return;
    if (requireSettled && fp !== copy.pending) {
      copy.pending = fp;
      return;
    }
    const content = readContent(path);
    if (fingerprint(path) !== fp) {
      copy.pending = null;
      return;
    }
    copy.seen = fp;
    copy.pending = null;
    if (sameContent(content, copy.content)) return;
    const isPrimary = this.#leaseHolder === node.name;
    if (isPrimary && copy.content === null && content !== null && content.length === 0) {
      // store.go CreateDB: the file exists, TXID 0, no transaction yet.
      copy.content = content;
      if (!node.fake.position(db)) node.fake.setPos(db, 0n, ZERO_CHECKSUM, { emit: false });
      return;
    }
    if (isPrimary) {
      this.#commit(
        node,
        db,
        content,
        content === null ? 'database deleted' : 'commit on the primary',
      );
      return;
    }
    // LiteFS fails such a write (`read only replica`, or the lease is gone); the fake cannot
    // fail the writer, so it records the attempt and puts LiteFS's copy back.
    this.#record({
      type: 'rejected-write',
      to: node.name,
      db,
      reason:
        node.connectedTo === undefined
          ? 'write on a node that is not primary (no lease)'
          : 'write on a replica: read only replica',
    });
    writeInPlace(path, copy.content);
    copy.seen = fingerprint(path);
  }

  /** `.lag` from the primary timestamp (fuse/lag_node.go); `force` after a role change. */
  #writeLag(node: Node, force = false): void {
    const ts = node.primaryTs;
    const lag = ts === 0 ? 0 : ts === -1 ? 'unsynced' : Math.max(0, Date.now() - ts);
    const key = String(lag);
    if (key === node.lastLag && !force) return;
    node.lastLag = key;
    node.fake.setLag(lag);
  }

  // --- helpers -----------------------------------------------------------------------------

  #node(name: string): Node {
    const node = this.#nodes.get(name);
    if (!node)
      throw new Error(`FakeCluster: no node named ${JSON.stringify(name)} (have ${this.names})`);
    return node;
  }

  #defaultDb(): string {
    return this.dbs[0] ?? '';
  }

  #record(event: Omit<ClusterEvent, 'at'>): void {
    const full: ClusterEvent = { at: Date.now(), ...event };
    this.#history.push(full);
    for (const listener of this.#listeners) {
      try {
        listener(full);
      } catch (err) {
        this.errors.push(err as Error);
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.#sleeps.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      this.#sleeps.add(entry);
    });
  }
}

function emptyCopy(): DbCopy {
  return { content: null, seen: null, pending: null, ltx: new Map() };
}

function hex16(n: bigint): string {
  return n.toString(16).padStart(16, '0');
}

/**
 * A content-derived stand-in for LiteFS's database checksum (db.go checksum: CRC64 of every
 * page, XORed, with ltx.ChecksumFlag): equal bytes give equal checksums on every node.
 */
export function checksumOf(content: Buffer | null): string {
  if (content === null || content.length === 0) return hex16(CHECKSUM_FLAG);
  const digest = createHash('sha256').update(content).digest();
  return hex16(digest.readBigUInt64BE(0) | CHECKSUM_FLAG);
}

/** Identity and state of a file: changes whenever any process writes or replaces it. */
function fingerprint(path: string): string | null {
  const st = statSync(path, { bigint: true, throwIfNoEntry: false });
  return st ? `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}` : null;
}

function readContent(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function sameContent(a: Buffer | null, b: Buffer | null): boolean {
  if (a === null || b === null) return a === b;
  return a.equals(b);
}

/** A rollback journal with a live header means a write transaction has not committed yet. */
function journalActive(dbPath: string): boolean {
  let fd: number;
  try {
    fd = openSync(`${dbPath}-journal`, 'r');
  } catch {
    return false;
  }
  try {
    const head = Buffer.alloc(JOURNAL_MAGIC.length);
    const n = readSync(fd, head, 0, head.length, 0);
    return n === head.length && head.equals(JOURNAL_MAGIC);
  } finally {
    closeSync(fd);
  }
}

/**
 * Rewrites the file in place (same inode), as LiteFS writes pages into its database file, so a
 * SQLite connection a process keeps open on a replica sees the new data. null removes it.
 */
function writeInPlace(path: string, content: Buffer | null): void {
  if (content === null) {
    rmSync(path, { force: true });
    return;
  }
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    writeFileSync(tmp, content);
    renameSync(tmp, path);
    return;
  }
  try {
    writeSync(fd, content, 0, content.length, 0);
    ftruncateSync(fd, content.length);
  } finally {
    closeSync(fd);
  }
}

/** POST without a body on a private agent-less connection; resolves with status and text. */
function post(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.setTimeout(5000, () => req.destroy(new Error('handoff request timed out')));
    req.on('error', reject);
    req.end();
  });
}
