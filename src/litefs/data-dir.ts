// Reads LiteFS's data dir (litefs.yml `data.dir`) for `doctor`, never writing to it (S12). The
// layout is LiteFS v0.5.11's (store.go, db.go):
//
//   <data.dir>/clusterid                      the cluster ID and a newline (store.go setClusterID)
//   <data.dir>/dbs/<db>/database              the SQLite file itself
//   <data.dir>/dbs/<db>/wal, journal, shm     SQLite's companions, LiteFS-managed
//   <data.dir>/dbs/<db>/ltx/<min>-<max>.ltx   transaction files, TXIDs as 16 lower-case hex
//
// At start LiteFS applies the highest LTX file again to set the db's position (db.go Open); with
// none, the position stays TXID 0 whatever the database holds. Retention never deletes the
// newest LTX file (db.go EnforceRetention), so a db with pages and no LTX file lost its history
// by other means (docs/litefs-facts.md "What a TXID does not tell you"). Every failure is a value.

import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  DatabaseFileChecksum,
  DataDirDb,
  DataDirFacts,
  LtxFacts,
} from '../core/doctor-facts.js';
import type { ParseResult } from '../core/litefs-types.js';
import { LTX_HEADER_BYTES, type LtxHeader, parseLtxFilename, parseLtxHeader } from '../core/ltx.js';
import { DatabaseChecksum } from '../core/ltx-checksum.js';
import type { FileRead } from '../core/observation.js';
import { formatTxid } from '../core/parse.js';
import { describeFsError, errorCode } from '../system/disk.js';
import { readDbFile } from './observe.js';

const LTX_TRAILER_BYTES = 16;

export async function readDataDir(path: string, dbs: readonly string[]): Promise<DataDirFacts> {
  let exists = false;
  let error: string | undefined;
  try {
    const s = await stat(path);
    exists = s.isDirectory();
    if (!exists) error = `${path} is not a directory`;
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') error = `${path}: ${describeFsError(err)}`;
  }
  const [clusterId, dbFacts] = await Promise.all([
    readClusterId(join(path, 'clusterid')),
    Promise.all(dbs.map((name) => readDataDirDb(join(path, 'dbs', name), name))),
  ]);
  return { path, exists, error, clusterId, dbs: dbFacts };
}

async function readClusterId(path: string): Promise<FileRead<string>> {
  try {
    return { kind: 'present', value: (await readFile(path, 'utf8')).trim() };
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return { kind: 'absent' };
    return { kind: 'error', error: `read ${path}: ${describeFsError(err)}` };
  }
}

async function readDataDirDb(dir: string, name: string): Promise<DataDirDb> {
  const size = (file: string) =>
    stat(join(dir, file)).then(
      (s) => s.size,
      () => undefined,
    );
  const [database, walBytes, journalBytes, ltx] = await Promise.all([
    readDbFile(join(dir, 'database')),
    size('wal'),
    size('journal'),
    readLtxDir(join(dir, 'ltx')),
  ]);
  const head = ltx.ok && ltx.latestHeader?.ok ? ltx.latestHeader.value : undefined;
  const checksum =
    head && database.exists && database.error === undefined
      ? await fileChecksum(join(dir, 'database'), head.pageSize, head.commit)
      : undefined;
  return { name, dir, database, walBytes, journalBytes, ltx, checksum };
}

/**
 * LiteFS's checksum of the database file, read through once in chunks of whole pages (doctor
 * only; the supervisor never reads a whole db). Undefined when it cannot be read.
 */
async function fileChecksum(
  path: string,
  pageSize: number,
  commit: number,
): Promise<DatabaseFileChecksum | undefined> {
  if (pageSize < 512 || pageSize > 65536) return undefined;
  const all = new DatabaseChecksum(pageSize);
  const first = new DatabaseChecksum(pageSize);
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(path, 'r');
    const buf = Buffer.alloc(pageSize * 256);
    let position = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, position);
      const whole = Math.floor(bytesRead / pageSize);
      for (let i = 0; i < whole; i++) {
        const page = buf.subarray(i * pageSize, (i + 1) * pageSize);
        all.add(page);
        if (first.pages < commit) first.add(page);
      }
      position += whole * pageSize;
      if (bytesRead < buf.length) break;
    }
    return { pages: all.pages, all: all.hex(), commit: first.hex() };
  } catch {
    return undefined;
  } finally {
    await handle?.close().catch(() => {});
  }
}

async function readLtxDir(dir: string): Promise<LtxFacts> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') {
      return none();
    }
    return { ok: false, error: `read ${dir}: ${describeFsError(err)}` };
  }
  let count = 0;
  let minTxid: bigint | undefined;
  let maxTxid: bigint | undefined;
  let latest: string | undefined;
  for (const name of names) {
    const r = parseLtxFilename(name);
    if (!r.ok) continue;
    count++;
    if (minTxid === undefined || r.value.minTxid < minTxid) minTxid = r.value.minTxid;
    if (maxTxid === undefined || r.value.maxTxid > maxTxid) {
      maxTxid = r.value.maxTxid;
      latest = name;
    }
  }
  if (latest === undefined) return none();
  const { header, checksum } = await readLtxEnds(join(dir, latest));
  return {
    ok: true,
    count,
    minTxid,
    maxTxid,
    latest,
    latestHeader: header,
    latestChecksum: checksum,
  };
}

function none(): LtxFacts {
  return {
    ok: true,
    count: 0,
    minTxid: undefined,
    maxTxid: undefined,
    latest: undefined,
    latestHeader: undefined,
    latestChecksum: undefined,
  };
}

/** The header (first 100 bytes) and the post-apply checksum (trailer, last 16 bytes). */
async function readLtxEnds(
  path: string,
): Promise<{ header: ParseResult<LtxHeader>; checksum: string | undefined }> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    return {
      header: { ok: false, error: `open ${path}: ${describeFsError(err)}` },
      checksum: undefined,
    };
  }
  try {
    const size = (await handle.stat()).size;
    const head = Buffer.alloc(LTX_HEADER_BYTES);
    const { bytesRead } = await handle.read(head, 0, LTX_HEADER_BYTES, 0);
    const header = parseLtxHeader(head.subarray(0, bytesRead));
    let checksum: string | undefined;
    if (header.ok && size >= LTX_HEADER_BYTES + LTX_TRAILER_BYTES) {
      const trailer = Buffer.alloc(LTX_TRAILER_BYTES);
      await handle.read(trailer, 0, LTX_TRAILER_BYTES, size - LTX_TRAILER_BYTES);
      const sum = trailer.readBigUInt64BE(0);
      if (sum !== 0n) checksum = formatTxid(sum);
    }
    return { header, checksum };
  } catch (err) {
    return {
      header: { ok: false, error: `read ${path}: ${describeFsError(err)}` },
      checksum: undefined,
    };
  } finally {
    await handle.close().catch(() => {});
  }
}
