// Builds one Observation (docs/design.md section 3) from the LiteFS API and the FUSE mount. Reads
// only: the supervisor never writes to the mount or the data dir (S12). Every read runs
// concurrently and every failure becomes a value (FileRead / info error), never a throw.

import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { LitefsInfo, ParseResult } from '../core/litefs-types.js';
import type { DbObservation, FileRead, Observation } from '../core/observation.js';
import {
  isSqliteHeader,
  parseLag,
  parsePos,
  parsePrimaryFile,
  parseSqliteHeader,
  SQLITE_HEADER_BYTES,
} from '../core/parse.js';
import type { LitefsResult } from './client.js';

export interface ObserveOptions {
  client: { info(): Promise<LitefsResult<LitefsInfo>> };
  mountDir: string;
  dbs: readonly string[];
  /** Injected clock, ms since epoch. */
  now: () => number;
}

export interface ObserveStandaloneOptions {
  mountDir: string;
  dbs: readonly string[];
  now: () => number;
}

export async function observe(options: ObserveOptions): Promise<Observation> {
  const { client, mountDir, dbs, now } = options;
  const at = now();
  const [mountError, info, primaryFile, lag, dbObservations] = await Promise.all([
    checkMountDir(mountDir),
    client.info().then(
      (res) => (res.ok ? res : { ok: false as const, error: res.error }),
      // The client maps its failures to values; this guards an unexpected throw anyway.
      (err: unknown) => ({ ok: false as const, error: `GET /info: ${errorMessage(err)}` }),
    ),
    // `.primary` is ENOENT on the primary and while no primary is known (docs/litefs-facts.md): absent
    // is a normal answer, and it never means "primary" by itself (docs/design.md section 3).
    readParsed(join(mountDir, '.primary'), parsePrimaryFile),
    // `.lag` does not exist on LiteFS versions older than the file (docs/design.md section 3).
    readParsed(join(mountDir, '.lag'), parseLag),
    Promise.all(dbs.map((name) => observeDb(mountDir, name, true))),
  ]);
  if (mountError !== undefined) {
    // Without the mount every file reads as ENOENT, which would look like "no primary known,
    // old LiteFS, databases missing": report unknown instead of absent.
    const error = `mount dir ${mountDir}: ${mountError}`;
    return {
      at,
      info,
      primaryFile: { kind: 'error', error },
      lag: { kind: 'error', error },
      dbs: dbObservations.map((db) => ({ ...db, pos: { kind: 'error', error }, error })),
    };
  }
  return { at, info, primaryFile, lag, dbs: dbObservations };
}

/** undefined when `dir` is a readable directory, else why not. */
async function checkMountDir(dir: string): Promise<string | undefined> {
  try {
    const info = await stat(dir);
    return info.isDirectory() ? undefined : 'not a directory';
  } catch (err) {
    return errorMessage(err);
  }
}

/** `--standalone` (docs/design.md section 10): no LiteFS, always primary, dbs are plain files. */
export async function observeStandalone(options: ObserveStandaloneOptions): Promise<Observation> {
  const { mountDir, dbs, now } = options;
  const at = now();
  const dbObservations = await Promise.all(dbs.map((name) => observeDb(mountDir, name, false)));
  return {
    at,
    info: {
      ok: true,
      value: {
        isPrimary: true,
        candidate: true,
        clusterId: '',
        path: mountDir,
        primaryHostname: '',
        nodeId: undefined,
        clusterIdHeader: undefined,
      },
    },
    primaryFile: { kind: 'absent' },
    lag: { kind: 'absent' },
    dbs: dbObservations,
  };
}

async function readParsed<T>(
  path: string,
  parse: (text: string) => ParseResult<T>,
): Promise<FileRead<T>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (isEnoent(err)) return { kind: 'absent' };
    return { kind: 'error', error: `read ${path}: ${errorMessage(err)}` };
  }
  const parsed = parse(text);
  return parsed.ok
    ? { kind: 'present', value: parsed.value }
    : { kind: 'error', error: parsed.error };
}

async function observeDb(mountDir: string, name: string, withPos: boolean): Promise<DbObservation> {
  const path = join(mountDir, name);
  const [file, pos] = await Promise.all([
    readDbFile(path),
    withPos
      ? readParsed(`${path}-pos`, parsePos)
      : Promise.resolve<FileRead<never>>({ kind: 'absent' }),
  ]);
  return { name, ...file, pos };
}

/**
 * stat and the header come from one open file, so they describe the same file. Opening the db
 * read-only is harmless to SQLite: we take no locks, so closing the descriptor drops none.
 * `doctor` reads LiteFS's own copy in the data dir (`dbs/<db>/database`) with it too.
 */
export async function readDbFile(
  path: string,
): Promise<
  Pick<DbObservation, 'exists' | 'sizeBytes' | 'validHeader' | 'pageSize' | 'pageCount' | 'error'>
> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if (isEnoent(err)) return { exists: false, sizeBytes: 0, validHeader: false };
    // Not ENOENT: the file may well exist; never report it as missing (that would read as
    // "empty" and could allow a bootstrap, S3).
    return {
      exists: true,
      sizeBytes: 0,
      validHeader: false,
      error: `open ${path}: ${errorMessage(err)}`,
    };
  }
  let sizeBytes = 0;
  try {
    sizeBytes = (await handle.stat()).size;
    // The first 100 bytes: the magic string, and the page size and count that say whether
    // the db holds data whatever its TXID (docs/design.md section 3).
    const header = Buffer.alloc(SQLITE_HEADER_BYTES);
    const { bytesRead } = await handle.read(header, 0, SQLITE_HEADER_BYTES, 0);
    const bytes = header.subarray(0, bytesRead);
    const parsed = parseSqliteHeader(bytes, sizeBytes);
    return {
      exists: true,
      sizeBytes,
      validHeader: isSqliteHeader(bytes),
      ...(parsed.ok ? { pageSize: parsed.value.pageSize, pageCount: parsed.value.pageCount } : {}),
    };
  } catch (err) {
    return {
      exists: true,
      sizeBytes,
      validHeader: false,
      error: `read ${path}: ${errorMessage(err)}`,
    };
  } finally {
    await handle.close().catch(() => {});
  }
}

function isEnoent(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ENOENT';
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
