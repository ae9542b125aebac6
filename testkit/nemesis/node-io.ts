// What the nemesis (testkit/nemesis/runner.ts) does to and reads from one real LiteFS node
// beyond what testkit/real-litefs.ts offers: its processes by pid (kill -9 of LiteFS or of its
// exec command), a dead FUSE mount unmounted, the operator mistakes on its data dir, its
// acknowledged keys and TXID, and whether it passes the checks Fly routes by.

import { execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  truncateSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { LitefsNode } from '../real-litefs.js';

export const DB = 'app.db';

/** GET a URL; the status, or 0 when there was no answer within the timeout. */
export async function httpStatus(url: string, timeoutMs = 1000): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** LiteFS's /info isPrimary, or undefined without an answer. */
export async function isPrimary(n: LitefsNode, timeoutMs = 1000): Promise<boolean | undefined> {
  try {
    const res = await fetch(`${n.url}/info`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json()) as { isPrimary?: unknown };
    return body.isPrimary === true;
  } catch {
    return undefined;
  }
}

/** The db's TXID from LiteFS's /debug/vars (`store.dbs.<db>.txid`, hex), or undefined. */
export async function txidOf(n: LitefsNode, timeoutMs = 1000): Promise<number | undefined> {
  try {
    const res = await fetch(`${n.url}/debug/vars`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json()) as { store?: { dbs?: Record<string, { txid?: string }> } };
    const hex = body.store?.dbs?.[DB]?.txid;
    return hex === undefined ? 0 : Number.parseInt(hex, 16);
  } catch {
    return undefined;
  }
}

/**
 * The first bytes of a small file. Not readFileSync: it sizes its buffer from the file's size,
 * and a FUSE mount whose LiteFS is dying can report any size (a nemesis run died in there).
 */
export function readSmall(file: string, max = 64): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(max);
    const n = readSync(fd, buf, 0, max, 0);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** A replica's `.lag` in ms while it follows a primary (`.primary` present), else undefined. */
export function lagOf(n: LitefsNode): number | undefined {
  try {
    if (!existsSync(join(n.mountDir, '.primary'))) return undefined;
    const v = Number(readSmall(join(n.mountDir, '.lag')).trim());
    // +2147483647: not yet caught up at all (not a lag).
    return Number.isFinite(v) && v >= 0 && v < 2147483647 ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the node passes what Fly routes by and a deploy waits for: with the supervisor its
 * /health and the app's /healthz through LiteFS's proxy (fly.example.toml), with the exec block
 * the latter alone.
 */
export async function passesChecks(n: LitefsNode, supervised: boolean): Promise<boolean> {
  if (!n.running()) return false;
  if (supervised && (await httpStatus(`${n.healthUrl}/health`)) !== 200) return false;
  return (await httpStatus(`${n.proxyUrl}/healthz`)) === 200;
}

/** Keys of the `writes` table in a SQLite file: empty when the file or table is missing. */
export function keysInFile(file: string): Set<string> {
  if (!existsSync(file)) return new Set();
  const conn = new Database(file, { readonly: true, fileMustExist: true, timeout: 3000 });
  try {
    const has = conn
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'writes'")
      .pluck()
      .get();
    if (!has) return new Set();
    return new Set(conn.prepare('SELECT key FROM writes').pluck().all() as string[]);
  } finally {
    conn.close();
  }
}

/**
 * The keys in LiteFS's own copy of the database (`<data.dir>/dbs/<db>/database`), read-only:
 * what the node holds even when its mount cannot be read (a failed commit left a journal that a
 * read-only connection cannot roll back). Undefined when unreadable.
 */
export function keysOnDisk(n: LitefsNode): Set<string> | undefined {
  try {
    return keysInFile(join(n.dataDir, 'dbs', DB, 'database'));
  } catch {
    return undefined;
  }
}

/**
 * The node's keys: through its mount while LiteFS runs, from its data dir's copy while it is
 * stopped. Undefined when they cannot be read now (a mount going away, a database being
 * replaced): a sample that is missing, never an empty one.
 */
export function keysOf(n: LitefsNode): Set<string> | undefined {
  try {
    if (n.running()) {
      if (!n.mounted()) return undefined;
      const file = join(n.mountDir, DB);
      // A zero-length file is LiteFS rebuilding the db from its LTX files (a truncated file),
      // not an empty database: an emptied one still has its header.
      if (existsSync(file) && statSync(file).size === 0) return undefined;
      return keysInFile(file);
    }
    return keysInFile(join(n.dataDir, 'dbs', DB, 'database'));
  } catch {
    return undefined;
  }
}

function isMounted(dir: string): boolean {
  try {
    const target = resolve(dir);
    return readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .some((line) => line.split(' ')[1] === target);
  } catch {
    return false;
  }
}

/** Unmounts a mount left behind by a LiteFS that died (kill -9): the next start needs the dir. */
export function unmountDead(n: LitefsNode): void {
  if (!isMounted(n.mountDir)) return;
  try {
    execFileSync('fusermount3', ['-uz', n.mountDir], { stdio: 'ignore' });
  } catch {}
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

function ppid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** The pid of this node's `litefs mount -config <its litefs.yml>`, if it runs. */
export function litefsPid(n: LitefsNode): number | undefined {
  return allPids().find((pid) => {
    const args = cmdline(pid);
    return args.includes('mount') && args.includes(n.configPath);
  });
}

/** The pid of LiteFS's exec command (the supervisor, or the app with the exec block). */
export function execPid(n: LitefsNode): number | undefined {
  const parent = litefsPid(n);
  if (parent === undefined) return undefined;
  // The last exec entry runs in the background for the rest of LiteFS's life: the newest child.
  const children = allPids().filter((pid) => ppid(pid) === parent);
  return children.sort((a, b) => b - a)[0];
}

/** `rm -rf <data.dir>/dbs/<db>`. */
export function removeDb(n: LitefsNode): void {
  rmSync(join(n.dataDir, 'dbs', DB), { recursive: true, force: true });
}

/** `rm <data.dir>/dbs/<db>/ltx/*`; how many files went. */
export function removeLtx(n: LitefsNode): number {
  const dir = join(n.dataDir, 'dbs', DB, 'ltx');
  if (!existsSync(dir)) return 0;
  const files = readdirSync(dir);
  for (const f of files) rmSync(join(dir, f), { force: true });
  return files.length;
}

/** The database file truncated to zero bytes (its LTX files stay). */
export function truncateDb(n: LitefsNode): boolean {
  const file = join(n.dataDir, 'dbs', DB, 'database');
  if (!existsSync(file)) return false;
  truncateSync(file, 0);
  return true;
}

/** The whole volume: LiteFS's data dir and the supervisor's state file next to it. */
export function wipeVolume(n: LitefsNode): void {
  for (const f of existsSync(n.dataDir) ? readdirSync(n.dataDir) : []) {
    rmSync(join(n.dataDir, f), { recursive: true, force: true });
  }
  rmSync(n.stateFile, { force: true });
}

/** The supervisor's state file deleted. */
export function removeState(n: LitefsNode): boolean {
  const had = existsSync(n.stateFile);
  rmSync(n.stateFile, { force: true });
  return had;
}
