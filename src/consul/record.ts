// The cluster record in Consul (docs/design.md section 3, "cluster record"): read with the peers
// at decision points, written by a cleared primary when it gains a db, reset by a person with
// `litefs-supervisor record reset --yes`. Consul's KV HTTP API: GET /v1/kv/KEY (404: absent),
// PUT /v1/kv/KEY?cas=INDEX (answers true or false; cas=0 creates only if absent), DELETE with
// ?cas= likewise. Every request is bounded (REQUEST_TIMEOUT_MS); nothing here throws: a failure
// is a value (`unreadable`, `failed`), because "the record could not be read" is itself an input
// to S3. No message carries the token: the endpoint's origin is all that is ever shown.

import { Client } from 'undici';
import {
  type ClusterRecord,
  gainRecord,
  parseClusterRecord,
  RECORD_VERSION,
  type RecordRead,
  serializeClusterRecord,
} from '../core/cluster-record.js';
import type { RecordWriteResult } from '../core/state.js';
import { isRecord } from '../core/values.js';
import { describeError } from '../system/http-error.js';
import { type ConsulEndpoint, keyUnder } from './endpoint.js';

/** Bound on each request to Consul, headers and body together. */
export const REQUEST_TIMEOUT_MS = 2000;
/** Check-and-set races (two writers at once) tried again before giving up for now. */
const CAS_TRIES = 3;
const MAX_ERROR_BODY_CHARS = 200;

/** Counts every request made (for the request-rate figures and their test). */
export interface RequestCounter {
  count: number;
}

export interface RecordStore {
  /** The key under Consul's prefix, as shown in logs and /status (never the URL). */
  readonly key: string;
  read(): Promise<RecordRead>;
  write(
    req: { dbs: string[]; clusterId: string; node: string },
    now: number,
  ): Promise<RecordWriteResult>;
  /** Deletes the record if it is still at `index` (a person's reset). */
  reset(index: number): Promise<{ ok: true; deleted: boolean } | { ok: false; error: string }>;
  /** Closes the one connection kept to Consul. */
  close(): Promise<void>;
}

type Kv = { ok: true; status: number; body: string } | { ok: false; error: string };

export function recordStore(
  endpoint: ConsulEndpoint,
  recordKey: string,
  opts: { timeoutMs?: number; counter?: RequestCounter } = {},
): RecordStore {
  const timeoutMs = opts.timeoutMs ?? REQUEST_TIMEOUT_MS;
  const key = keyUnder(endpoint, recordKey);
  const where = `Consul at ${endpoint.origin}`;
  // One connection, kept: the record is asked for at decision points only (a few per hour).
  // A Client, not undici's top-level `request`: the CLI bundle carries undici's Pool and Client
  // only (scripts/bundle-options.mjs; test/ship/bundle-undici.test.ts checks it).
  const client = new Client(endpoint.origin, {
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });

  // An error body is quoted, and a proxy or server may echo the request's headers in it: the
  // token is cut out of the text before it can reach a log, /status or a refusal.
  const secret = endpoint.token?.reveal();
  const redact = (text: string): string =>
    secret === undefined || secret === '' ? text : text.split(secret).join('[redacted]');

  const kv = async (
    method: 'GET' | 'PUT' | 'DELETE',
    k: string,
    query = '',
    body?: string,
  ): Promise<Kv> => {
    if (opts.counter) opts.counter.count += 1;
    const path = `/v1/kv/${k.split('/').map(encodeURIComponent).join('/')}${query}`;
    const headers: Record<string, string> = {};
    if (secret !== undefined) headers['x-consul-token'] = secret;
    try {
      const res = await client.request({
        path,
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.body.text();
      return { ok: true, status: res.statusCode, body: text };
    } catch (err) {
      const e = err as Error;
      const reason =
        e.name === 'TimeoutError' || e.name === 'AbortError'
          ? `no answer within ${timeoutMs} ms`
          : describeError(err, timeoutMs);
      return { ok: false, error: `${method} ${k} on ${where}: ${redact(reason)}` };
    }
  };

  const failure = (method: string, k: string, r: Extract<Kv, { ok: true }>): string => {
    const text = redact(r.body.trim()).slice(0, MAX_ERROR_BODY_CHARS);
    const hint = r.status === 403 ? ' (the token may lack an ACL for this key)' : '';
    return `${method} ${k} on ${where}: HTTP ${r.status}${hint}${text === '' ? '' : `: ${text}`}`;
  };

  const read = async (): Promise<RecordRead> => {
    const r = await kv('GET', key);
    if (!r.ok) return { kind: 'unreadable', error: r.error };
    if (r.status === 404) return { kind: 'absent' };
    if (r.status !== 200) return { kind: 'unreadable', error: failure('GET', key, r) };
    const entry = firstEntry(r.body);
    if (!entry.ok) return { kind: 'unreadable', error: `GET ${key} on ${where}: ${entry.error}` };
    const parsed = parseClusterRecord(entry.value);
    if (!parsed.ok)
      return { kind: 'unreadable', error: `${key} holds no cluster record: ${parsed.error}` };
    return { kind: 'present', record: parsed.record, index: entry.index };
  };

  const leaseHolder = async (): Promise<
    { ok: true; holder: string } | { ok: false; error: string }
  > => {
    const leaseKey = keyUnder(endpoint, endpoint.leaseKey);
    const r = await kv('GET', leaseKey);
    if (!r.ok) return r;
    if (r.status === 404) return { ok: true, holder: '' };
    if (r.status !== 200) return { ok: false, error: failure('GET', leaseKey, r) };
    const entry = firstEntry(r.body);
    if (!entry.ok) return { ok: false, error: `GET ${leaseKey}: ${entry.error}` };
    if (!entry.session) return { ok: true, holder: '' }; // no session holds it: nobody's lease
    try {
      const v: unknown = JSON.parse(entry.value);
      return { ok: true, holder: isRecord(v) && typeof v.hostname === 'string' ? v.hostname : '' };
    } catch {
      return { ok: false, error: `the lease value at ${leaseKey} is not JSON` };
    }
  };

  const write: RecordStore['write'] = async (req, now) => {
    for (let attempt = 1; attempt <= CAS_TRIES; attempt++) {
      // Consul's lease value names the primary (LiteFS's PrimaryInfo): record only while it
      // names this node, so a node whose role is stale never writes.
      const lease = await leaseHolder();
      if (!lease.ok) return { kind: 'failed', error: lease.error };
      if (lease.holder !== req.node) return { kind: 'not-holder', holder: lease.holder };
      const current = await read();
      if (current.kind === 'unreadable') return { kind: 'failed', error: current.error };
      const base: ClusterRecord | undefined =
        current.kind === 'present' ? current.record : undefined;
      if (base !== undefined && base.version > RECORD_VERSION) {
        return {
          kind: 'failed',
          error: `${key} was written by a newer supervisor (record version ${base.version}); not writing over it`,
        };
      }
      const next = gainRecord(base, req.dbs, { clusterId: req.clusterId, node: req.node, now });
      if (next === undefined && current.kind === 'present')
        return { kind: 'unchanged', read: current };
      if (next === undefined) return { kind: 'failed', error: 'nothing to record' };
      const index = current.kind === 'present' ? current.index : 0;
      const put = await kv('PUT', key, `?cas=${index}`, serializeClusterRecord(next));
      if (!put.ok) return { kind: 'failed', error: put.error };
      if (put.status !== 200) return { kind: 'failed', error: failure('PUT', key, put) };
      if (put.body.trim() === 'true') {
        const after = await read();
        if (after.kind === 'present') {
          const gained = req.dbs.filter((db) => base?.dbs[db] === undefined);
          return { kind: 'written', read: after, gained };
        }
        return {
          kind: 'failed',
          error: `wrote ${key} but could not read it back (${after.kind === 'unreadable' ? after.error : 'absent'})`,
        };
      }
      // Another writer came first (cas failed): read again and merge.
    }
    return {
      kind: 'failed',
      error: `${key} kept changing under ${CAS_TRIES} check-and-set writes`,
    };
  };

  const reset: RecordStore['reset'] = async (index) => {
    const r = await kv('DELETE', key, `?cas=${index}`);
    if (!r.ok) return { ok: false, error: r.error };
    if (r.status !== 200) return { ok: false, error: failure('DELETE', key, r) };
    return { ok: true, deleted: r.body.trim() === 'true' };
  };

  const close = async () => {
    await client.destroy().catch(() => {});
  };

  return { key, read, write, reset, close };
}

/** The first entry of a KV GET answer: its decoded value, ModifyIndex and lock session. */
function firstEntry(
  body: string,
):
  | { ok: true; value: string; index: number; session: string | undefined }
  | { ok: false; error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return { ok: false, error: 'the answer is not JSON' };
  }
  const entry = Array.isArray(raw) ? raw[0] : undefined;
  if (!isRecord(entry)) return { ok: false, error: 'the answer holds no KV entry' };
  const { Value, ModifyIndex, Session } = entry;
  if (typeof ModifyIndex !== 'number')
    return { ok: false, error: 'the KV entry has no ModifyIndex' };
  const value = typeof Value === 'string' ? Buffer.from(Value, 'base64').toString('utf8') : '';
  return {
    ok: true,
    value,
    index: ModifyIndex,
    session: typeof Session === 'string' && Session !== '' ? Session : undefined,
  };
}
