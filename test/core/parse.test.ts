import t, { type Test } from 'tap';
import type { LitefsInfo, ParseResult } from '../../src/core/litefs-types.js';
import {
  formatTxid,
  isSqliteHeader,
  parseDebugVars,
  parseEventLine,
  parseInfo,
  parseLag,
  parsePos,
  parsePrimaryFile,
} from '../../src/core/parse.js';

type Invalid<I> = [name: string, input: I, errorPattern: RegExp];

function checkValid<I, T>(
  t: Test,
  parse: (input: I) => ParseResult<T>,
  rows: [name: string, input: I, expected: T][],
): void {
  for (const [name, input, expected] of rows) {
    const res = parse(input);
    t.same(res, { ok: true, value: expected }, `valid: ${name}`);
  }
}

function checkInvalid<I, T>(
  t: Test,
  parse: (input: I) => ParseResult<T>,
  rows: Invalid<I>[],
): void {
  for (const [name, input, pattern] of rows) {
    const res = parse(input);
    t.equal(res.ok, false, `invalid: ${name}`);
    if (!res.ok) t.match(res.error, pattern, `message for ${name}: ${res.error}`);
  }
}

t.test('parseLag', async (t) => {
  checkValid(t, parseLag, [
    ['primary', '+000000000\n', { kind: 'ms', ms: 0 }],
    ['small lag', '+000000042\n', { kind: 'ms', ms: 42 }],
    ['nine digits', '+999999999\n', { kind: 'ms', ms: 999_999_999 }],
    ['clock skew gives a negative lag', '-000000012\n', { kind: 'ms', ms: -12 }],
    // The file reports 11 bytes (fuse/lag_node.go lagSize), so FUSE cuts the newline of wider values.
    ['unsynced as read through FUSE', '+2147483647', { kind: 'unsynced' }],
    ['unsynced with its newline', '+2147483647\n', { kind: 'unsynced' }],
    ['wide value, newline cut', '+1000000000', { kind: 'ms', ms: 1_000_000_000 }],
  ]);
  checkInvalid(t, parseLag, [
    ['empty', '', /expected %\+010d/],
    ['no sign', '000000042\n', /expected %\+010d/],
    ['too narrow', '+42\n', /at least 9 digits/],
    ['truncated line', '+00000', /at least 9 digits/],
    ['missing newline on a normal width', '+000000042', /newline/],
    ['extra leading zero', '+0000000042\n', /leading zeros/],
    ['spaces', ' +000000042\n', /expected %\+010d/],
    ['CRLF', '+000000042\r\n', /expected %\+010d/],
    ['two lines', '+000000042\n+000000043\n', /expected %\+010d/],
    ['decimal point', '+00000004.2\n', /expected %\+010d/],
    ['negative zero', '-000000000\n', /zero/],
    ['unsafe integer', '+99999999999999999999', /out of range/],
  ]);
});

t.test('parsePos', async (t) => {
  checkValid(t, parsePos, [
    [
      'no transaction yet',
      '0000000000000000/0000000000000000\n',
      { txid: 0n, checksum: '0000000000000000' },
    ],
    [
      'typical',
      '00000000003bf5ac/8a1b2c3d4e5f6071\n',
      { txid: 0x3bf5acn, checksum: '8a1b2c3d4e5f6071' },
    ],
    [
      'txid beyond 2^53',
      'ffffffffffffffff/ffffffffffffffff\n',
      { txid: 0xffffffffffffffffn, checksum: 'ffffffffffffffff' },
    ],
  ]);
  checkInvalid(t, parsePos, [
    ['empty', '', /expected "<16 hex txid>/],
    ['missing newline (cut read)', '0000000000000001/0000000000000002', /34 bytes/],
    ['truncated line', '0000000000000001/00000', /expected/],
    ['short txid', '000000000000001/0000000000000002\n', /expected/],
    ['long checksum', '0000000000000001/00000000000000020\n', /expected/],
    ['uppercase txid', '00000000003BF5AC/8a1b2c3d4e5f6071\n', /lowercase/],
    ['uppercase checksum', '0000000000000001/8A1B2C3D4E5F6071\n', /lowercase/],
    ['not hex', '000000000000000g/0000000000000002\n', /expected/],
    ['decimal with separator', '1/2\n', /expected/],
    ['wrong separator', '0000000000000001:0000000000000002\n', /expected/],
    ['trailing junk', '0000000000000001/0000000000000002\nx', /expected/],
  ]);
});

t.test('parsePrimaryFile', async (t) => {
  checkValid(t, parsePrimaryFile, [
    ['as LiteFS writes it', 'machine-a\n', 'machine-a'],
    ['without newline', 'e784079b449483.vm.app.internal', 'e784079b449483.vm.app.internal'],
  ]);
  checkInvalid(t, parsePrimaryFile, [
    ['empty', '', /expected a hostname/],
    ['only a newline', '\n', /expected a hostname/],
    ['two hostnames', 'a\nb\n', /one hostname/],
    ['inner space', 'a b\n', /one hostname/],
  ]);
});

t.test('parseInfo', async (t) => {
  const body = {
    clusterID: 'LFSC0123456789ABCDEF',
    isPrimary: false,
    candidate: true,
    path: '/var/lib/litefs',
    primary: { hostname: 'machine-a' },
  };
  const headers = { litefsId: '8D1A4FB2C35E0917', clusterId: 'LFSC0123456789ABCDEF' };
  const base: LitefsInfo = {
    clusterId: 'LFSC0123456789ABCDEF',
    isPrimary: false,
    candidate: true,
    path: '/var/lib/litefs',
    primaryHostname: 'machine-a',
    nodeId: '8D1A4FB2C35E0917',
    clusterIdHeader: 'LFSC0123456789ABCDEF',
  };
  const { clusterID: _omitted, ...noCluster } = body;
  const rows: [string, unknown, object, LitefsInfo][] = [
    ['replica', body, headers, base],
    [
      'primary shows its own hostname',
      { ...body, isPrimary: true, primary: { hostname: 'self' } },
      headers,
      { ...base, isPrimary: true, primaryHostname: 'self' },
    ],
    [
      'no primary known',
      { ...body, primary: { hostname: '' } },
      headers,
      { ...base, primaryHostname: '' },
    ],
    [
      'clusterID omitted (omitempty) and no headers',
      noCluster,
      {},
      { ...base, clusterId: '', nodeId: undefined, clusterIdHeader: undefined },
    ],
    [
      'lowercase node ID accepted (ParseNodeID takes either case)',
      body,
      { litefsId: '8d1a4fb2c35e0917' },
      {
        ...base,
        nodeId: '8d1a4fb2c35e0917',
        clusterIdHeader: undefined,
      },
    ],
    ['unknown extra keys ignored', { ...body, extra: 1 }, headers, base],
  ];
  for (const [name, input, h, expected] of rows) {
    t.same(parseInfo(input, h), { ok: true, value: expected }, `valid: ${name}`);
  }

  const invalid: [string, unknown, object, RegExp][] = [
    ['not an object', 'hello', headers, /expected a JSON object/],
    ['array', [], headers, /expected a JSON object, got array/],
    ['null', null, headers, /got null/],
    ['isPrimary missing', { ...body, isPrimary: undefined }, headers, /"isPrimary"/],
    ['isPrimary as string', { ...body, isPrimary: 'true' }, headers, /"isPrimary"/],
    ['candidate missing', { ...body, candidate: undefined }, headers, /"candidate"/],
    ['path missing', { ...body, path: undefined }, headers, /"path"/],
    ['primary missing', { ...body, primary: undefined }, headers, /"primary"/],
    ['primary.hostname missing', { ...body, primary: {} }, headers, /"primary.hostname"/],
    ['clusterID not a string', { ...body, clusterID: 5 }, headers, /"clusterID"/],
    ['node ID too short', body, { litefsId: 'ABC' }, /Litefs-Id/],
    ['node ID not hex', body, { litefsId: 'ZZZZZZZZZZZZZZZZ' }, /Litefs-Id/],
  ];
  for (const [name, input, h, pattern] of invalid) {
    const res = parseInfo(input, h);
    t.equal(res.ok, false, `invalid: ${name}`);
    if (!res.ok) t.match(res.error, pattern, `message for ${name}: ${res.error}`);
  }
});

t.test('parseEventLine', async (t) => {
  checkValid(t, parseEventLine, [
    [
      'init on a replica',
      '{"type":"init","data":{"isPrimary":false,"hostname":"machine-a"}}',
      { type: 'init', isPrimary: false, hostname: 'machine-a' },
    ],
    [
      'init on the primary: hostname omitted',
      '{"type":"init","data":{"isPrimary":true}}',
      { type: 'init', isPrimary: true, hostname: undefined },
    ],
    [
      'primaryChange, no primary known',
      '{"type":"primaryChange","data":{"isPrimary":false}}',
      { type: 'primaryChange', isPrimary: false, hostname: undefined },
    ],
    [
      'primaryChange to a new primary',
      '{"type":"primaryChange","data":{"isPrimary":false,"hostname":"machine-b"}}',
      { type: 'primaryChange', isPrimary: false, hostname: 'machine-b' },
    ],
    [
      'tx as db.go emits it',
      '{"type":"tx","db":"sqlite.db","data":{"txID":"00000000003bf5ac","postApplyChecksum":"8a1b2c3d4e5f6071","pageSize":4096,"commit":12,"timestamp":"2024-05-01T12:00:00.123Z"}}',
      {
        type: 'tx',
        db: 'sqlite.db',
        txid: 0x3bf5acn,
        checksum: '8a1b2c3d4e5f6071',
        pageSize: 4096,
        commit: 12,
        timestamp: '2024-05-01T12:00:00.123Z',
      },
    ],
    [
      'tx with Go nanosecond timestamp',
      '{"type":"tx","db":"a.db","data":{"txID":"0000000000000001","postApplyChecksum":"8000000000000001","pageSize":512,"commit":1,"timestamp":"2024-05-01T12:00:00.123456789Z"}}',
      {
        type: 'tx',
        db: 'a.db',
        txid: 1n,
        checksum: '8000000000000001',
        pageSize: 512,
        commit: 1,
        timestamp: '2024-05-01T12:00:00.123456789Z',
      },
    ],
    ['unknown type', '{"type":"halt","data":{}}', { type: 'unknown', rawType: 'halt' }],
    ['unknown type without data', '{"type":"future"}', { type: 'unknown', rawType: 'future' }],
  ]);
  const tx = (data: object, extra: object = {}) =>
    JSON.stringify({
      type: 'tx',
      db: 'a.db',
      data: {
        txID: '0000000000000001',
        postApplyChecksum: '8000000000000001',
        pageSize: 4096,
        commit: 1,
        timestamp: '2024-05-01T12:00:00Z',
        ...data,
      },
      ...extra,
    });
  checkInvalid(t, parseEventLine, [
    ['empty line', '', /one JSON object per line/],
    ['truncated line', '{"type":"init","data":{"isPri', /one JSON object per line/],
    ['not an object', '[1,2]', /expected a JSON object/],
    ['type missing', '{"data":{}}', /"type"/],
    ['type not a string', '{"type":1}', /"type"/],
    ['init without data', '{"type":"init"}', /"data"/],
    ['init isPrimary missing', '{"type":"init","data":{}}', /isPrimary/],
    ['init isPrimary as string', '{"type":"init","data":{"isPrimary":"false"}}', /isPrimary/],
    [
      'empty hostname (LiteFS omits it instead)',
      '{"type":"primaryChange","data":{"isPrimary":false,"hostname":""}}',
      /hostname/,
    ],
    ['tx without db', tx({}, { db: undefined }), /"db"/],
    ['tx txID as number', tx({ txID: 1 }), /txID/],
    ['tx txID uppercase', tx({ txID: '00000000003BF5AC' }), /lowercase/],
    ['tx txID short', tx({ txID: '1' }), /txID/],
    ['tx txID null', tx({ txID: null }), /txID/],
    ['tx checksum wrong width', tx({ postApplyChecksum: '800000000000001' }), /postApplyChecksum/],
    ['tx pageSize negative', tx({ pageSize: -1 }), /pageSize/],
    ['tx commit fractional', tx({ commit: 1.5 }), /commit/],
    ['tx timestamp missing', tx({ timestamp: undefined }), /timestamp/],
    ['tx timestamp garbage', tx({ timestamp: 'yesterday' }), /timestamp/],
  ]);
});

t.test('parseDebugVars', async (t) => {
  const store = {
    isPrimary: true,
    candidate: true,
    dbs: {
      'sqlite.db': {
        name: 'sqlite.db',
        txid: '00000000000000ff',
        checksum: '8a1b2c3d4e5f6071',
        locks: { pending: 'unlocked' },
      },
    },
  };
  checkValid(t, parseDebugVars, [
    [
      'one db',
      { cmdline: ['litefs', 'mount'], memstats: {}, store },
      {
        isPrimary: true,
        candidate: true,
        dbs: { 'sqlite.db': { txid: 255n, checksum: '8a1b2c3d4e5f6071' } },
      },
    ],
    [
      'no dbs yet',
      { store: { isPrimary: false, candidate: false, dbs: {} } },
      { isPrimary: false, candidate: false, dbs: {} },
    ],
  ]);
  checkInvalid(t, parseDebugVars, [
    ['not an object', 'x', /expected a JSON object/],
    ['store missing (expvar without LiteFS store)', { cmdline: [] }, /"store"/],
    ['store null (StoreVar.String marshal failure)', { store: null }, /"store", got null/],
    ['isPrimary missing', { store: { ...store, isPrimary: undefined } }, /store.isPrimary/],
    ['candidate missing', { store: { ...store, candidate: 1 } }, /store.candidate/],
    ['dbs missing', { store: { ...store, dbs: undefined } }, /store.dbs/],
    ['db not an object', { store: { ...store, dbs: { a: 1 } } }, /store.dbs.a/],
    [
      'txid as number',
      { store: { ...store, dbs: { a: { txid: 255, checksum: '8a1b2c3d4e5f6071' } } } },
      /store.dbs.a.txid/,
    ],
    [
      'checksum uppercase',
      {
        store: { ...store, dbs: { a: { txid: '00000000000000ff', checksum: '8A1B2C3D4E5F6071' } } },
      },
      /lowercase/,
    ],
  ]);
});

t.test('isSqliteHeader', async (t) => {
  const header = Buffer.from('SQLite format 3\0', 'latin1');
  t.equal(isSqliteHeader(header), true, 'exact 16 bytes');
  t.equal(isSqliteHeader(Buffer.concat([header, Buffer.alloc(4080)])), true, 'a full page');
  t.equal(isSqliteHeader(header.subarray(0, 15)), false, 'cut short');
  t.equal(isSqliteHeader(new Uint8Array(0)), false, 'zero bytes');
  t.equal(isSqliteHeader(Buffer.alloc(16)), false, 'zeros');
  t.equal(isSqliteHeader(Buffer.from('SQLite format 3 ', 'latin1')), false, 'no NUL');
  t.equal(isSqliteHeader(Buffer.from('sqlite format 3\0', 'latin1')), false, 'lower case');
});

t.test('formatTxid', async (t) => {
  t.equal(formatTxid(0n), '0000000000000000');
  t.equal(formatTxid(0x3bf5acn), '00000000003bf5ac');
  t.equal(formatTxid(0xffffffffffffffffn), 'ffffffffffffffff');
  t.throws(() => formatTxid(-1n), RangeError);
  t.throws(() => formatTxid(1n << 64n), RangeError);
  // Round trip with the -pos parser.
  const pos = parsePos(`${formatTxid(12345n)}/${formatTxid(1n << 63n)}\n`);
  t.same(pos, { ok: true, value: { txid: 12345n, checksum: '8000000000000000' } });
});
