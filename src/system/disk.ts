// Free space of a filesystem (S8 backups, S9 disk guard), plus the small filesystem helpers the
// state file and backups share. The FUSE mount does not report real free space (docs/design.md S9),
// so callers pass the LiteFS data dir or the backup dir. diskSpace never throws: a failed
// measurement is a `{ ok: false }` value the caller can report.

import type { Stats } from 'node:fs';
import { type FileHandle, mkdir, open, rename, rm, stat, statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { DiskSpace } from '../core/observation.js';

/**
 * `stat()` of `path`, or of its nearest existing ancestor when it does not exist yet (a backup
 * dir or state file that will be created on first write lives on its ancestor's filesystem).
 * Other errors (EACCES, EIO, ELOOP) are thrown: they say nothing about where the path would live.
 */
export async function statNearest(path: string): Promise<{ path: string; stats: Stats }> {
  let current = resolve(path);
  for (;;) {
    try {
      return { path: current, stats: await stat(current) };
    } catch (err) {
      const code = errorCode(err);
      const parent = dirname(current);
      // ENOTDIR: a component is a file, so the path cannot exist; its ancestor still can.
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || parent === current) throw err;
      current = parent;
    }
  }
}

/**
 * Free and total bytes of the filesystem holding `path` (or its nearest existing ancestor).
 * Free is what an unprivileged writer may use (`f_bavail`), not `f_bfree`: the blocks reserved
 * for root are not ours to count on. `path` in the result is the one asked about.
 */
export async function diskSpace(path: string): Promise<DiskSpace> {
  try {
    const { path: measured } = await statNearest(path);
    // bigint: blocks * bsize can pass 2^53 on a big volume before it is narrowed.
    const s = await statfs(measured, { bigint: true });
    return {
      ok: true,
      path,
      freeBytes: Number(s.bavail * s.bsize),
      totalBytes: Number(s.blocks * s.bsize),
    };
  } catch (err) {
    return { ok: false, path, error: `free space of ${path}: ${describeFsError(err)}` };
  }
}

/** `err.code` of a Node system error, if any. */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A system error's message, which Node already prefixes with the errno name (`EACCES: ...`). */
export function describeFsError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = errorCode(err);
  return code !== undefined && !err.message.includes(code)
    ? `${code}: ${err.message}`
    : err.message;
}

/**
 * fsync a directory, making a rename in it durable: without it a power cut can bring back the
 * old directory entry. Some filesystems (certain FUSE and network mounts) cannot fsync a
 * directory at all (EINVAL); the rename is then as durable as that filesystem makes it, and
 * failing would only stop every later write for good.
 */
export async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch (err) {
    const code = errorCode(err);
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
  } finally {
    await fh.close().catch(() => {});
  }
}

/** What a `replaceFile` filler gives: a value to keep the file with, or why to drop it. */
export type Filled<T> = { ok: true; value: T } | { ok: false; error: string };

/** A failed step of `replaceFile`: the step (`renaming a to b`) and the system error. */
export class ReplaceFileError extends Error {
  readonly code: string | undefined;
  constructor(step: string, cause: unknown) {
    super(`${step}: ${describeFsError(cause)}`, { cause });
    this.code = errorCode(cause);
  }
}

/**
 * Writes `path` whole or not at all: `fill` writes a temp file beside it (`tmp`), which is
 * fsynced, renamed over `path`, and the directory fsynced. When `fill` says no, or any step
 * fails, the temp file is removed and `path` is as it was. `fill` names its own steps through
 * `step` so that the error says which one failed. Throws ReplaceFileError.
 */
export async function replaceFile<T>(
  path: string,
  o: { tmp: string; dirMode: number; fileMode: number },
  fill: (fh: FileHandle, step: (what: string) => void) => Promise<Filled<T>>,
): Promise<Filled<T>> {
  const dir = dirname(resolve(path));
  let step = `creating directory ${dir}`;
  let tmpCreated = false;
  try {
    await mkdir(dir, { recursive: true, mode: o.dirMode });
    step = `opening ${o.tmp}`;
    const fh = await open(o.tmp, 'w', o.fileMode);
    tmpCreated = true;
    let filled: Filled<T>;
    try {
      filled = await fill(fh, (what) => {
        step = what;
      });
      if (filled.ok) {
        step = `fsync ${o.tmp}`;
        await fh.sync();
      }
    } finally {
      // After the fsync the bytes are on disk: a failing close loses nothing.
      await fh.close().catch(() => {});
    }
    if (!filled.ok) {
      await rm(o.tmp, { force: true }).catch(() => {});
      tmpCreated = false;
      return filled;
    }
    step = `renaming ${o.tmp} to ${path}`;
    await rename(o.tmp, path);
    tmpCreated = false;
    step = `fsync directory ${dir}`;
    await syncDirectory(dir);
    return filled;
  } catch (err) {
    if (tmpCreated) await rm(o.tmp, { force: true }).catch(() => {});
    throw new ReplaceFileError(step, err);
  }
}
