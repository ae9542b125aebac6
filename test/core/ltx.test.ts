// LTX file names and headers (src/core/ltx.ts), as LiteFS v0.5.11 / ltx v0.3.13 write them.

import t from 'tap';
import { parseLtxFilename, parseLtxHeader } from '../../src/core/ltx.js';
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
    value: { pageSize: 4096, commit: 12, minTxid: 3n, maxTxid: 7n },
  });
  const bad = ltxBytes(1n, 2n);
  bad.write('LTX2', 0, 'latin1');
  t.match(parseLtxHeader(bad), { ok: false, error: /expected "LTX1", got "LTX2"/ });
  t.match(parseLtxHeader(ltxBytes(1n, 2n).subarray(0, 99)), { ok: false, error: /truncated: 99/ });
  t.match(parseLtxHeader(ltxBytes(5n, 2n)), { ok: false, error: /invalid TXID range/ });
  t.match(parseLtxHeader(ltxBytes(0n, 2n)), { ok: false, error: /invalid TXID range/ });
});
