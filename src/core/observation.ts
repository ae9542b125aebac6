// One immutable snapshot of what the supervisor can see (docs/design.md section 3).
// Built by the observe shell (src/litefs/observe.ts); read by decide.

import type { Lag, LitefsInfo, Position } from './litefs-types.js';

/** A file read: present with a parsed value, absent (ENOENT), or unreadable/unparsable. */
export type FileRead<T> =
  | { kind: 'present'; value: T }
  | { kind: 'absent' }
  | { kind: 'error'; error: string };

export interface DbObservation {
  name: string;
  exists: boolean;
  sizeBytes: number;
  /** First 16 bytes are `SQLite format 3\0`. */
  validHeader: boolean;
  /** Page size and page count from the SQLite header (parseSqliteHeader); undefined without one. */
  pageSize?: number | undefined;
  pageCount?: number | undefined;
  /** `<db>-pos`; absent on older LiteFS or in standalone mode. */
  pos: FileRead<Position>;
  /** When `pos` came from an /events `tx` message (ms); undefined when a poll read it. */
  posAt?: number | undefined;
  /**
   * Set when the db file could not be opened, stat'ed or read for a reason other than ENOENT
   * (EIO, EACCES, ...). Then exists/sizeBytes/validHeader say nothing: such a db is unknown,
   * never "empty".
   */
  error?: string;
}

export interface Observation {
  /** When it was taken (ms since epoch, from the injected clock). */
  at: number;
  /** GET /info: the answer, or why there was none (unreachable, 500, bad JSON). */
  info: { ok: true; value: LitefsInfo } | { ok: false; error: string };
  /** When the role (/info isPrimary, primary hostname, `.primary`) came from /events (ms). */
  roleAt?: number | undefined;
  /** `.primary`: the primary's hostname. */
  primaryFile: FileRead<string>;
  lag: FileRead<Lag>;
  dbs: DbObservation[];
  /**
   * Free space of the filesystem that holds the LiteFS data dir (S8, S9; the FUSE mount does
   * not report real free space). Undefined when not measured.
   */
  disk?: DiskSpace | undefined;
}

export type DiskSpace =
  | { ok: true; path: string; freeBytes: number; totalBytes: number }
  | { ok: false; path: string; error: string };

/**
 * The one reading of a DiskSpace (S8, S9, doctor): the free share in percent (0..100), or why it
 * cannot be told. A volume that reports a total of 0 bytes (/proc, some FUSE filesystems) is
 * unmeasurable like one whose statfs failed, never "100% free".
 */
export function freePercent(
  d: DiskSpace,
): { ok: true; pct: number; freeBytes: number; totalBytes: number } | { ok: false; why: string } {
  if (!d.ok) return { ok: false, why: d.error };
  if (!(d.totalBytes > 0)) {
    return { ok: false, why: `${d.path} reports a filesystem size of 0 bytes` };
  }
  return {
    ok: true,
    pct: (d.freeBytes / d.totalBytes) * 100,
    freeBytes: d.freeBytes,
    totalBytes: d.totalBytes,
  };
}
