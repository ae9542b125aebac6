// Builds LiteFS v0.5.11 data dirs for the `doctor` tests (store.go / db.go layout):
// `<dir>/clusterid`, `<dir>/dbs/<db>/database`, `<dir>/dbs/<db>/ltx/<min>-<max>.ltx`. The LTX
// files carry a real header (ltx.go Header.MarshalBinary) and trailer; their page frames are
// left out, as doctor reads only the two ends.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseChecksum } from '../../src/core/ltx-checksum.js';
import { formatTxid } from '../../src/core/parse.js';
import { createUserDb } from '../../testkit/sqlite.js';

export interface DbSpec {
  /** Rows in a `User` table (createUserDb); 0 = a database with the table and no rows. */
  rows?: number;
  /** Raw bytes for `database` instead of a SQLite file. */
  bytes?: Buffer;
  /** LTX files as [minTxid, maxTxid]. */
  ltx?: [number, number][];
  /** Write the newest LTX file with a broken header. */
  damagedLtx?: boolean;
}

export function ltxBytes(
  min: bigint,
  max: bigint,
  pageSize = 4096,
  commit = 2,
  postApply: bigint = (1n << 63n) | (max * 0x1234567n),
): Buffer {
  const b = Buffer.alloc(100 + 16);
  b.write('LTX1', 0, 'latin1');
  b.writeUInt32BE(0, 4);
  b.writeUInt32BE(pageSize, 8);
  b.writeUInt32BE(commit, 12);
  b.writeBigUInt64BE(min, 16);
  b.writeBigUInt64BE(max, 24);
  b.writeBigUInt64BE(BigInt(Date.UTC(2026, 10, 29)), 32);
  // Trailer: post-apply checksum and file checksum, each with the flag bit set (ltx.ChecksumFlag).
  b.writeBigUInt64BE(postApply, 100);
  b.writeBigUInt64BE((1n << 63n) | 0xabcdn, 108);
  return b;
}

/** LiteFS's checksum of a database file in 4096-byte pages (a non-SQLite file: none). */
function checksumOf(bytes: Buffer): { pages: number; sum: bigint } | undefined {
  if (bytes.length === 0 || bytes.length % 4096 !== 0) return undefined;
  const sum = new DatabaseChecksum(4096);
  for (let at = 0; at < bytes.length; at += 4096) sum.add(bytes.subarray(at, at + 4096));
  return { pages: sum.pages, sum: BigInt(`0x${sum.hex()}`) };
}

export function buildDataDir(
  dir: string,
  spec: { clusterId?: string; dbs: Record<string, DbSpec> },
): void {
  mkdirSync(join(dir, 'dbs'), { recursive: true });
  if (spec.clusterId !== undefined) writeFileSync(join(dir, 'clusterid'), `${spec.clusterId}\n`);
  for (const [name, db] of Object.entries(spec.dbs)) {
    const dbDir = join(dir, 'dbs', name);
    mkdirSync(join(dbDir, 'ltx'), { recursive: true });
    if (db.bytes) writeFileSync(join(dbDir, 'database'), db.bytes);
    else if (db.rows !== undefined) createUserDb(join(dbDir, 'database'), db.rows);
    const files = db.ltx ?? [];
    // The database as the newest LTX file leaves it: its size and LiteFS's checksum of it.
    const file = join(dbDir, 'database');
    const state = existsSync(file) ? checksumOf(readFileSync(file)) : undefined;
    files.forEach(([min, max], i) => {
      const path = join(dbDir, 'ltx', `${formatTxid(BigInt(min))}-${formatTxid(BigInt(max))}.ltx`);
      const bytes = state
        ? ltxBytes(BigInt(min), BigInt(max), 4096, state.pages, state.sum)
        : ltxBytes(BigInt(min), BigInt(max));
      if (db.damagedLtx && i === files.length - 1) bytes.write('XXXX', 0, 'latin1');
      writeFileSync(path, bytes);
    });
  }
}

/** Every file under `dir` with its size, mode, mtime and content hash: to show nothing changed. */
export function snapshotTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const s = statSync(p);
      if (s.isDirectory()) {
        out[`${p}/`] = `${s.mode} ${s.mtimeMs}`;
        walk(p);
      } else {
        const hash = createHash('sha256').update(readFileSync(p)).digest('hex');
        out[p] = `${s.size} ${s.mode} ${s.mtimeMs} ${hash}`;
      }
    }
  };
  walk(dir);
  return out;
}

/** A state file as the supervisor writes it (src/state/state-file.ts formatStateFile). */
export function stateFileText(clusterId: string, dbs: Record<string, number>): string {
  const entries: Record<string, { txid: string; updatedAt: string }> = {};
  for (const [name, txid] of Object.entries(dbs)) {
    entries[name] = { txid: formatTxid(BigInt(txid)), updatedAt: '2026-11-29T10:00:00.000Z' };
  }
  return `${JSON.stringify({ version: 1, clusterId, dbs: entries }, null, 2)}\n`;
}
