import {
  mkdirSync,
  readdirSync,
  readFileSync,
  statfsSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { freePercent } from '../../src/core/observation.js';
import {
  diskSpace,
  ReplaceFileError,
  replaceFile,
  statNearest,
  syncDirectory,
} from '../../src/system/disk.js';
import { tmpDir } from '../helpers/wait.js';

t.test('diskSpace of an existing dir: bavail and blocks times bsize', async (t) => {
  const dir = tmpDir(t);
  const d = await diskSpace(dir);
  t.match(d, { ok: true, path: dir });
  if (!d.ok) return;
  const s = statfsSync(dir);
  t.equal(d.totalBytes, s.blocks * s.bsize);
  t.ok(d.totalBytes > 0);
  t.ok(d.freeBytes >= 0 && d.freeBytes <= d.totalBytes);
});

t.test('a path that does not exist yet is measured at its nearest existing ancestor', async (t) => {
  const dir = tmpDir(t);
  const missing = join(dir, 'backups', 'not', 'yet');
  const d = await diskSpace(missing);
  const here = await diskSpace(dir);
  t.match(d, { ok: true, path: missing }, 'reports the path asked about');
  t.equal(d.ok && d.totalBytes, here.ok && here.totalBytes);
  t.equal((await statNearest(missing)).path, dir);

  writeFileSync(join(dir, 'file'), '');
  t.equal((await statNearest(join(dir, 'file', 'below'))).path, join(dir, 'file'), 'ENOTDIR');
});

t.test('errors are values, never throws', async (t) => {
  const dir = tmpDir(t);
  symlinkSync('b', join(dir, 'a'));
  symlinkSync('a', join(dir, 'b'));
  const d = await diskSpace(join(dir, 'a'));
  t.match(d, { ok: false, path: join(dir, 'a'), error: /free space of .*\/a: ELOOP/ });
});

t.test('freePercent', async (t) => {
  t.match(freePercent({ ok: true, path: '/x', freeBytes: 25, totalBytes: 200 }), {
    ok: true,
    pct: 12.5,
  });
  t.match(freePercent({ ok: true, path: '/x', freeBytes: 0, totalBytes: 200 }), {
    ok: true,
    pct: 0,
  });
  t.match(freePercent({ ok: true, path: '/proc', freeBytes: 0, totalBytes: 0 }), {
    ok: false,
    why: /size of 0 bytes/,
  });
  t.same(freePercent({ ok: false, path: '/x', error: 'EIO' }), { ok: false, why: 'EIO' });
  const proc = await diskSpace('/proc');
  t.equal(proc.ok && freePercent(proc).ok, false, '/proc has no size');
});

t.test('syncDirectory', async (t) => {
  const dir = tmpDir(t);
  mkdirSync(join(dir, 'd'));
  await t.resolves(syncDirectory(join(dir, 'd')));
  await t.rejects(syncDirectory(join(dir, 'missing')), { code: 'ENOENT' });
});

t.test('replaceFile: the file is replaced whole, or left as it was', async (t) => {
  const dir = tmpDir(t);
  const path = join(dir, 'sub', 'f.txt');
  const tmp = `${path}.tmp`;
  const modes = { tmp, dirMode: 0o700, fileMode: 0o600 };
  const wrote = await replaceFile(path, modes, async (fh, step) => {
    step('writing one');
    await fh.writeFile('one');
    return { ok: true, value: 3 };
  });
  t.same(wrote, { ok: true, value: 3 });
  t.equal(readFileSync(path, 'utf8'), 'one');
  t.equal(statSync(path).mode & 0o777, 0o600);

  // The filler says no: the old file stays, the temp file is gone.
  const refused = await replaceFile(path, modes, async (fh) => {
    await fh.writeFile('half');
    return { ok: false, error: 'copy broke' };
  });
  t.same(refused, { ok: false, error: 'copy broke' });
  t.equal(readFileSync(path, 'utf8'), 'one');
  t.same(readdirSync(join(dir, 'sub')), ['f.txt']);

  // A failing step throws with the step's name; the old file stays, no temp file.
  const err = await replaceFile(path, modes, async (_fh, step) => {
    step('writing two');
    throw Object.assign(new Error('no space'), { code: 'ENOSPC' });
  }).catch((e: unknown) => e);
  t.ok(err instanceof ReplaceFileError);
  t.match(err, { code: 'ENOSPC', message: /^writing two: / });
  t.equal(readFileSync(path, 'utf8'), 'one');
  t.same(readdirSync(join(dir, 'sub')), ['f.txt']);
});
