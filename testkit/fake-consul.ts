// A fake Consul KV for the simulated cluster (testkit/cluster.ts): the slice of Consul's HTTP
// API that the cluster record uses (src/consul/record.ts: GET, PUT ?cas=, DELETE ?cas= on
// /v1/kv/<key>), answering as ../shared/litefs/consul-standin.mjs does (the stand-in used with
// real LiteFS; where the two could differ, the stand-in's behaviour is copied):
// - a missing key answers 404 with an empty body; an entry is `[{LockIndex, Key, Flags, Value,
//   Session?, CreateIndex, ModifyIndex}]`, Value base64 (null when empty), Session omitted when
//   no session holds the key;
// - PUT answers `true`/`false`; ?cas=0 creates only if absent, ?cas=N writes only at
//   ModifyIndex N; DELETE ?cas= of a missing key answers `true` (state.kvsDeleteCASTxn);
// - a write that changes nothing keeps the old ModifyIndex; every write takes the next index;
// - errors answer Consul's way: status and the error text as a text/plain body;
// - anything before the first `/v1/` or `/_fake/` in the path is dropped (the URL's path is
//   LiteFS's key prefix, never a request path); tokens are not checked, only recorded;
// - `POST /_fake/fail-kv/start?prefix=P` (and `/end`): KV requests for keys under P answer 500
//   `rpc error: injected fault`; `POST /_fake/outage/start` (and `/end`): every /v1/ request
//   answers 500 `No cluster leader`; `GET /_fake/state` dumps the KV.
// The lease is not taken over HTTP here: the cluster holds it for its primary with setLease /
// handLease / releaseLease / expireLease, writing what LiteFS 0.5.11 writes (consul/consul.go
// Acquire: the PrimaryInfo JSON, held by a session; handoff rewrites the value under the same
// session; a clean stop releases it, leaving an empty value; an expired session deletes it).

import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** structs.DirEntry, as kept. */
interface Entry {
  Key: string;
  Value: Buffer;
  Flags: number;
  LockIndex: number;
  Session: string;
  CreateIndex: number;
  ModifyIndex: number;
}

/** One request the fake answered (for tests: what was asked, with which token). */
export interface ConsulRequest {
  method: string;
  /** The path after the dropped prefix, decoded, e.g. `/v1/kv/litefs-supervisor/app`. */
  path: string;
  /** The KV key for /v1/kv/ requests, else undefined. */
  key: string | undefined;
  query: string;
  /** The X-Consul-Token header, if sent. */
  tokenHeader: string | undefined;
  status: number;
}

export interface FakeConsulOptions {
  /** The URL's path: LiteFS's key prefix (consul/consul.go Open). Default none. */
  prefix?: string;
  /** The ACL token put in the URL's password (`http://:TOKEN@host/...`); never checked. */
  token?: string;
}

/** What LiteFS writes as the lease value (litefs.PrimaryInfo). */
export interface PrimaryInfo {
  hostname: string;
  advertiseUrl: string;
}

const KV_MAX_VALUE_SIZE = 512 * 1024; // Consul's default kv_max_value_size

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class FakeConsul {
  readonly requests: ConsulRequest[] = [];
  readonly prefix: string;
  readonly token: string | undefined;
  #server: Server;
  #port = 0;
  #index = 1;
  #kvsIndex = 0;
  #kv = new Map<string, Entry>();
  #sessions = new Set<string>();
  #failKv: string | null = null;
  #outage = false;

  private constructor(options: FakeConsulOptions) {
    this.prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.token = options.token;
    this.#server = createServer((req, res) => void this.#handle(req, res));
    // As the stand-in: never time out idle keep-alive connections.
    this.#server.keepAliveTimeout = 0;
  }

  static async start(options: FakeConsulOptions = {}): Promise<FakeConsul> {
    const fake = new FakeConsul(options);
    fake.#server.listen(0, '127.0.0.1');
    await once(fake.#server, 'listening');
    fake.#port = (fake.#server.address() as AddressInfo).port;
    return fake;
  }

  /** `http://127.0.0.1:PORT`: no token, no path. */
  get origin(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** What litefs.yml `lease.consul.url` names: with the token as password and the prefix path. */
  get url(): string {
    const auth = this.token === undefined ? '' : `:${encodeURIComponent(this.token)}@`;
    return `http://${auth}127.0.0.1:${this.#port}${this.prefix === '' ? '' : `/${this.prefix}`}`;
  }

  /** A key under the prefix, as LiteFS joins them (path.Join). */
  keyOf(key: string): string {
    return [this.prefix, key.replace(/^\/+|\/+$/g, '')].filter((p) => p !== '').join('/');
  }

  /** The stored value of a full key (prefix included) as text; undefined when absent. */
  value(fullKey: string): string | undefined {
    return this.#kv.get(fullKey)?.Value.toString('utf8');
  }

  /** The session holding a full key, '' when none; undefined when absent. */
  session(fullKey: string): string | undefined {
    return this.#kv.get(fullKey)?.Session;
  }

  /** Every key, with its value as text, ModifyIndex and session (what /_fake/state shows). */
  dump(): { Key: string; ValueText: string; Session?: string; ModifyIndex: number }[] {
    return [...this.#kv.values()].map((e) => ({
      Key: e.Key,
      ValueText: e.Value.toString('utf8'),
      ...(e.Session ? { Session: e.Session } : {}),
      ModifyIndex: e.ModifyIndex,
    }));
  }

  /** Requests to one full key (prefix included). */
  requestsFor(fullKey: string): ConsulRequest[] {
    return this.requests.filter((r) => r.key === fullKey);
  }

  // --- the lease, as LiteFS 0.5.11 keeps it (consul/consul.go) ---------------------------

  /**
   * Leaser.Acquire: a new session takes the key `fullKey` with the PrimaryInfo value. Returns
   * the session ID; false (nothing changed) when another session holds it.
   */
  setLease(fullKey: string, info: PrimaryInfo): string | false {
    const ex = this.#kv.get(fullKey);
    if (ex?.Session) return false;
    const session = randomUUID();
    this.#sessions.add(session);
    this.#set(
      {
        Key: fullKey,
        Value: primaryInfo(info),
        Flags: 0,
        LockIndex: ex ? ex.LockIndex + 1 : 1,
        Session: session,
      },
      true,
    );
    return session;
  }

  /**
   * A handoff (store.go Handoff, then AcquireExisting on the target): the same session holds
   * the key and the new primary's info replaces the value (seen on LiteFS 0.5.11 with the
   * stand-in: same Session, value naming the new node, a new ModifyIndex).
   */
  handLease(fullKey: string, info: PrimaryInfo): boolean {
    const ex = this.#kv.get(fullKey);
    if (!ex?.Session) return false;
    this.#set({ ...ex, Value: primaryInfo(info) }, true);
    return true;
  }

  /**
   * Lease.Close on a clean stop: KV Release (its empty value replaces the stored one: a PUT's
   * value always does), then the session is destroyed.
   */
  releaseLease(fullKey: string): void {
    const ex = this.#kv.get(fullKey);
    if (!ex?.Session) return;
    this.#sessions.delete(ex.Session);
    this.#set({ ...ex, Value: Buffer.alloc(0), Session: '' }, true);
  }

  /** The session expired (a crash, or a lease lost): LiteFS's `Behavior: delete` deletes it. */
  expireLease(fullKey: string): void {
    const ex = this.#kv.get(fullKey);
    if (!ex?.Session) return;
    this.#sessions.delete(ex.Session);
    this.#delete(fullKey);
  }

  /** A plain KV set, as LiteFS writes `<key>/clusterid` (keeps any holder). */
  put(fullKey: string, value: string): void {
    this.#set(
      { Key: fullKey, Value: Buffer.from(value), Flags: 0, LockIndex: 0, Session: '' },
      false,
    );
  }

  /** `/_fake/fail-kv/start?prefix=`: KV requests for keys under the prefix answer 500. */
  failKv(prefix: string | null): void {
    this.#failKv = prefix;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    if (!this.#server.listening) return;
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  // --- the store (state.kvsSetTxn and friends) ----------------------------------------------

  #set(e: Omit<Entry, 'CreateIndex' | 'ModifyIndex'>, updateSession: boolean): void {
    const idx = ++this.#index;
    const ex = this.#kv.get(e.Key);
    const session = updateSession ? e.Session : (ex?.Session ?? '');
    if (
      ex &&
      ex.LockIndex === e.LockIndex &&
      ex.Flags === e.Flags &&
      ex.Session === session &&
      ex.Value.equals(e.Value)
    ) {
      return; // a write that changes nothing keeps its ModifyIndex
    }
    this.#kv.set(e.Key, {
      ...e,
      Session: session,
      CreateIndex: ex ? ex.CreateIndex : idx,
      ModifyIndex: idx,
    });
    this.#kvsIndex = idx;
  }

  #delete(key: string): void {
    const idx = ++this.#index;
    if (this.#kv.delete(key)) this.#kvsIndex = idx;
  }

  // --- HTTP ---------------------------------------------------------------------------------

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const u = new URL(req.url ?? '/', 'http://fake-consul');
    let path = '';
    let status = 200;
    try {
      try {
        path = decodeURIComponent(u.pathname);
      } catch {
        throw new HttpError(400, 'Invalid URL path');
      }
      path = path.replace(/^.*?(?=\/(?:v1|_fake)\/)/s, '');
      const r = this.#route(req.method ?? 'GET', path, u.searchParams, Buffer.concat(chunks));
      status = r.status;
      res.writeHead(status, {
        'Content-Type': 'application/json',
        ...(r.index === undefined ? {} : { 'X-Consul-Index': String(Math.max(r.index, 1)) }),
      });
      res.end(r.body === null ? '' : JSON.stringify(r.body));
    } catch (err) {
      status = err instanceof HttpError ? err.status : 500;
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end((err as Error).message);
    } finally {
      const token = req.headers['x-consul-token'];
      this.requests.push({
        method: req.method ?? '',
        path,
        key: path.startsWith('/v1/kv/') ? path.slice('/v1/kv/'.length) : undefined,
        query: u.search,
        tokenHeader: typeof token === 'string' ? token : undefined,
        status,
      });
    }
  }

  #route(
    method: string,
    path: string,
    q: URLSearchParams,
    body: Buffer,
  ): { status: number; body: unknown; index?: number } {
    const allow = (...ms: string[]) => {
      if (!ms.includes(method)) throw new HttpError(405, `method ${method} not allowed`);
    };
    if (path === '/_fake/fail-kv/start') {
      allow('POST', 'PUT');
      this.#failKv = q.get('prefix') ?? '';
      return { status: 200, body: true };
    }
    if (path === '/_fake/fail-kv/end') {
      allow('POST', 'PUT');
      this.#failKv = null;
      return { status: 200, body: true };
    }
    if (path === '/_fake/outage/start' || path === '/_fake/outage/end') {
      allow('POST', 'PUT');
      this.#outage = path.endsWith('start');
      return { status: 200, body: true };
    }
    if (path === '/_fake/state') {
      allow('GET');
      return { status: 200, body: { index: this.#index, kv: this.dump() } };
    }
    if (this.#outage && path.startsWith('/v1/')) throw new HttpError(500, 'No cluster leader');
    const m = /^\/v1\/kv\/(.*)$/s.exec(path);
    if (!m) throw new HttpError(404, '404 page not found');
    const key = m[1] ?? '';
    if (this.#failKv !== null && key.startsWith(this.#failKv)) {
      throw new HttpError(500, 'rpc error: injected fault');
    }
    allow('GET', 'PUT', 'DELETE');
    if (method === 'GET') return this.#get(key);
    if (method === 'PUT') return { status: 200, body: this.#put(key, q, body) };
    return { status: 200, body: this.#del(key, q) };
  }

  #get(key: string): { status: number; body: unknown; index: number } {
    if (!key) throw new HttpError(400, 'Missing key name');
    const e = this.#kv.get(key);
    if (!e) return { status: 404, body: null, index: this.#kvsIndex };
    const view = {
      LockIndex: e.LockIndex,
      Key: e.Key,
      Flags: e.Flags,
      Value: e.Value.length ? e.Value.toString('base64') : null,
      ...(e.Session ? { Session: e.Session } : {}),
      CreateIndex: e.CreateIndex,
      ModifyIndex: e.ModifyIndex,
    };
    return { status: 200, body: [view], index: e.ModifyIndex };
  }

  #put(key: string, q: URLSearchParams, value: Buffer): boolean {
    if (!key) throw new HttpError(400, 'Missing key name');
    if (['cas', 'acquire', 'release'].filter((f) => q.has(f)).length > 1) {
      throw new HttpError(400, `Conflicting flags: ${q}`);
    }
    if (q.has('acquire') || q.has('release')) {
      // The cluster takes the lease through setLease/handLease/releaseLease, never over HTTP.
      throw new HttpError(400, 'the fake Consul takes no ?acquire= or ?release= over HTTP');
    }
    if (value.length > KV_MAX_VALUE_SIZE) {
      throw new HttpError(
        413,
        `Request body(${value.length} bytes) too large, max size: ${KV_MAX_VALUE_SIZE} bytes.`,
      );
    }
    const flags = q.has('flags') ? parseUint(q.get('flags') ?? '') : 0;
    const ex = this.#kv.get(key);
    if (q.has('cas')) {
      const cas = parseUint(q.get('cas') ?? '');
      if (cas === 0 ? ex !== undefined : ex === undefined || ex.ModifyIndex !== cas) {
        ++this.#index; // the stand-in takes an index for a refused cas too
        return false;
      }
    }
    // A plain set keeps any lock holder and LockIndex 0 (the request's), as the stand-in.
    this.#set({ Key: key, Value: value, Flags: flags, LockIndex: 0, Session: '' }, false);
    return true;
  }

  #del(key: string, q: URLSearchParams): boolean {
    if (q.has('recurse') && q.has('cas')) throw new HttpError(400, `Conflicting flags: ${q}`);
    if (!key && !q.has('recurse')) throw new HttpError(400, 'Missing key name');
    const idx = ++this.#index; // taken before the cas check, as the stand-in does
    if (q.has('cas')) {
      const cas = parseUint(q.get('cas') ?? '');
      const ex = this.#kv.get(key);
      if (!ex) return true;
      if (ex.ModifyIndex !== cas) return false;
    }
    const keys = q.has('recurse') ? [...this.#kv.keys()].filter((k) => k.startsWith(key)) : [key];
    for (const k of keys) if (this.#kv.delete(k)) this.#kvsIndex = idx;
    return true;
  }
}

function primaryInfo(info: PrimaryInfo): Buffer {
  // litefs.PrimaryInfo's JSON field names.
  return Buffer.from(
    JSON.stringify({ hostname: info.hostname, 'advertise-url': info.advertiseUrl }),
  );
}

function parseUint(s: string): number {
  if (!/^\d+$/.test(s))
    throw new HttpError(500, `strconv.ParseUint: parsing "${s}": invalid syntax`);
  return Number(s);
}
