import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import type { HwmFile } from '../../src/core/hwm-types.js';
import {
  loadStateFile,
  parseStateFile,
  sameFilesystem,
  writeStateFile,
} from '../../src/state/state-file.js';
import * as disk from '../../src/system/disk.js';
import { asNobody, openUpTo } from '../helpers/unprivileged.js';
import { tmpDir } from '../helpers/wait.js';

const MAX = (1n << 64n) - 1n;

function hwm(dbs: Record<string, bigint>, clusterId = 'LFSC0123456789ABCDEF'): HwmFile {
  const out: HwmFile['dbs'] = {};
  for (const [name, txid] of Object.entries(dbs)) {
    out[name] = { txid, updatedAt: '2026-01-07T13:39:46.123Z' };
  }
  return { version: 1, clusterId, dbs: out };
}

t.test('round trip keeps TXIDs up to 2^64-1 exactly, as 16-hex strings', async (t) => {
  const path = join(tmpDir(t), 'state.json');
  const file = hwm({ 'sqlite.db': MAX, 'big.db': (1n << 63n) + 5n, 'zero.db': 0n, 'a.db': 1n });
  await writeStateFile(path, file);
  t.same(await loadStateFile(path), { kind: 'ok', file });
  const raw = JSON.parse(readFileSync(path, 'utf8'));
  t.equal(raw.dbs['sqlite.db'].txid, 'ffffffffffffffff');
  t.equal(raw.dbs['big.db'].txid, '8000000000000005');
  t.equal(raw.dbs['zero.db'].txid, '0000000000000000');
  t.same(Object.keys(raw.dbs), ['a.db', 'big.db', 'sqlite.db', 'zero.db'], 'db names sorted');
});

t.test("a history-lost primary's retired mark round-trips, and only where set", async (t) => {
  const path = join(tmpDir(t), 'state.json');
  const file = hwm({ 'a.db': 0n, 'b.db': 7n });
  file.dbs['a.db'] = { ...file.dbs['a.db']!, retired: 0xdcn };
  await writeStateFile(path, file);
  t.same(await loadStateFile(path), { kind: 'ok', file });
  const raw = JSON.parse(readFileSync(path, 'utf8'));
  t.equal(raw.dbs['a.db'].retired, '00000000000000dc');
  t.notOk('retired' in raw.dbs['b.db'], 'absent where none: older versions read the file');
});

t.test('a db named __proto__ is an ordinary key', async (t) => {
  const path = join(tmpDir(t), 'state.json');
  const file: HwmFile = { version: 1, clusterId: '', dbs: {} };
  Object.defineProperty(file.dbs, '__proto__', {
    value: { txid: 7n, updatedAt: '2026-01-07T13:39:46Z' },
    enumerable: true,
  });
  await writeStateFile(path, file);
  const loaded = await loadStateFile(path);
  t.equal(loaded.kind, 'ok');
  if (loaded.kind === 'ok') {
    t.ok(Object.hasOwn(loaded.file.dbs, '__proto__'));
    t.equal(Object.getOwnPropertyDescriptor(loaded.file.dbs, '__proto__')?.value.txid, 7n);
    t.equal(Object.getPrototypeOf(loaded.file.dbs), Object.prototype);
  }
});

t.test('missing file, and missing parent directory, are "missing"', async (t) => {
  const dir = tmpDir(t);
  t.same(await loadStateFile(join(dir, 'state.json')), { kind: 'missing' });
  t.same(await loadStateFile(join(dir, 'no', 'such', 'state.json')), { kind: 'missing' });
});

t.test('corrupt file is moved to .corrupt with its content, replacing an older one', async (t) => {
  const path = join(tmpDir(t), 'state.json');
  writeFileSync(`${path}.corrupt`, 'older evidence');
  writeFileSync(path, '{"version":1,"clusterId":"x","dbs":{');
  const res = await loadStateFile(path);
  t.match(res, { kind: 'corrupt', movedTo: `${path}.corrupt`, error: /expected JSON/ });
  t.match(res.kind === 'corrupt' && res.error, path, 'the error names the file');
  t.equal(readFileSync(`${path}.corrupt`, 'utf8'), '{"version":1,"clusterId":"x","dbs":{');
  t.same(await loadStateFile(path), { kind: 'missing' }, 'the original is gone');

  // The next write starts a fresh file; the evidence stays.
  await writeStateFile(path, hwm({ 'sqlite.db': 3n }));
  t.equal((await loadStateFile(path)).kind, 'ok');
  t.equal(readFileSync(`${path}.corrupt`, 'utf8'), '{"version":1,"clusterId":"x","dbs":{');
});

t.test('corrupt, but .corrupt cannot be replaced: reported, movedTo undefined', async (t) => {
  const path = join(tmpDir(t), 'state.json');
  mkdirSync(join(`${path}.corrupt`, 'sub'), { recursive: true });
  writeFileSync(path, 'nope');
  const res = await loadStateFile(path);
  t.match(res, { kind: 'corrupt', movedTo: undefined, error: /could not move it to .*\.corrupt/ });
});

const ENTRY = { txid: '00000000003bf5ac', updatedAt: '2026-01-07T13:39:46.123Z' };
const wrongShapes: [string, string, RegExp][] = [
  ['empty file', '', /expected JSON/],
  ['not JSON', 'hello', /expected JSON/],
  ['array', '[]', /expected a JSON object, got array/],
  ['null', 'null', /expected a JSON object, got null/],
  ['no version', JSON.stringify({ clusterId: 'c', dbs: {} }), /version: expected 1, got undefined/],
  [
    'version 2',
    JSON.stringify({ version: 2, clusterId: 'c', dbs: {} }),
    /version: expected 1, got 2/,
  ],
  ['version "1"', JSON.stringify({ version: '1', clusterId: 'c', dbs: {} }), /version: expected 1/],
  [
    'clusterId number',
    JSON.stringify({ version: 1, clusterId: 5, dbs: {} }),
    /clusterId: expected a string, got number/,
  ],
  [
    'no dbs',
    JSON.stringify({ version: 1, clusterId: 'c' }),
    /dbs: expected an object, got undefined/,
  ],
  [
    'dbs array',
    JSON.stringify({ version: 1, clusterId: 'c', dbs: [] }),
    /dbs: expected an object, got array/,
  ],
  [
    'unknown top key',
    JSON.stringify({ version: 1, clusterId: 'c', dbs: {}, extra: 1 }),
    /unknown key "extra"/,
  ],
  [
    'db entry not object',
    JSON.stringify({ version: 1, clusterId: 'c', dbs: { a: 5 } }),
    /dbs\["a"\]: expected an object, got number/,
  ],
  [
    'empty db name',
    JSON.stringify({ version: 1, clusterId: 'c', dbs: { '': ENTRY } }),
    /empty database name/,
  ],
  [
    'txid number',
    JSON.stringify({ version: 1, clusterId: 'c', dbs: { a: { ...ENTRY, txid: 5 } } }),
    /dbs\["a"\]\.txid: expected 16 lowercase hex chars, got 5/,
  ],
  [
    'txid short',
    JSON.stringify({ version: 1, clusterId: 'c', dbs: { a: { ...ENTRY, txid: '3bf5ac' } } }),
    /txid: expected 16 lowercase hex/,
  ],
  [
    'txid upper case',
    JSON.stringify({
      version: 1,
      clusterId: 'c',
      dbs: { a: { ...ENTRY, txid: '00000000003BF5AC' } },
    }),
    /txid: expected 16 lowercase hex/,
  ],
  [
    'txid 17 digits',
    JSON.stringify({
      version: 1,
      clusterId: 'c',
      dbs: { a: { ...ENTRY, txid: '10000000000000000' } },
    }),
    /txid: expected 16 lowercase hex/,
  ],
  [
    'txid missing',
    JSON.stringify({ version: 1, clusterId: 'c', dbs: { a: { updatedAt: ENTRY.updatedAt } } }),
    /txid: expected 16 lowercase hex chars, got undefined/,
  ],
  [
    'updatedAt missing',
    JSON.stringify({ version: 1, clusterId: 'c', dbs: { a: { txid: ENTRY.txid } } }),
    /updatedAt: expected an ISO 8601 time, got undefined/,
  ],
  [
    'updatedAt not ISO',
    JSON.stringify({
      version: 1,
      clusterId: 'c',
      dbs: { a: { ...ENTRY, updatedAt: 'yesterday' } },
    }),
    /updatedAt: expected an ISO 8601 time/,
  ],
  [
    'updatedAt number',
    JSON.stringify({
      version: 1,
      clusterId: 'c',
      dbs: { a: { ...ENTRY, updatedAt: 1767793186000 } },
    }),
    /updatedAt: expected an ISO 8601 time/,
  ],
  [
    'updatedAt month 13',
    JSON.stringify({
      version: 1,
      clusterId: 'c',
      dbs: { a: { ...ENTRY, updatedAt: '2026-13-01T00:00:00Z' } },
    }),
    /updatedAt: expected an ISO 8601 time/,
  ],
  [
    'retired not hex',
    JSON.stringify({ version: 1, clusterId: 'c', dbs: { a: { ...ENTRY, retired: 220 } } }),
    /dbs\["a"\]\.retired: expected 16 lowercase hex chars, got 220/,
  ],
  [
    'unknown db key',
    JSON.stringify({ version: 1, clusterId: 'c', dbs: { a: { ...ENTRY, checksum: 'x' } } }),
    /dbs\["a"\]: unknown key "checksum"/,
  ],
];

t.test('wrong shapes are corrupt: moved aside, with an error saying what was wrong', async (t) => {
  const dir = tmpDir(t);
  for (const [name, text, error] of wrongShapes) {
    const path = join(dir, `${name.replace(/\W+/g, '-')}.json`);
    writeFileSync(path, text);
    const res = await loadStateFile(path);
    t.match(res, { kind: 'corrupt', movedTo: `${path}.corrupt`, error }, name);
    t.equal(readFileSync(`${path}.corrupt`, 'utf8'), text, `${name}: content preserved`);
  }
});

t.test('accepted shapes', async (t) => {
  const ok = (updatedAt: string) =>
    parseStateFile(
      JSON.stringify({ version: 1, clusterId: '', dbs: { a: { ...ENTRY, updatedAt } } }),
    ).ok;
  t.ok(ok('2026-01-07T13:39:46Z'), 'no fraction');
  t.ok(ok('2026-01-07T13:39:46.123456Z'), 'microseconds');
  t.ok(ok('2026-01-07T14:39:46+01:00'), 'offset');
  t.ok(parseStateFile('{"version":1,"clusterId":"c","dbs":{}}').ok, 'no dbs yet');
  t.ok(parseStateFile('\n  {"version":1,"clusterId":"c","dbs":{}}\n').ok, 'whitespace');
});

t.test('unreadable: a directory at the path is reported and left in place', async (t) => {
  const path = join(tmpDir(t), 'state.json');
  mkdirSync(path);
  const res = await loadStateFile(path);
  t.match(res, { kind: 'unreadable', error: /EISDIR/ });
  t.match(res.kind === 'unreadable' && res.error, path);
  t.same(readdirSync(path), [], 'still there, not moved');
});

t.test('unreadable: EACCES (as nobody when root), reported and left in place', async (t) => {
  const dir = tmpDir(t);
  const path = join(dir, 'state.json');
  writeFileSync(path, '{}');
  chmodSync(path, 0);
  openUpTo(dir, dir);
  const res = await asNobody(async () => {
    t.throws(() => readFileSync(path), { code: 'EACCES' }, 'really denied');
    return loadStateFile(path);
  });
  t.match(res, { kind: 'unreadable', error: /EACCES/ });
  t.same(readdirSync(dir), ['state.json'], 'not moved aside: it may be fine, only unreadable');
});

t.test('write leaves no temp file and creates missing parents with mode 0755', async (t) => {
  const root = tmpDir(t);
  const dir = join(root, 'a', 'b');
  const path = join(dir, 'state.json');
  const old = process.umask(0o022);
  t.teardown(() => {
    process.umask(old);
  });
  await writeStateFile(path, hwm({ 'sqlite.db': 9n }));
  t.same(readdirSync(dir), ['state.json']);
  t.equal((await fsp.stat(dir)).mode & 0o777, 0o755);
  t.equal((await fsp.stat(join(root, 'a'))).mode & 0o777, 0o755);
  t.equal((await loadStateFile(path)).kind, 'ok');
});

t.test('concurrent writes are serialised and coalesced; the last content wins', async (t) => {
  const path = join(tmpDir(t), 'state.json');
  const renamed: string[] = [];
  const { writeStateFile: write } = await t.mockImport<
    typeof import('../../src/state/state-file.js')
  >('../../src/state/state-file.js', {
    '../../src/system/disk.js': {
      ...disk,
      // Each replaced file, as it stands once the rename is done (writes are serialised).
      replaceFile: async (...args: Parameters<typeof disk.replaceFile>) => {
        const done = await disk.replaceFile(...args);
        if (args[0] === path) renamed.push(JSON.parse(readFileSync(path, 'utf8')).dbs.a.txid);
        return done;
      },
    },
  });
  const writes = [];
  for (let i = 1n; i <= 10n; i++) writes.push(write(path, hwm({ a: i })));
  await Promise.all(writes);
  t.same(renamed, ['0000000000000001', '000000000000000a'], 'the first, then only the latest');
  const loaded = await loadStateFile(path);
  t.equal(loaded.kind === 'ok' && loaded.file.dbs.a?.txid, 10n);
  t.same(readdirSync(join(path, '..')), ['state.json'], 'no temp file left');

  // Idle again: the next call writes at once.
  await write(path, hwm({ a: 11n }));
  t.same(renamed.at(-1), '000000000000000b');
});

t.test('the content is snapshotted at call time', async (t) => {
  const path = join(tmpDir(t), 'state.json');
  const file = hwm({ a: 1n });
  const p = writeStateFile(path, file);
  file.dbs.a = { txid: 99n, updatedAt: '2026-01-07T13:39:46Z' };
  await p;
  const loaded = await loadStateFile(path);
  t.equal(loaded.kind === 'ok' && loaded.file.dbs.a?.txid, 1n);
});

t.test('write failures reject with the path and the errno, and leave no temp file', async (t) => {
  const dir = tmpDir(t);

  const isDir = join(dir, 'is-a-dir');
  mkdirSync(isDir);
  const e1 = await writeStateFile(isDir, hwm({ a: 1n })).catch((err: unknown) => err);
  t.type(e1, Error);
  t.match(e1, { code: 'EISDIR', message: /cannot write state file .*is-a-dir: renaming .*EISDIR/ });
  t.same(readdirSync(dir), ['is-a-dir'], 'temp file removed');

  const fileParent = join(dir, 'plain-file');
  writeFileSync(fileParent, '');
  const e2 = await writeStateFile(join(fileParent, 'state.json'), hwm({ a: 1n })).catch(
    (err: unknown) => err,
  );
  t.match(e2, { code: /ENOTDIR|EEXIST/, message: /plain-file\/state\.json: creating directory/ });

  // Coalesced callers share the outcome of the write that carried their content.
  const both = await Promise.allSettled([
    writeStateFile(isDir, hwm({ a: 1n })),
    writeStateFile(isDir, hwm({ a: 2n })),
  ]);
  t.same(
    both.map((r) => r.status),
    ['rejected', 'rejected'],
  );
});

t.test('content that could not be read back is refused before touching the disk', async (t) => {
  const dir = tmpDir(t);
  const path = join(dir, 'state.json');
  await t.rejects(
    writeStateFile(path, hwm({ a: 1n << 64n })),
    /invalid content: txid must be a uint64/,
  );
  const bad = hwm({ a: 1n });
  bad.dbs.a = { txid: 1n, updatedAt: 'now' };
  await t.rejects(writeStateFile(path, bad), /invalid content: .*updatedAt/);
  t.same(readdirSync(dir), []);
});

t.test('sameFilesystem', async (t) => {
  const dir = tmpDir(t);
  mkdirSync(join(dir, 'data'));
  t.equal(await sameFilesystem(join(dir, 'data'), join(dir, 'state.json')), true, 'new file');
  t.equal(await sameFilesystem(join(dir, 'x', 'y'), join(dir, 'data')), true, 'missing parents');
  t.equal(await sameFilesystem('/proc', dir), false, '/proc is its own filesystem');

  symlinkSync('loop-b', join(dir, 'loop-a'));
  symlinkSync('loop-a', join(dir, 'loop-b'));
  t.equal(await sameFilesystem(join(dir, 'loop-a'), dir), undefined, 'ELOOP: cannot tell');
});
