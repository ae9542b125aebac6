// The cluster record in Consul (docs/design.md section 3, "cluster record"): read with the peers
// at decision points, written by a cleared primary when it gains a db, reset by a person with
// `litefs-supervisor record reset --yes`. Consul's KV HTTP API: GET /v1/kv/KEY (404: absent),
// PUT /v1/kv/KEY?cas=INDEX (answers true or false; cas=0 creates only if absent), DELETE with
// ?cas= likewise. Every request is bounded (REQUEST_TIMEOUT_MS); nothing here throws: a failure
// is a value (`unreadable`, `failed`), because "the record could not be read" is itself an input
// to S3. No message carries the token: the endpoint's origin is all that is ever shown.

import {
  type ClusterRecord,
  gainRecord,
  parseClusterRecord,
  RECORD_VERSION,
  type RecordRead,
  serializeClusterRecord,
} from '../core/cluster-record.js';
import type { RecordWriteResult } from '../core/state.js';
import { type ConsulEndpoint, keyUnder } from './endpoint.js';
import { firstEntry, kvClient, primaryHostname, type RequestCounter } from './kv.js';

export { REQUEST_TIMEOUT_MS, type RequestCounter } from './kv.js';

/** Check-and-set races (two writers at once) tried again before giving up for now. */
const CAS_TRIES = 3;

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

export function recordStore(
  endpoint: ConsulEndpoint,
  recordKey: string,
  opts: { timeoutMs?: number; counter?: RequestCounter } = {},
): RecordStore {
  const key = keyUnder(endpoint, recordKey);
  // One connection, kept: the record is asked for at decision points only (a few per hour).
  const consul = kvClient(endpoint, opts);
  const { where, failure } = consul;
  const kv = consul.request;

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
    const info = primaryHostname(entry.value);
    if (!info.ok) return { ok: false, error: `the lease value at ${leaseKey} is not JSON` };
    return { ok: true, holder: info.hostname };
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

  return { key, read, write, reset, close: consul.close };
}
