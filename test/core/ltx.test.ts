// LTX file names and headers (src/core/ltx.ts), as LiteFS v0.5.11 / ltx v0.3.13 write them.

import t from 'tap';
import { parseLtxFilename, parseLtxHeader } from '../../src/core/ltx.js';
import { crc64Iso, DatabaseChecksum, lockPage, pageChecksum } from '../../src/core/ltx-checksum.js';
import { ltxBytes } from '../helpers/data-dir.js';

t.test('parseLtxFilename: ltx.FormatFilename names only', async (t) => {
  t.same(parseLtxFilename('0000000000000001-00000000000000ff.ltx'), {
    ok: true,
    value: { minTxid: 1n, maxTxid: 255n },
  });
  t.same(parseLtxFilename('ffffffffffffffff-ffffffffffffffff.ltx'), {
    ok: true,
    value: { minTxid: 2n ** 64n - 1n, maxTxid: 2n ** 64n - 1n },
  });
  for (const name of [
    '0000000000000001-0000000000000002.ltx.tmp', // LiteFS's own file while it writes
    '0000000000000001-00000000000000FF.ltx', // upper case: ParseFilename refuses it
    '1-2.ltx',
    'database',
    '',
  ]) {
    t.equal(parseLtxFilename(name).ok, false, name);
  }
});

t.test('parseLtxHeader', async (t) => {
  t.same(parseLtxHeader(ltxBytes(3n, 7n, 4096, 12)), {
    ok: true,
    value: {
      pageSize: 4096,
      commit: 12,
      minTxid: 3n,
      maxTxid: 7n,
      preApplyChecksum: '0000000000000000',
    },
  });
  const pre = ltxBytes(3n, 7n, 4096, 12);
  pre.writeBigUInt64BE(0x8000_0000_0000_0abcn, 40);
  t.match(
    parseLtxHeader(pre),
    { ok: true, value: { preApplyChecksum: '8000000000000abc' } },
    'the pre-apply checksum, after the timestamp',
  );
  const bad = ltxBytes(1n, 2n);
  bad.write('LTX2', 0, 'latin1');
  t.match(parseLtxHeader(bad), { ok: false, error: /expected "LTX1", got "LTX2"/ });
  t.match(parseLtxHeader(ltxBytes(1n, 2n).subarray(0, 99)), { ok: false, error: /truncated: 99/ });
  t.match(parseLtxHeader(ltxBytes(5n, 2n)), { ok: false, error: /invalid TXID range/ });
  t.match(parseLtxHeader(ltxBytes(0n, 2n)), { ok: false, error: /invalid TXID range/ });
});

t.test("LiteFS's checksum (ltx v0.3): CRC-64/ISO per page, XOR, the flag bit", async (t) => {
  // The catalogue check value of CRC-64/GO-ISO (Go's crc64.ISO table).
  t.equal(crc64Iso(new TextEncoder().encode('123456789')), 0xb90956c775a41001n);
  t.equal(crc64Iso(new Uint8Array(0)), 0n);
  const a = new Uint8Array(4096).fill(1);
  const b = new Uint8Array(4096).fill(2);
  const flag = 1n << 63n;
  const one = pageChecksum(1, a);
  t.ok(one & flag, 'a page checksum has the flag set');
  t.not(pageChecksum(2, a), one, 'the page number is part of it');
  const sum = new DatabaseChecksum(4096);
  t.equal(sum.hex(), '8000000000000000', 'no page: the flag alone');
  sum.add(a);
  sum.add(b);
  t.equal(sum.pages, 2);
  t.equal(sum.hex(), ((one ^ pageChecksum(2, b)) | flag).toString(16), 'XOR of the pages, flagged');
  t.equal(lockPage(4096), 262_145, 'the page holding byte 2^30');
  t.equal(lockPage(65536), 16_385);
});
