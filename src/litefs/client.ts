// HTTP client for one LiteFS node's API (docs/litefs-facts.md "HTTP API"). Expected failures (node
// unreachable, non-200, unparsable body) come back as `{ ok: false }` values so the caller can
// observe them; nothing here throws for them.

import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Pool } from 'undici';
import type { LitefsInfo, StoreVars } from '../core/litefs-types.js';
import {
  parseDebugVars,
  parseEvidence,
  parseInfo,
  parseSqliteHeader,
  SQLITE_HEADER_BYTES,
  type SqliteHeader,
  type SupervisorEvidence,
} from '../core/parse.js';
import { describeError } from '../system/http-error.js';

export type LitefsResult<T> =
  | { ok: true; value: T }
  | { ok: false; error: string; status?: number };

export interface LitefsClientOptions {
  /** LiteFS API base URL, e.g. `http://127.0.0.1:20202`. Only scheme, host and port are used. */
  url: string;
  /**
   * Max wait for response headers, ms (default 2000). undici checks its timeouts on a coarse
   * tick (lib/util/timers.js, about 0.5 to 1 s), so one can fire up to about a second late.
   */
  headersTimeoutMs?: number;
  /** Max silence between body chunks, ms (default 2000). */
  bodyTimeoutMs?: number;
  /** Max silence between body chunks of GET /export, ms (default 30000): a big copy may pause. */
  exportBodyTimeoutMs?: number;
  /** Max sockets kept to this node (default 4). */
  connections?: number;
}

export interface ExportOptions {
  signal?: AbortSignal;
  bodyTimeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 2000;
const DEFAULT_EXPORT_BODY_TIMEOUT_MS = 30_000;
// LiteFS waits up to 10 s (DefaultHaltAcquireTimeout, store.go) for a halt's write lock.
const HALT_ANSWER_MS = 15_000;
// LiteFS's Error() answers with the error text (http/server.go); keep enough of it to explain.
const MAX_ERROR_BODY_CHARS = 300;

interface Call {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  bodyTimeoutMs?: number;
  headersTimeoutMs?: number;
  body?: Readable;
  signal?: AbortSignal | undefined;
}

export class LitefsClient {
  /** Origin the client talks to (`http://host:port`). */
  readonly url: string;
  readonly #pool: Pool;
  readonly #headersTimeoutMs: number;
  readonly #bodyTimeoutMs: number;
  readonly #exportBodyTimeoutMs: number;

  constructor(options: LitefsClientOptions) {
    const url = new URL(options.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`LiteFS URL must be http(s), got ${JSON.stringify(options.url)}`);
    }
    // LiteFS's own client also keeps only scheme and host (http/client.go).
    this.url = url.origin;
    this.#headersTimeoutMs = options.headersTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#bodyTimeoutMs = options.bodyTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#exportBodyTimeoutMs = options.exportBodyTimeoutMs ?? DEFAULT_EXPORT_BODY_TIMEOUT_MS;
    this.#pool = new Pool(this.url, {
      connections: options.connections ?? 4,
      headersTimeout: this.#headersTimeoutMs,
      bodyTimeout: this.#bodyTimeoutMs,
    });
  }

  /** GET /info, parsed strictly, with the node ID from the `Litefs-Id` header. */
  async info(): Promise<LitefsResult<LitefsInfo>> {
    const res = await this.#json({ method: 'GET', path: '/info' });
    if (!res.ok) return res;
    const parsed = parseInfo(res.value.body, {
      litefsId: header(res.value.headers, 'litefs-id'),
      clusterId: header(res.value.headers, 'litefs-cluster-id'),
    });
    return parsed.ok ? parsed : { ok: false, error: `GET ${this.url}/info: ${parsed.error}` };
  }

  /** GET /debug/vars, key `store` (per-db TXID and checksum). */
  async debugVars(): Promise<LitefsResult<StoreVars>> {
    const res = await this.#json({ method: 'GET', path: '/debug/vars' });
    if (!res.ok) return res;
    const parsed = parseDebugVars(res.value.body);
    return parsed.ok ? parsed : { ok: false, error: `GET ${this.url}/debug/vars: ${parsed.error}` };
  }

  /**
   * POST /promote. 200 means the handoff was requested (or the node already is primary), not
   * that the role changed: watch /events or /info for that (http/server.go handlePostPromote).
   * 409: not a candidate; 500: no primary connected or the handoff failed.
   */
  promote(): Promise<LitefsResult<undefined>> {
    return this.#empty({ method: 'POST', path: '/promote' });
  }

  /**
   * POST /handoff?nodeID=: on the primary, hand the lease to a connected replica. Like
   * /promote it returns before the role changes (http/server.go handlePostHandoff).
   */
  handoff(nodeId: string): Promise<LitefsResult<undefined>> {
    return this.#empty({
      method: 'POST',
      path: `/handoff?${new URLSearchParams({ nodeID: nodeId })}`,
    });
  }

  /**
   * POST /halt?name=&id=: takes the db's write lock on this node on behalf of lock `id` (the
   * HALT lock, db.go AcquireHaltLock): no transaction commits through this node's mount until
   * DELETE /halt with the same id, or LiteFS's 30 s expiry. LiteFS waits up to 10 s for the
   * lock; this request waits longer than that for the answer, so a lock granted is always
   * known (and can be released), never granted to a request that gave up. It carries no
   * `Litefs-Id` header: LiteFS refuses a halt only from its own node ID (http/server.go
   * handlePostHalt).
   */
  halt(name: string, id: bigint): Promise<LitefsResult<undefined>> {
    const query = new URLSearchParams({ name, id: String(id) });
    return this.#empty({
      method: 'POST',
      path: `/halt?${query}`,
      headersTimeoutMs: HALT_ANSWER_MS,
    });
  }

  /** DELETE /halt?name=&id=: releases lock `id`; a lock already released or expired is a no-op. */
  unhalt(name: string, id: bigint): Promise<LitefsResult<undefined>> {
    const query = new URLSearchParams({ name, id: String(id) });
    return this.#empty({ method: 'DELETE', path: `/halt?${query}` });
  }

  /**
   * POST /import?name=: on the primary, replaces the database with the SQLite file in the body,
   * as one LTX file (db.go Import: under the db's write lock; whole or not at all). LiteFS
   * answers once it is applied, so the answer may take as long as writing the copy.
   */
  importDb(
    name: string,
    body: () => Readable,
    timeoutMs: number,
  ): Promise<LitefsResult<undefined>> {
    return this.#empty({
      method: 'POST',
      path: `/import?${new URLSearchParams({ name })}`,
      body: body(),
      headersTimeoutMs: timeoutMs,
      bodyTimeoutMs: timeoutMs,
    });
  }

  /**
   * GET /export?name=: streams a consistent copy of the database into `destination`.
   * When LiteFS refuses (non-200, e.g. 404 for an unknown db) `destination` is left untouched;
   * once the body flows, `destination` is ended on success and destroyed on a failed copy.
   * `ok: false` also when the bytes are not a whole SQLite file (see checkSqliteCopy): the
   * caller must then discard what `destination` received.
   */
  async exportDb(
    name: string,
    destination: Writable,
    options: ExportOptions = {},
  ): Promise<LitefsResult<{ bytes: number }>> {
    const path = `/export?${new URLSearchParams({ name })}`;
    const bodyTimeoutMs = options.bodyTimeoutMs ?? this.#exportBodyTimeoutMs;
    const res = await this.#send({ method: 'GET', path, bodyTimeoutMs, signal: options.signal });
    if (!res.ok) return res;
    const { statusCode, body } = res.value;
    if (statusCode !== 200) return this.#statusError('GET', path, statusCode, body);
    let bytes = 0;
    let head = Buffer.alloc(0);
    try {
      await pipeline(
        body,
        async function* count(source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            if (head.length < SQLITE_HEADER_BYTES) {
              head = Buffer.concat([head, chunk]).subarray(0, SQLITE_HEADER_BYTES);
            }
            bytes += chunk.length;
            yield chunk;
          }
        },
        destination,
        options.signal ? { signal: options.signal } : {},
      );
    } catch (err) {
      return {
        ok: false,
        error: `GET ${this.url}${path}: copy failed after ${bytes} bytes: ${describeError(err, bodyTimeoutMs)}`,
      };
    }
    const invalid = checkSqliteCopy(head, bytes);
    if (invalid !== undefined) {
      return { ok: false, error: `GET ${this.url}${path}: not a usable copy: ${invalid}` };
    }
    return { ok: true, value: { bytes } };
  }

  /**
   * The header of a db as `GET /export?name=` streams it, without the rest: reads the first
   * 100 bytes (page size and count), and when the header's count is stale, up to one page and
   * one byte more to tell one page from several; then closes the connection. Bounded in bytes
   * (at most 65,537) and in time (the client's timeouts). `value` undefined: LiteFS has no such
   * db (404) or it is zero bytes (an empty body) — no copy, no data (docs/design.md section 3).
   */
  async exportHead(name: string): Promise<LitefsResult<SqliteHeader | undefined>> {
    const path = `/export?${new URLSearchParams({ name })}`;
    const abort = new AbortController();
    const res = await this.#send({ method: 'GET', path, signal: abort.signal });
    if (!res.ok) return res;
    const { statusCode, body } = res.value;
    if (statusCode === 404) {
      await body.dump().catch(() => {});
      return { ok: true, value: undefined };
    }
    if (statusCode !== 200) return this.#statusError('GET', path, statusCode, body);
    const where = `GET ${this.url}${path}`;
    const chunks: Buffer[] = [];
    let bytes = 0;
    let want = SQLITE_HEADER_BYTES;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        chunks.push(chunk);
        bytes += chunk.length;
        if (bytes >= SQLITE_HEADER_BYTES && want === SQLITE_HEADER_BYTES) {
          const head = parseSqliteHeader(
            Buffer.concat(chunks).subarray(0, SQLITE_HEADER_BYTES),
            undefined,
          );
          if (!head.ok || head.value.pageCount !== undefined) break;
          want = head.value.pageSize + 1; // the header's count is stale: is there a page 2?
        }
        if (bytes >= want) break;
      }
    } catch (err) {
      return {
        ok: false,
        error: `${where}: reading the header: ${describeError(err, this.#bodyTimeoutMs)}`,
      };
    } finally {
      abort.abort(); // only the head was wanted: drop the rest of the copy
      body.destroy();
    }
    if (bytes === 0) return { ok: true, value: undefined };
    const all = Buffer.concat(chunks);
    const head = parseSqliteHeader(all.subarray(0, SQLITE_HEADER_BYTES), undefined);
    if (!head.ok) return { ok: false, error: `${where}: ${head.error}` };
    if (head.value.pageCount !== undefined) return head;
    // Stale in-header count: more than one page's bytes means at least 2 pages (a lower bound).
    const pages = all.length > head.value.pageSize ? 2 : 1;
    return { ok: true, value: { ...head.value, pageCount: pages, pageCountFrom: 'file-size' } };
  }

  /**
   * `GET /status` of the supervisor at this URL (a peer's health API): the evidence fields of
   * docs/design.md section 7 (`evidence: 1`), parsed strictly.
   */
  async supervisorEvidence(): Promise<LitefsResult<SupervisorEvidence>> {
    const res = await this.#json({ method: 'GET', path: '/status' });
    if (!res.ok) return res;
    const parsed = parseEvidence(res.value.body);
    return parsed.ok ? parsed : { ok: false, error: `GET ${this.url}/status: ${parsed.error}` };
  }

  /** Closes every socket; requests still in flight end as `{ ok: false }`. */
  async close(): Promise<void> {
    if (!this.#pool.destroyed) await this.#pool.destroy();
  }

  async #send(call: Call): Promise<LitefsResult<Awaited<ReturnType<Pool['request']>>>> {
    const request = () =>
      this.#pool.request({
        method: call.method,
        path: call.path,
        headersTimeout: call.headersTimeoutMs ?? this.#headersTimeoutMs,
        bodyTimeout: call.bodyTimeoutMs ?? this.#bodyTimeoutMs,
        signal: call.signal,
        ...(call.body ? { body: call.body } : {}),
      });
    try {
      try {
        return { ok: true, value: await request() };
      } catch (err) {
        // A kept-alive socket can be closed by LiteFS (restart) just as we reuse it. A GET is
        // safe to send again once, on a fresh socket, as is a DELETE /halt (a release by lock
        // ID); a POST (/promote, /handoff, /halt) is not.
        if (call.method === 'POST' || !isStaleSocket(err) || call.signal?.aborted) throw err;
        return { ok: true, value: await request() };
      }
    } catch (err) {
      return {
        ok: false,
        error: `${call.method} ${this.url}${call.path}: ${describeError(err, this.#headersTimeoutMs)}`,
      };
    }
  }

  async #json(
    call: Call,
  ): Promise<
    LitefsResult<{ body: unknown; headers: Record<string, string | string[] | undefined> }>
  > {
    const res = await this.#send(call);
    if (!res.ok) return res;
    const { statusCode, headers, body } = res.value;
    const where = `${call.method} ${this.url}${call.path}`;
    if (statusCode !== 200) return this.#statusError(call.method, call.path, statusCode, body);
    let text: string;
    try {
      text = await body.text();
    } catch (err) {
      return {
        ok: false,
        error: `${where}: reading body: ${describeError(err, this.#bodyTimeoutMs)}`,
      };
    }
    try {
      return { ok: true, value: { body: JSON.parse(text), headers } };
    } catch (err) {
      return {
        ok: false,
        error: `${where}: expected JSON, got ${excerpt(text)} (${(err as Error).message})`,
      };
    }
  }

  async #empty(call: Call): Promise<LitefsResult<undefined>> {
    const res = await this.#send(call);
    if (!res.ok) return res;
    const { statusCode, body } = res.value;
    if (statusCode !== 200) return this.#statusError(call.method, call.path, statusCode, body);
    await body.dump().catch(() => {});
    return { ok: true, value: undefined };
  }

  async #statusError(
    method: string,
    path: string,
    status: number,
    body: { text(): Promise<string> },
  ): Promise<{ ok: false; error: string; status: number }> {
    const text = await body.text().catch(() => '');
    const detail = text.trim() === '' ? '' : `: ${excerpt(text.trim())}`;
    return { ok: false, status, error: `${method} ${this.url}${path}: HTTP ${status}${detail}` };
  }
}

/**
 * LiteFS has sent 200 before it copies the database (db.go Export writes straight into the
 * response), so a copy that fails midway still ends as a 200 whose body is the partial file
 * followed by the error text (http/server.go handleGetExport, Error). The status cannot reveal
 * that; the SQLite header and a whole number of pages catch it.
 */
function checkSqliteCopy(head: Buffer, bytes: number): string | undefined {
  if (bytes === 0) return 'empty body';
  const parsed = parseSqliteHeader(head, bytes);
  if (!parsed.ok) return parsed.error;
  const { pageSize } = parsed.value;
  if (bytes % pageSize !== 0)
    return `${bytes} bytes is not a whole number of ${pageSize}-byte pages`;
  return undefined;
}

function isStaleSocket(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET';
}

function header(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function excerpt(text: string): string {
  const cut =
    text.length > MAX_ERROR_BODY_CHARS ? `${text.slice(0, MAX_ERROR_BODY_CHARS)}...` : text;
  return JSON.stringify(cut);
}
