// A fake LiteFS node for adapter and end-to-end tests (docs/design.md section 11): the HTTP API of
// docs/litefs-facts.md on 127.0.0.1 (port 0) plus a temp "mount dir" holding `.primary`, `.lag`, `<db>`
// and `<db>-pos`. Setters change the HTTP answers, the files and the /events stream together,
// in the order real LiteFS does (store.go setLease / setPrimaryInfo, fuse/*.go).

import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakeLitefsOptions {
  /** `Litefs-Id`, 16 hex chars; LiteFS prints it upper case (litefs.go FormatNodeID). */
  nodeId?: string;
  /** `''` = no cluster ID yet (/info omits `clusterID`, no `Litefs-Cluster-Id` header). */
  clusterId?: string;
  hostname?: string;
  candidate?: boolean;
  /** Databases created at start as valid 1-page SQLite files at TXID 1. */
  dbs?: string[];
  /** Initial role (default 'none': no primary known, `.lag` unsynced, like LiteFS at start). */
  role?: 'primary' | 'none' | { replicaOf: string };
  /** Time between "lease released" and "lease acquired" on /promote and /handoff (default 20 ms). */
  switchDelayMs?: number;
}

export type InfoFault =
  | { status: number }
  | { badJson: true }
  | { body: string }
  | { delayMs: number }
  | null;
/** A route answering `status`, or never answering (`hang`: a stuck peer). */
export type RouteFault = { status: number; body?: string } | { hang: true } | null;
export type DbContent = { sqlite: true } | { bytes: Uint8Array } | { size: 0 };

/** How a cluster (testkit/cluster.ts) answers a route that involves other nodes. */
export type PeerResult = { ok: true } | { ok: false; status: number; message: string };

/**
 * Set on a node that belongs to a FakeCluster: the routes whose outcome depends on other nodes
 * are decided by the cluster instead of by this node alone. The checks LiteFS makes locally
 * (candidate, already primary, no primary known, node ID syntax) still happen here first.
 */
export interface FakeLitefsPeers {
  /** POST /promote on a candidate replica (http/server.go handlePostPromote). */
  promote(node: FakeLitefs): Promise<PeerResult>;
  /** POST /handoff?nodeID= on the primary (store.go Handoff). */
  handoff(node: FakeLitefs, nodeId: bigint): PeerResult;
  /** POST /import on the primary: the body becomes the next transaction (db.go Import). */
  import(node: FakeLitefs, name: string, bytes: Buffer): PeerResult;
}

export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. `/handoff`. */
  path: string;
  /** Path and query as sent, e.g. `/handoff?nodeID=00000000000000AB`. */
  url: string;
  time: number;
}

interface DbState {
  txid: bigint;
  checksum: string;
}

const UNSYNCED = 2147483647; // math.MaxInt32, fuse/lag_node.go
const LAG_FILE_SIZE = 11; // lagSize, fuse/lag_node.go

export class FakeLitefs {
  readonly hostname: string;
  readonly mountDir: string;
  /** Stands for LiteFS's data dir; reported as /info `path`. */
  readonly dataDir: string;
  readonly requests: RecordedRequest[] = [];
  clusterId: string;
  candidate: boolean;
  /** What POST /promote does after answering 200 (default: this node becomes primary). */
  promoteBehavior: 'become-primary' | 'stay' = 'become-primary';
  /** Set by FakeCluster; /promote, /handoff and /import then ask it (promoteBehavior is ignored). */
  peers: FakeLitefsPeers | undefined;

  #nodeId: string;
  #root: string;
  #server: Server;
  #port = 0;
  #isPrimary = false;
  #remotePrimary: string | undefined;
  #dbs = new Map<string, DbState>();
  #replicas = new Map<bigint, string>();
  #eventStreams = new Set<ServerResponse>();
  #eventsEnabled = true;
  #infoFault: InfoFault = null;
  #routeFaults = new Map<string, NonNullable<RouteFault>>();
  #timers = new Set<NodeJS.Timeout>();
  /** HALT locks held (db.go AcquireHaltLock): db name -> lock ID. */
  #halts = new Map<string, string>();
  /** How long POST /halt waits before granting a lock (a transaction holding it meanwhile). */
  haltDelayMs = 0;
  #switchDelayMs: number;
  #closed = false;

  private constructor(options: FakeLitefsOptions) {
    this.#nodeId = options.nodeId ?? randomNodeId();
    this.clusterId = options.clusterId ?? `LFSC${randomBytes(8).toString('hex').toUpperCase()}`;
    this.hostname = options.hostname ?? `fake-${this.nodeId.slice(0, 6).toLowerCase()}`;
    this.candidate = options.candidate ?? true;
    this.#switchDelayMs = options.switchDelayMs ?? 20;
    this.#root = mkdtempSync(join(tmpdir(), 'fake-litefs-'));
    this.mountDir = join(this.#root, 'mount');
    this.dataDir = join(this.#root, 'data');
    mkdirSync(this.mountDir);
    mkdirSync(this.dataDir);
    this.#server = createServer((req, res) => this.#handle(req, res));
  }

  static async start(options: FakeLitefsOptions = {}): Promise<FakeLitefs> {
    const fake = new FakeLitefs(options);
    const role = options.role ?? 'none';
    if (role === 'primary') fake.becomePrimary();
    else if (role !== 'none') {
      fake.becomeReplica(role.replicaOf);
      fake.setLag(0);
    } else fake.setLag('unsynced');
    for (const name of options.dbs ?? []) {
      fake.writeDb(name, { sqlite: true });
      fake.setPos(name, 1n);
    }
    await fake.#listen(0);
    return fake;
  }

  /** `Litefs-Id`; changes only through renewNodeId. */
  get nodeId(): string {
    return this.#nodeId;
  }

  /**
   * A new LiteFS process gets a new random node ID: it is generated in store.go NewStore and no
   * longer persisted (store.go Open removes the old `id` file, superfly/litefs#361).
   */
  renewNodeId(nodeId: string = randomNodeId()): void {
    this.#nodeId = nodeId;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  get isPrimary(): boolean {
    return this.#isPrimary;
  }

  /** Hostname of the primary this replica is connected to; undefined when primary or none known. */
  get remotePrimary(): string | undefined {
    return this.#remotePrimary;
  }

  /** Number of open GET /events streams. */
  get eventConnections(): number {
    return this.#eventStreams.size;
  }

  dbPath(name: string): string {
    return join(this.mountDir, name);
  }

  requestsTo(path: string, method?: string): RecordedRequest[] {
    return this.requests.filter(
      (r) => r.path === path && (method === undefined || r.method === method),
    );
  }

  // --- role -----------------------------------------------------------------------------

  /** Acquires the lease: `.primary` gone, `.lag` `+000000000`, /info shows own hostname. */
  becomePrimary(): void {
    // A replica first drops its connection to the old primary (monitorLeaseAsReplica's
    // deferred setPrimaryInfo(nil)), then acquires the lease (setLease).
    if (this.#remotePrimary !== undefined) this.#setRemotePrimary(undefined);
    if (!this.#isPrimary) this.#setLease(true);
  }

  /**
   * Connected to `primaryHostname`: `.primary` written, /info shows it. Coming from primary,
   * `.lag` becomes unsynced, as LiteFS resets the primary timestamp to -1 when it loses the
   * lease (store.go setLease); call setLag afterwards to model the first heartbeat.
   */
  becomeReplica(primaryHostname: string): void {
    if (this.#isPrimary) this.#setLease(false);
    if (this.#remotePrimary === primaryHostname) return;
    if (this.#remotePrimary !== undefined) this.#setRemotePrimary(undefined);
    this.#setRemotePrimary(primaryHostname);
  }

  /** No primary known (election, reconnect): `.primary` absent, /info primary.hostname ''. */
  loseLeader(): void {
    if (this.#isPrimary) this.#setLease(false);
    if (this.#remotePrimary !== undefined) this.#setRemotePrimary(undefined);
  }

  /** `.lag` as LiteFS writes it (`%+010d\n`); 'absent' models a LiteFS without `.lag`. */
  setLag(lag: number | 'unsynced' | 'absent'): void {
    const path = join(this.mountDir, '.lag');
    if (lag === 'absent') {
      rmSync(path, { force: true });
      return;
    }
    const value = lag === 'unsynced' ? UNSYNCED : Math.trunc(lag);
    // What a reader of the FUSE file gets: the file reports 11 bytes, so a wider value (the
    // unsynced marker included) loses its newline.
    atomicWrite(path, formatLag(value).slice(0, LAG_FILE_SIZE));
  }

  /** A replica connected to this primary, so /handoff?nodeID= can target it. */
  connectReplica(nodeId: string, hostname: string): void {
    this.#replicas.set(BigInt(`0x${nodeId}`), hostname);
  }

  disconnectReplica(nodeId: string): void {
    this.#replicas.delete(BigInt(`0x${nodeId}`));
  }

  // --- databases ---------------------------------------------------------------------------

  /**
   * Writes the db file. A new db gets `-pos` `0000000000000000/0000000000000000` (known to
   * LiteFS, no transaction yet) and shows in /debug/vars; the position is set with setPos.
   */
  writeDb(name: string, content: DbContent): void {
    let bytes: Uint8Array;
    if ('sqlite' in content) bytes = emptySqliteDb();
    else if ('bytes' in content) bytes = content.bytes;
    else bytes = new Uint8Array(0);
    atomicWrite(this.dbPath(name), bytes);
    if (!this.#dbs.has(name)) this.#writePos(name, { txid: 0n, checksum: '0'.repeat(16) });
  }

  /**
   * Sets `<db>-pos` and emits a `tx` event, like an applied transaction (db.go). With
   * `emit: false` only the position changes, as when LiteFS opens a database at startup or
   * creates it on the first FUSE create (store.go CreateDB: TXID 0, no transaction).
   */
  setPos(
    name: string,
    txid: bigint,
    checksum = defaultChecksum(txid),
    options: { emit?: boolean } = {},
  ): void {
    this.#writePos(name, { txid, checksum });
    if (options.emit === false) return;
    this.#emit({
      type: 'tx',
      db: name,
      data: {
        txID: hex16(txid),
        postApplyChecksum: checksum,
        pageSize: 4096,
        commit: 1,
        timestamp: new Date().toISOString(),
      },
    });
  }

  /** Removes only `<db>-pos`, as on a LiteFS version without it. */
  removePos(name: string): void {
    rmSync(`${this.dbPath(name)}-pos`, { force: true });
  }

  /** Removes the db, its `-pos` and its /debug/vars entry. */
  removeDb(name: string): void {
    this.#dbs.delete(name);
    rmSync(this.dbPath(name), { force: true });
    rmSync(`${this.dbPath(name)}-pos`, { force: true });
  }

  position(name: string): DbState | undefined {
    const db = this.#dbs.get(name);
    return db && { ...db };
  }

  // --- faults ------------------------------------------------------------------------------

  /**
   * GET /info answers `status`, truncated JSON, a raw 200 `body`, or normally after
   * `delayMs`; null = normal.
   */
  failInfo(fault: InfoFault): void {
    this.#infoFault = fault;
  }

  /** Any other route answers `status` (LiteFS-style text body) or hangs; null = normal. */
  failRoute(path: string, fault: RouteFault): void {
    if (fault === null) this.#routeFaults.delete(path);
    else this.#routeFaults.set(path, fault);
  }

  /** The HALT locks held now, db name -> lock ID. */
  get halts(): ReadonlyMap<string, string> {
    return new Map(this.#halts);
  }

  /** Destroys every open /events connection. */
  cutEvents(): void {
    for (const res of this.#eventStreams) res.socket?.destroy();
    this.#eventStreams.clear();
  }

  /** /events answers 404, like a LiteFS that predates it; open streams are cut. */
  disableEvents(): void {
    this.#eventsEnabled = false;
    this.cutEvents();
  }

  enableEvents(): void {
    this.#eventsEnabled = true;
  }

  /** Sends a raw line (no newline added) to every open /events stream. */
  sendRawEvent(text: string): void {
    for (const res of this.#eventStreams) res.write(text);
  }

  /** Stops the HTTP server (connections destroyed); the mount dir stays. */
  async stop(): Promise<void> {
    this.#eventStreams.clear();
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  /** Starts the HTTP server again on the same port. */
  async restart(): Promise<void> {
    if (this.#server.listening) return;
    await this.#listen(this.#port);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await this.stop();
    rmSync(this.#root, { recursive: true, force: true });
  }

  // --- internals ---------------------------------------------------------------------------

  async #listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  #setLease(isPrimary: boolean): void {
    this.#isPrimary = isPrimary;
    // store.go setLease: primary timestamp 0 on acquiring (lag 0), -1 on losing (unsynced).
    this.setLag(isPrimary ? 0 : 'unsynced');
    this.#emitRole('primaryChange');
  }

  #setRemotePrimary(hostname: string | undefined): void {
    this.#remotePrimary = hostname;
    const path = join(this.mountDir, '.primary');
    if (hostname === undefined) rmSync(path, { force: true });
    else atomicWrite(path, `${hostname}\n`);
    this.#emitRole('primaryChange');
  }

  #emitRole(type: 'init' | 'primaryChange', only?: ServerResponse): void {
    // `hostname` is the connected primary's, omitted (omitempty) when this node is primary
    // or no primary is known (store.go notifyPrimaryChange, SubscribeEvents).
    const data: { isPrimary: boolean; hostname?: string } = { isPrimary: this.#isPrimary };
    if (this.#remotePrimary !== undefined) data.hostname = this.#remotePrimary;
    this.#emit({ type, data }, only);
  }

  #emit(event: object, only?: ServerResponse): void {
    const line = `${JSON.stringify(event)}\n`;
    for (const res of only ? [only] : this.#eventStreams) res.write(line);
  }

  #writePos(name: string, pos: DbState): void {
    this.#dbs.set(name, pos);
    atomicWrite(`${this.dbPath(name)}-pos`, `${hex16(pos.txid)}/${pos.checksum}\n`);
  }

  #later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#closed) fn();
    }, ms);
    this.#timers.add(timer);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    this.requests.push({ method, path: url.pathname, url: req.url ?? '/', time: Date.now() });

    // /debug/vars and /metrics are served before LiteFS adds its headers (http/server.go
    // serveHTTP), so they carry neither Litefs-Id nor Litefs-Cluster-Id.
    if (url.pathname === '/debug/vars' || url.pathname === '/metrics') {
      if (url.pathname === '/metrics') this.#metrics(res);
      else this.#debugVars(res);
      return;
    }

    res.setHeader('Litefs-Id', this.nodeId);
    if (this.clusterId !== '') res.setHeader('Litefs-Cluster-Id', this.clusterId);

    if (url.pathname === '/halt' && (method === 'POST' || method === 'DELETE')) {
      const fault = this.#routeFaults.get(url.pathname);
      if (fault && 'hang' in fault) return;
      if (fault) goError(res, fault.status, fault.body ?? `fake ${fault.status}`);
      else this.#halt(method, url, res);
      return;
    }
    const routes: Record<string, [string, () => void]> = {
      '/info': ['GET', () => this.#info(res)],
      '/events': ['GET', () => this.#events(req, res)],
      '/promote': ['POST', () => this.#promote(res)],
      '/handoff': ['POST', () => this.#handoff(url, res)],
      '/export': ['GET', () => this.#export(url, res)],
      '/import': ['POST', () => this.#import(url, req, res)],
    };
    const route = routes[url.pathname];
    if (!route) {
      goError(res, 404, '404 page not found');
      return;
    }
    if (method !== route[0]) {
      goError(res, 405, 'method not allowed');
      return;
    }
    const fault = this.#routeFaults.get(url.pathname);
    if (fault && 'hang' in fault) return; // never answers; closeAllConnections ends it
    if (fault) {
      goError(res, fault.status, fault.body ?? `fake ${fault.status}`);
      return;
    }
    route[1]();
  }

  #info(res: ServerResponse): void {
    const fault = this.#infoFault;
    if (fault && 'status' in fault) {
      goError(res, fault.status, 'fake /info failure');
      return;
    }
    if (fault && 'badJson' in fault) {
      res.end('{\n  "clusterID": "LFSC', 'utf8');
      return;
    }
    if (fault && 'body' in fault) {
      res.end(fault.body);
      return;
    }
    const answer = () => {
      // json.MarshalIndent of litefs.NodeInfo: clusterID is omitempty (litefs.go).
      const body: Record<string, unknown> = {};
      if (this.clusterId !== '') body.clusterID = this.clusterId;
      body.isPrimary = this.#isPrimary;
      body.candidate = this.candidate;
      body.path = this.dataDir;
      body.primary = { hostname: this.#isPrimary ? this.hostname : (this.#remotePrimary ?? '') };
      // Go's http sniffs the JSON text as text/plain (seen on real LiteFS 0.5.11).
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end(`${JSON.stringify(body, null, 2)}\n`);
    };
    if (fault && 'delayMs' in fault) this.#later(fault.delayMs, answer);
    else answer();
  }

  #events(req: IncomingMessage, res: ServerResponse): void {
    if (!this.#eventsEnabled) {
      goError(res, 404, '404 page not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    this.#eventStreams.add(res);
    req.socket.setNoDelay(true);
    const drop = () => this.#eventStreams.delete(res);
    res.on('close', drop);
    // store.go SubscribeEvents: every subscriber gets an init event first.
    this.#emitRole('init', res);
  }

  #promote(res: ServerResponse): void {
    // http/server.go handlePostPromote.
    if (!this.candidate) {
      goError(res, 409, 'not eligible to become primary');
      return;
    }
    if (this.#isPrimary) {
      res.end();
      return;
    }
    if (this.#remotePrimary === undefined) {
      goError(res, 500, 'no primary is currently available for handoff, cannot promote');
      return;
    }
    if (this.peers) {
      // The cluster asks the primary for the handoff; the role changes after the answer.
      this.peers.promote(this).then(
        (result) => answerPeer(res, result),
        (err: unknown) => goError(res, 500, `handoff failed: ${(err as Error).message}`),
      );
      return;
    }
    res.end();
    if (this.promoteBehavior === 'stay') return;
    // The answer comes before the role changes; in between no primary is known.
    this.#later(0, () => {
      this.loseLeader();
      this.#later(this.#switchDelayMs, () => this.becomePrimary());
    });
  }

  #halt(method: string, url: URL, res: ServerResponse): void {
    // http/server.go handlePostHalt / handleDeleteHalt: an int64 lock ID; POST creates the db
    // when missing and waits for the write lock; DELETE of another ID changes nothing.
    const name = url.searchParams.get('name') ?? '';
    const id = url.searchParams.get('id') ?? '';
    if (!/^-?\d+$/.test(id)) {
      goError(res, 400, `invalid id: "${id}"`);
      return;
    }
    if (method === 'DELETE') {
      if (this.#halts.get(name) === id) this.#halts.delete(name);
      res.end();
      return;
    }
    // db.go AcquireHaltLock: the same ID again is granted at once; another waits for the
    // write lock, which the held halt keeps until it is released (or LiteFS's 10 s
    // HaltAcquireTimeout: a 500).
    const held = this.#halts.get(name);
    if (held !== undefined && held !== id) {
      const until = Date.now() + 10_000;
      const retry = () => {
        const now = this.#halts.get(name);
        if (now === undefined || now === id) this.#halt(method, url, res);
        else if (Date.now() >= until) {
          goError(res, 500, 'acquire halt lock: context deadline exceeded');
        } else this.#later(5, retry);
      };
      this.#later(5, retry);
      return;
    }
    const grant = () => {
      if (!this.#dbs.has(name)) this.#dbs.set(name, { txid: 0n, checksum: '0000000000000000' });
      this.#halts.set(name, id);
      const db = this.#dbs.get(name);
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end(
        `${JSON.stringify({ id: Number(id), pos: { txid: db?.txid.toString(16).padStart(16, '0') }, expires: new Date(Date.now() + 30_000).toISOString() })}\n`,
      );
    };
    if (this.haltDelayMs > 0) this.#later(this.haltDelayMs, grant);
    else grant();
  }

  /** A demoted node recovers its dbs only once no HALT lock is held (store.go Recover). */
  #afterHalts(fn: () => void): void {
    if (this.#halts.size === 0) fn();
    else this.#later(5, () => this.#afterHalts(fn));
  }

  #handoff(url: URL, res: ServerResponse): void {
    // http/server.go handlePostHandoff, store.go Handoff.
    const raw = url.searchParams.get('nodeID') ?? '';
    if (!/^[0-9A-Fa-f]{1,16}$/.test(raw)) {
      goError(res, 400, 'invalid node id');
      return;
    }
    if (!this.#isPrimary) {
      goError(res, 500, 'cannot handoff: node is not currently primary');
      return;
    }
    if (this.peers) {
      answerPeer(res, this.peers.handoff(this, BigInt(`0x${raw}`)));
      return;
    }
    const target = this.#replicas.get(BigInt(`0x${raw}`));
    if (target === undefined) {
      goError(res, 500, 'cannot handoff: target node is not currently connected');
      return;
    }
    res.end();
    // Seen on real LiteFS 0.5.11 (test/fixtures/litefs-0.5.11/events-handoff-old-primary.ndjson):
    // the old primary first finds the lease key still naming itself ("existing primary found
    // (node-a) ... cannot connect to self"), drops that, and only then follows the new primary.
    this.#later(0, () => {
      this.loseLeader();
      // Its recovery waits for any HALT lock (store.go Recover takes the write lock).
      this.#later(this.#switchDelayMs, () =>
        this.#afterHalts(() => {
          this.becomeReplica(this.hostname);
          this.#later(this.#switchDelayMs, () => {
            this.loseLeader();
            this.#later(this.#switchDelayMs, () => this.becomeReplica(target));
          });
        }),
      );
    });
  }

  #export(url: URL, res: ServerResponse): void {
    const name = url.searchParams.get('name') ?? '';
    if (name === '') {
      goError(res, 400, 'name required');
      return;
    }
    if (!this.#dbs.has(name)) {
      goError(res, 404, 'database not found');
      return;
    }
    let bytes: Buffer;
    try {
      bytes = readFileSync(this.dbPath(name));
    } catch (err) {
      // A position set without a file (a test's shortcut): what LiteFS sends for an empty db.
      if ((err as { code?: string }).code === 'ENOENT') {
        res.end();
        return;
      }
      goError(res, 500, `write snapshot: ${(err as Error).message}`);
      return;
    }
    // Real LiteFS streams it (no Content-Length): a short body is only seen at the end.
    res.setHeader('Content-Type', 'application/octet-stream');
    res.write(bytes);
    res.end();
  }

  #import(url: URL, req: IncomingMessage, res: ServerResponse): void {
    const name = url.searchParams.get('name') ?? '';
    if (name === '') {
      goError(res, 400, 'name required');
      return;
    }
    // PrimaryCtx is already done on a replica (store.go primaryCtx.Err = ErrLeaseExpired).
    if (!this.#isPrimary) {
      goError(res, 503, 'lease expired');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (this.peers) {
        answerPeer(res, this.peers.import(this, name, Buffer.concat(chunks)));
        return;
      }
      this.writeDb(name, { bytes: Buffer.concat(chunks) });
      this.setPos(name, (this.#dbs.get(name)?.txid ?? 0n) + 1n);
      res.end();
    });
  }

  #debugVars(res: ServerResponse): void {
    const dbs: Record<string, unknown> = {};
    for (const [name, db] of this.#dbs) {
      dbs[name] = { name, txid: hex16(db.txid), checksum: db.checksum, locks: UNLOCKED };
    }
    const store = { isPrimary: this.#isPrimary, candidate: this.candidate, dbs };
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(
      `{\n"cmdline": ["litefs","mount"],\n"memstats": {},\n"store": ${JSON.stringify(store)}\n}\n`,
    );
  }

  #metrics(res: ServerResponse): void {
    const lines = [
      '# HELP litefs_is_primary Primary status of the node.',
      '# TYPE litefs_is_primary gauge',
      `litefs_is_primary ${this.#isPrimary ? 1 : 0}`,
      '# HELP litefs_db_txid Current transaction ID.',
      '# TYPE litefs_db_txid gauge',
      ...[...this.#dbs].map(([name, db]) => `litefs_db_txid{db="${name}"} ${db.txid}`),
    ];
    res.setHeader('Content-Type', 'text/plain; version=0.0.4; charset=utf-8');
    res.end(`${lines.join('\n')}\n`);
  }
}

const UNLOCKED = Object.fromEntries(
  [
    'pending',
    'shared',
    'reserved',
    'write',
    'ckpt',
    'recover',
    'read0',
    'read1',
    'read2',
    'read3',
    'read4',
    'dms',
  ].map((k) => [k, 'unlocked']),
);

/** Go's http.Error: text body plus newline, nosniff (http/server.go Error). */
function goError(res: ServerResponse, status: number, message: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.end(`${message}\n`);
}

function answerPeer(res: ServerResponse, result: PeerResult): void {
  if (result.ok) res.end();
  else goError(res, result.status, result.message);
}

/** 16 upper-case hex chars, as LiteFS prints node IDs (litefs.go FormatNodeID). */
function randomNodeId(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}

/** `%+010d\n` (fuse/lag_node.go). */
export function formatLag(ms: number): string {
  const sign = ms < 0 ? '-' : '+';
  return `${sign}${String(Math.abs(ms)).padStart(9, '0')}\n`;
}

function hex16(n: bigint): string {
  return n.toString(16).padStart(16, '0');
}

/** A deterministic stand-in for an LTX checksum: 0 at TXID 0, high bit set otherwise (ltx ChecksumFlag). */
export function defaultChecksum(txid: bigint): string {
  if (txid === 0n) return '0'.repeat(16);
  const mixed = (txid * 0x9e3779b97f4a7c15n) & ((1n << 63n) - 1n);
  return hex16(mixed | (1n << 63n));
}

/** Readers polling the mount must never see a half-written file. */
function atomicWrite(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** A valid, empty one-page SQLite database (format described at sqlite.org/fileformat.html). */
export function emptySqliteDb(): Buffer {
  const pageSize = 4096;
  const buf = Buffer.alloc(pageSize);
  buf.write('SQLite format 3\0', 0, 'latin1');
  buf.writeUInt16BE(pageSize, 16);
  buf[18] = 1; // file format write version: legacy (rollback journal)
  buf[19] = 1; // read version
  buf[20] = 0; // reserved bytes per page
  buf[21] = 64; // max embedded payload fraction
  buf[22] = 32; // min embedded payload fraction
  buf[23] = 32; // leaf payload fraction
  buf.writeUInt32BE(1, 24); // file change counter
  buf.writeUInt32BE(1, 28); // database size in pages
  buf.writeUInt32BE(4, 44); // schema format number
  buf.writeUInt32BE(1, 56); // text encoding: UTF-8
  buf.writeUInt32BE(1, 92); // version-valid-for (= change counter)
  buf.writeUInt32BE(3045000, 96); // SQLITE_VERSION_NUMBER that wrote it
  buf[100] = 0x0d; // page 1: leaf table b-tree page (sqlite_schema), no cells
  buf.writeUInt16BE(pageSize, 105); // start of cell content area
  return buf;
}
