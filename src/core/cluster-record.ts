// The cluster's record in Consul (docs/design.md section 3, "cluster record"): a memory of
// "this cluster has data" that does not sleep when the machines holding the data do. Patroni
// keeps its `/initialize` key in its DCS for the same reason: no node initialises a cluster
// the DCS says exists. The record only ever gains a db (check-and-set): it is not a TXID
// ordering, so an asynchronous failover or a repair by `litefs import` (TXID 1 again) never
// leaves a cluster fenced for ever. Pure: src/consul/record.ts reads and writes it.

import { isRecord } from './values.js';

/** The version this supervisor writes; a newer one is read for its v1 fields, never written. */
export const RECORD_VERSION = 1;

/** One db the cluster has held data in: since when, first recorded by which node. */
export interface RecordedDb {
  /** ISO time of the first write that recorded it. */
  since: string;
  /** The lease hostname of the primary that recorded it (node IDs change at every start). */
  node: string;
}

export interface ClusterRecord {
  version: number;
  /** LiteFS's cluster ID when the record was created ('' when it had none). */
  clusterId: string;
  dbs: Record<string, RecordedDb>;
}

/**
 * What reading the record came to. `absent`: the key does not exist, so no primary ever
 * recorded data (a new cluster, or one that never ran a supervisor that records). `unreadable`:
 * Consul failed, timed out, refused (403) or held something that is not a record: it may say
 * data exists, so it counts as a peer that did not answer (S3), never as `absent`.
 */
export type RecordRead =
  | { kind: 'absent' }
  | { kind: 'present'; record: ClusterRecord; index: number }
  | { kind: 'unreadable'; error: string };

export type ParsedRecord = { ok: true; record: ClusterRecord } | { ok: false; error: string };

/** Parses the record's JSON value strictly for the fields this version reads. */
export function parseClusterRecord(text: string): ParsedRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: 'the value is not JSON' };
  }
  if (!isRecord(raw)) return { ok: false, error: 'the value is not a JSON object' };
  const { version, clusterId, dbs } = raw;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    return { ok: false, error: 'version is not a whole number of at least 1' };
  }
  if (typeof clusterId !== 'string') return { ok: false, error: 'clusterId is not text' };
  if (!isRecord(dbs)) return { ok: false, error: 'dbs is not an object' };
  const out: Record<string, RecordedDb> = {};
  for (const [name, entry] of Object.entries(dbs)) {
    if (!isRecord(entry) || typeof entry.since !== 'string' || typeof entry.node !== 'string') {
      return { ok: false, error: `dbs.${name} is not {since, node}` };
    }
    out[name] = { since: entry.since, node: entry.node };
  }
  return { ok: true, record: { version, clusterId, dbs: out } };
}

/** The record's JSON value as written (one line). */
export function serializeClusterRecord(record: ClusterRecord): string {
  return JSON.stringify({ version: record.version, clusterId: record.clusterId, dbs: record.dbs });
}

/**
 * The record after this primary's gains: `current` (absent: a new record) plus every db in
 * `dbsWithData` it does not list yet. Undefined when nothing would be gained, so nothing is
 * written. Never removes or changes an entry.
 */
export function gainRecord(
  current: ClusterRecord | undefined,
  dbsWithData: readonly string[],
  at: { clusterId: string; node: string; now: number },
): ClusterRecord | undefined {
  const base: ClusterRecord = current ?? {
    version: RECORD_VERSION,
    clusterId: at.clusterId,
    dbs: {},
  };
  const gained = dbsWithData.filter((db) => base.dbs[db] === undefined);
  if (gained.length === 0) return undefined;
  const dbs = { ...base.dbs };
  for (const db of gained) dbs[db] = { since: new Date(at.now).toISOString(), node: at.node };
  return { ...base, dbs };
}

/** The record's entry for `db` when a read says the cluster has held data in it. */
export function recordedData(read: RecordRead | undefined, db: string): RecordedDb | undefined {
  return read?.kind === 'present' ? read.record.dbs[db] : undefined;
}

/** The dbs with data here that the last read does not list (what a write would gain). */
export function unrecorded(read: RecordRead | undefined, dbsWithData: readonly string[]): string[] {
  return dbsWithData.filter((db) => recordedData(read, db) === undefined);
}

/** "present: app.db since T (node-a)", "absent", "unreadable: ..." for logs and refusals. */
export function describeRecord(read: RecordRead | undefined): string {
  if (read === undefined) return 'not read';
  if (read.kind === 'absent') return 'absent';
  if (read.kind === 'unreadable') return `unreadable: ${read.error}`;
  const dbs = Object.entries(read.record.dbs);
  if (dbs.length === 0) return 'present, no db with data';
  return `present: ${dbs.map(([name, e]) => `${name} has data since ${e.since} (recorded by ${e.node})`).join(', ')}`;
}

/** How a person resets the record on purpose (docs/deploying.md, "The cluster record"). */
export const RECORD_RESET =
  '`litefs-supervisor record reset --yes` on any machine of the app (it deletes the record: only when the data is gone for good and this is meant to be a new cluster)';
