// LiteFS's checksum of a database (ltx v0.3: each page's CRC-64/ISO over its page number,
// big-endian, then its bytes; the database's is the XOR of its pages' with the top bit set, the
// lock page left out). LiteFS checks it against the newest LTX file's post-apply checksum when it
// opens a db (db.go ApplyLTXNoLock) and refuses to start on a mismatch, so `doctor` computes it
// over the data dir's file to say why (doctor-truncated.ts). Pure: bytes in, numbers out.

/** ltx.ChecksumFlag: set on every checksum LiteFS writes. */
const FLAG_HI = 0x8000_0000;

// CRC-64 with the ISO polynomial, reflected (Go's hash/crc64 ISO table: 0xD800000000000000), as
// two 32-bit halves so that no BigInt is needed per byte.
const TABLE_LO = new Uint32Array(256);
const TABLE_HI = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let lo = i;
  let hi = 0;
  for (let k = 0; k < 8; k++) {
    const lsb = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi = hi >>> 1;
    if (lsb) hi = (hi ^ 0xd800_0000) >>> 0;
  }
  TABLE_LO[i] = lo;
  TABLE_HI[i] = hi;
}

/** A running CRC-64/ISO as Go's crc64.Update keeps it (already complemented), in two halves. */
export interface Crc64 {
  lo: number;
  hi: number;
}

export function crc64Start(): Crc64 {
  return { lo: 0xffff_ffff, hi: 0xffff_ffff };
}

export function crc64Update(c: Crc64, bytes: Uint8Array): Crc64 {
  let { lo, hi } = c;
  for (let i = 0; i < bytes.length; i++) {
    const idx = (lo ^ (bytes[i] ?? 0)) & 0xff;
    lo = (((lo >>> 8) | ((hi & 0xff) << 24)) ^ (TABLE_LO[idx] ?? 0)) >>> 0;
    hi = ((hi >>> 8) ^ (TABLE_HI[idx] ?? 0)) >>> 0;
  }
  return { lo, hi };
}

/** The finished CRC-64/ISO of a running one. */
export function crc64Sum(c: Crc64): bigint {
  return (BigInt((~c.hi >>> 0) >>> 0) << 32n) | BigInt((~c.lo >>> 0) >>> 0);
}

/** CRC-64/ISO of `bytes` (Go's crc64.Checksum(bytes, crc64.MakeTable(crc64.ISO))). */
export function crc64Iso(bytes: Uint8Array): bigint {
  return crc64Sum(crc64Update(crc64Start(), bytes));
}

/** ltx.ChecksumPage: the page number (big-endian) and the page, with the flag set. */
export function pageChecksum(pgno: number, page: Uint8Array): bigint {
  const head = new Uint8Array(4);
  new DataView(head.buffer).setUint32(0, pgno);
  const sum = crc64Sum(crc64Update(crc64Update(crc64Start(), head), page));
  return sum | (BigInt(FLAG_HI) << 32n);
}

/** SQLite's lock page (the page holding byte 2^30), which LiteFS leaves out of the checksum. */
export function lockPage(pageSize: number): number {
  return Math.floor(0x4000_0000 / pageSize) + 1;
}

/** A database checksum built page by page, in order from page 1. */
export class DatabaseChecksum {
  private sum = 0n;
  pages = 0;
  constructor(private readonly pageSize: number) {}

  /** Adds the next page. */
  add(page: Uint8Array): void {
    this.pages += 1;
    if (this.pages === lockPage(this.pageSize)) return;
    this.sum ^= pageChecksum(this.pages, page);
  }

  /** The checksum of the pages added so far, as LiteFS writes it (`%016x`). */
  hex(): string {
    return (this.sum | (BigInt(FLAG_HI) << 32n)).toString(16).padStart(16, '0');
  }
}
