// Consul's KV HTTP API as the cluster record (record.ts) and `before-mount` (lease.ts) use it:
// one kept connection to the endpoint's origin, every request bounded, the token sent as
// X-Consul-Token and cut out of any text that could reach a log. Nothing here throws: a failure
// is a value. Messages name the key and the origin, never the URL.

import { Client } from 'undici';
import { isRecord } from '../core/values.js';
import { describeError } from '../system/http-error.js';
import type { ConsulEndpoint } from './endpoint.js';

/** Bound on each request to Consul, headers and body together. */
export const REQUEST_TIMEOUT_MS = 2000;
const MAX_ERROR_BODY_CHARS = 200;

/** Counts every request made (for the request-rate figures and their test). */
export interface RequestCounter {
  count: number;
}

export type KvAnswer = { ok: true; status: number; body: string } | { ok: false; error: string };

export interface KvClient {
  request(
    method: 'GET' | 'PUT' | 'DELETE',
    key: string,
    query?: string,
    body?: string,
  ): Promise<KvAnswer>;
  /** The error text of an answer that was not a success, the token cut out. */
  failure(method: string, key: string, answer: Extract<KvAnswer, { ok: true }>): string;
  /** `Consul at ORIGIN`, for messages. */
  readonly where: string;
  close(): Promise<void>;
}

export function kvClient(
  endpoint: ConsulEndpoint,
  opts: { timeoutMs?: number; counter?: RequestCounter } = {},
): KvClient {
  const timeoutMs = opts.timeoutMs ?? REQUEST_TIMEOUT_MS;
  const where = `Consul at ${endpoint.origin}`;
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

  const request: KvClient['request'] = async (method, k, query = '', body) => {
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

  const failure: KvClient['failure'] = (method, k, r) => {
    const text = redact(r.body.trim()).slice(0, MAX_ERROR_BODY_CHARS);
    const hint = r.status === 403 ? ' (the token may lack an ACL for this key)' : '';
    return `${method} ${k} on ${where}: HTTP ${r.status}${hint}${text === '' ? '' : `: ${text}`}`;
  };

  const close = async () => {
    await client.destroy().catch(() => {});
  };

  return { request, failure, where, close };
}

/** The first entry of a KV GET answer: its decoded value, ModifyIndex and lock session. */
export function firstEntry(
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

/** The hostname in LiteFS's lease value (litefs.PrimaryInfo JSON); '' when it names none. */
export function primaryHostname(value: string): { ok: true; hostname: string } | { ok: false } {
  try {
    const v: unknown = JSON.parse(value);
    return { ok: true, hostname: isRecord(v) && typeof v.hostname === 'string' ? v.hostname : '' };
  } catch {
    return { ok: false };
  }
}
