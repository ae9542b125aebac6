// LiteFS's LTX files, as `doctor` reads them from the data dir (LiteFS v0.5.11 with
// github.com/superfly/ltx v0.3.13). A db's position after a LiteFS restart comes only from
// these files (db.go Open: the highest `<min>-<max>.ltx` is applied again), so a database with
// pages and no LTX file comes back at TXID 0: history lost (docs/litefs-facts.md "What a TXID does not
// tell you"). Pure: names and bytes in, values out.

import type { ParseResult } from './litefs-types.js';

/** `<16 hex>-<16 hex>.ltx`, lower case, as ltx.FormatFilename writes and ParseFilename accepts. */
const LTX_FILENAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.ltx$/;

export interface LtxRange {
  minTxid: bigint;
  maxTxid: bigint;
}

/**
 * The TXID range an LTX file name stands for; an error for any other name (LiteFS skips such
 * files too: db.go ReadLTXDir, maxLTXFile), including its own `<name>.tmp` while writing.
 */
export function parseLtxFilename(name: string): ParseResult<LtxRange> {
  const m = LTX_FILENAME.exec(name);
  if (!m) return { ok: false, error: `${JSON.stringify(name)} is not an LTX file name` };
  return { ok: true, value: { minTxid: BigInt(`0x${m[1]}`), maxTxid: BigInt(`0x${m[2]}`) } };
}

/** Bytes of an LTX header (ltx.HeaderSize). */
export const LTX_HEADER_BYTES = 100;

export interface LtxHeader {
  pageSize: number;
  /** Database size in pages after this file is applied. */
  commit: number;
  minTxid: bigint;
  maxTxid: bigint;
  /**
   * The database's checksum before this file applies (`%016x`; zeros for a snapshot): LiteFS
   * checks it against its position when it applies a file from a primary.
   */
  preApplyChecksum: string;
}

/**
 * The fields of an LTX header that `doctor` checks (ltx.go Header.UnmarshalBinary): magic
 * `LTX1` at 0, page size at 8, commit at 12, min and max TXID at 16 and 24, the pre-apply
 * checksum at 40 (after the timestamp at 32), all big-endian.
 * LiteFS verifies the highest file at start (db.go syncWALToLTX: "validate ltx") and fails to
 * open the db when it is damaged.
 */
export function parseLtxHeader(bytes: Uint8Array): ParseResult<LtxHeader> {
  if (bytes.length < LTX_HEADER_BYTES) {
    return { ok: false, error: `LTX header truncated: ${bytes.length} of 100 bytes` };
  }
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic !== 'LTX1') {
    return { ok: false, error: `no LTX header (expected "LTX1", got ${JSON.stringify(magic)})` };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, LTX_HEADER_BYTES);
  const minTxid = view.getBigUint64(16);
  const maxTxid = view.getBigUint64(24);
  if (minTxid === 0n || maxTxid < minTxid) {
    return { ok: false, error: `LTX header has an invalid TXID range ${minTxid}-${maxTxid}` };
  }
  return {
    ok: true,
    value: {
      pageSize: view.getUint32(8),
      commit: view.getUint32(12),
      minTxid,
      maxTxid,
      preApplyChecksum: view.getBigUint64(40).toString(16).padStart(16, '0'),
    },
  };
}
