// S8 backups: before migrating a non-empty database, save LiteFS's consistent copy
// (`GET /export?name=<db>`) as `<db>.<txid>.<utc-timestamp>.sqlite` in `--backup-dir`, keep the
// newest `--backup-keep`, and skip rather than fill the volume (`--min-free-disk`). Also used
// by the S11 rewind alarm. A backup is a safety net, never a gate: every outcome is a value,
// nothing here throws. Only the backup dir is written, never LiteFS's mount or data dir (S12).

import type { Dirent } from 'node:fs';
import { type FileHandle, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { DiskSpace } from '../core/observation.js';
import { formatTxid } from '../core/parse.js';
import { s8BackupRoom } from '../core/rules.js';
import type { BackupResult } from '../core/state.js';
import { describeFsError, diskSpace, errorCode, type Filled, replaceFile } from '../system/disk.js';
import type { ExportOptions, LitefsResult } from './client.js';

/** The part of LitefsClient a backup needs. */
export interface BackupClient {
  exportDb(
    name: string,
    destination: Writable,
    options?: ExportOptions,
  ): Promise<LitefsResult<{ bytes: number }>>;
}

export interface BackupOptions {
  client: BackupClient;
  /** Database name as LiteFS knows it (`--db`). */
  db: string;
  /** Its TXID when the backup was decided; goes into the file name. */
  txid: bigint;
  /** `--backup-dir`; created (0700: the copies hold the app's data) if missing. */
  dir: string;
  /** `--backup-keep`: backups of this db kept, the new one included (at least 1). */
  keep: number;
  /** `--min-free-disk`, percent of the backup dir's filesystem that must stay free. */
  minFreeDiskPct: number;
  /** Expected size of the copy (the db's size in the mount). */
  expectedBytes: number;
  /** Clock (ms since epoch) for the file name's timestamp. */
  now: () => number;
  /** Free-space probe; defaults to statfs (src/system/disk.ts). */
  disk?: (path: string) => Promise<DiskSpace>;
  /** Aborts the export (e.g. on shutdown). */
  signal?: AbortSignal;
}

/** The core's type (src/core/state.ts): one definition, so no field is dropped on the way. */
export type { BackupResult };

const BACKUP_SUFFIX = /^([0-9a-f]{16})\.(\d{8}T\d{6}Z)\.sqlite$/;

/** `<db>.<16-hex txid>.<YYYYMMDDTHHMMSSZ>.sqlite`: sorts by time, readable, one per second. */
export function backupFileName(db: string, txid: bigint, atMs: number): string {
  return `${db}.${formatTxid(txid)}.${utcStamp(atMs)}.sqlite`;
}

/** `20260107T133946Z` (ISO 8601 basic format, UTC, whole seconds). */
export function utcStamp(atMs: number): string {
  // toISOString throws a RangeError for an invalid time; backupDb turns that into `failed`.
  return new Date(atMs)
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** Parses a file name as a backup of `db`; undefined for anything else (other dbs included). */
export function parseBackupName(
  db: string,
  fileName: string,
): { txid: string; stamp: string } | undefined {
  if (!fileName.startsWith(`${db}.`)) return undefined;
  // Anchored on the whole rest, so `sqlite.db.<txid>...` is never taken for a backup of `sqlite`.
  const m = BACKUP_SUFFIX.exec(fileName.slice(db.length + 1));
  if (m === null) return undefined;
  return { txid: m[1] as string, stamp: m[2] as string };
}

/** Saves one backup (S8). Never throws. */
export async function backupDb(options: BackupOptions): Promise<BackupResult> {
  try {
    return await backup(options);
  } catch (err) {
    return { kind: 'failed', error: `backup of ${options.db}: ${(err as Error).message}` };
  }
}

async function backup(o: BackupOptions): Promise<BackupResult> {
  const { db, dir } = o;
  if (db === '' || db === '.' || db === '..' || db.includes('/') || db.includes('\0')) {
    return { kind: 'failed', error: `backup of ${JSON.stringify(db)}: not a plain file name` };
  }
  const name = backupFileName(db, o.txid, o.now());
  const target = join(dir, name);
  const tmp = `${target}.tmp`;

  const space = await (o.disk ?? diskSpace)(dir);
  const room = s8BackupRoom(space, dir, o.expectedBytes, o.minFreeDiskPct);
  if (room.kind === 'skipped')
    return { kind: 'skipped', why: `backup of ${db} skipped: ${room.why}` };

  try {
    const written = await replaceFile(
      target,
      { tmp, dirMode: 0o700, fileMode: 0o600 },
      async (fh, step): Promise<Filled<number>> => {
        const sink = fileSink(fh, room.budgetBytes, o.minFreeDiskPct);
        step(`exporting ${db} to ${tmp}`);
        const exported = await o.client.exportDb(
          db,
          sink.stream,
          o.signal ? { signal: o.signal } : {},
        );
        // A write can still be in flight when the copy is abandoned; let it land before closing.
        await sink.idle();
        return exported.ok ? { ok: true, value: exported.value.bytes } : exported;
      },
    );
    if (!written.ok) return { kind: 'failed', error: `backup of ${db}: ${written.error}` };
    const pruned = await prune(dir, db, o.keep, name);
    return {
      kind: 'written',
      path: target,
      bytes: written.value,
      removed: pruned.removed,
      ...(pruned.errors.length > 0 ? { retentionError: pruned.errors.join('; ') } : {}),
    };
  } catch (err) {
    return { kind: 'failed', error: `backup of ${db}: ${(err as Error).message}` };
  }
}

/**
 * A Writable into `fh` that refuses to grow past `budgetBytes` (S8). The refusal fails the
 * export pipeline, so the client reports it and the temp file is removed.
 */
function fileSink(
  fh: FileHandle,
  budgetBytes: number,
  minFreeDiskPct: number,
): { stream: Writable; idle: () => Promise<void> } {
  let written = 0;
  let inflight: Promise<void> = Promise.resolve();
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (written + chunk.length > budgetBytes) {
        callback(
          new Error(
            `the copy grew past ${budgetBytes} bytes, the most that keeps --min-free-disk ${minFreeDiskPct}% free`,
          ),
        );
        return;
      }
      written += chunk.length;
      inflight = writeAll(fh, chunk).then(() => callback(), callback);
    },
  });
  return { stream, idle: () => inflight };
}

/** FileHandle.write may write less than asked (a filling disk): loop until all is out. */
async function writeAll(fh: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await fh.write(chunk, offset, chunk.length - offset);
    if (bytesWritten <= 0) throw new Error(`short write: 0 of ${chunk.length - offset} bytes`);
    offset += bytesWritten;
  }
}

/**
 * Keeps the newest `keep` backups of `db` (by the timestamp in the name, then the TXID) and
 * deletes the rest. Only regular files whose whole name parses as a backup of this db are
 * candidates: other dbs' backups, temp files and anything else in the dir are never touched.
 * The copy just written always stays, even if the clock went back and it sorts older.
 */
async function prune(
  dir: string,
  db: string,
  keep: number,
  justWritten: string,
): Promise<{ removed: string[]; errors: string[] }> {
  const removed: string[] = [];
  const errors: string[] = [];
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    return { removed, errors: [`listing ${dir}: ${describeFsError(err)}`] };
  }
  const others = entries
    .filter((e) => e.isFile() && e.name !== justWritten)
    .flatMap((e) => {
      const parsed = parseBackupName(db, e.name);
      return parsed ? [{ name: e.name, ...parsed }] : [];
    })
    .sort((a, b) => compareDesc(a.stamp, b.stamp) || compareDesc(a.txid, b.txid));
  // The new copy is one of the `keep`; a keep below 1 would delete it, which makes no sense.
  const keepOthers = Math.max(1, Math.floor(keep)) - 1;
  for (const old of others.slice(keepOthers)) {
    const path = join(dir, old.name);
    try {
      await rm(path);
      removed.push(path);
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') errors.push(`removing ${path}: ${describeFsError(err)}`);
    }
  }
  return { removed, errors };
}

function compareDesc(a: string, b: string): number {
  // Fixed-width fields (16 hex digits, YYYYMMDDTHHMMSSZ): text order is numeric order.
  return a < b ? 1 : a > b ? -1 : 0;
}
