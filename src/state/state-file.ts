// The high-water-mark file (docs/design.md section 3, S10): the largest TXID this node has seen per
// db in one cluster. It is what lets a node notice that its database went backwards (S2) after
// the volume was replaced or LiteFS's data dir was wiped, so losing or misreading it must
// never look like "no risk": a damaged file is reported and kept aside, and the node falls back
// to "no HWM" with peers still applying (S10). It lives outside LiteFS's mount and data dir
// (S12).

import { readFile, rename } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { HwmFile, HwmLoad } from '../core/hwm-types.js';
import type { ParseResult } from '../core/litefs-types.js';
import { formatTxid } from '../core/parse.js';
import { isRecord, kindOf, showValue } from '../core/values.js';
import {
  describeFsError,
  errorCode,
  type ReplaceFileError,
  replaceFile,
  statNearest,
} from '../system/disk.js';

// --- load ------------------------------------------------------------------------------------

/** The state file's text, or why there is none (ENOENT: `missing`; any other error: `unreadable`). */
export async function readStateFileText(
  path: string,
): Promise<
  { kind: 'text'; text: string } | { kind: 'missing' } | { kind: 'unreadable'; error: string }
> {
  try {
    return { kind: 'text', text: await readFile(path, 'utf8') };
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return { kind: 'missing' };
    return { kind: 'unreadable', error: `reading state file ${path}: ${describeFsError(err)}` };
  }
}

/**
 * Reads and strictly parses the state file. Never throws (S10):
 * - ENOENT -> `missing` (a new node, or a new volume);
 * - bad JSON or wrong shape -> renamed to `<path>.corrupt` (replacing an older one, so only the
 *   latest evidence is kept and the directory cannot fill up) and `corrupt`;
 * - any other read error (EACCES, EIO, EISDIR...) -> `unreadable`, the file left in place: it
 *   may be fine and only temporarily out of reach.
 */
export async function loadStateFile(path: string): Promise<HwmLoad> {
  const read = await readStateFileText(path);
  if (read.kind !== 'text') return read;
  const text = read.text;
  const parsed = parseStateFile(text);
  if (parsed.ok) return { kind: 'ok', file: parsed.value };
  const error = `state file ${path} is corrupt: ${parsed.error}`;
  const movedTo = `${path}.corrupt`;
  try {
    // rename(2) replaces an existing `.corrupt` atomically.
    await rename(path, movedTo);
    return { kind: 'corrupt', error, movedTo };
  } catch (err) {
    return {
      kind: 'corrupt',
      error: `${error}; could not move it to ${movedTo}: ${describeFsError(err)}`,
      movedTo: undefined,
    };
  }
}

const TOP_KEYS = new Set(['version', 'clusterId', 'dbs']);
const DB_KEYS = new Set(['txid', 'updatedAt', 'retired']);
// `%016x`, like LiteFS prints TXIDs (docs/litefs-facts.md): a uint64 does not fit a JSON number exactly.
const HEX16 = /^[0-9a-f]{16}$/;
// What Date.prototype.toISOString writes, also accepting an explicit offset and no fraction.
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Parses the file's text strictly (docs/design.md section 12, point 5): version 1, a string cluster ID, and a
 * map of db name -> `{ txid: "<16 lowercase hex>", updatedAt: "<ISO 8601>" }` (plus `retired`,
 * 16 hex, only after a history-lost primary retired its mark: S13); unknown keys
 * are errors. A file this version cannot fully understand must not be half-trusted: a
 * misread HWM could let an empty database through (S2).
 */
export function parseStateFile(text: string): ParseResult<HwmFile> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    return fail(`expected JSON, got ${showValue(text)} (${(err as Error).message})`);
  }
  if (!isRecord(body)) return fail(`expected a JSON object, got ${kindOf(body)}`);
  for (const key of Object.keys(body)) {
    if (!TOP_KEYS.has(key)) return fail(`unknown key ${showValue(key)}`);
  }
  if (body.version !== 1) return fail(`version: expected 1, got ${showValue(body.version)}`);
  if (typeof body.clusterId !== 'string') {
    return fail(`clusterId: expected a string, got ${kindOf(body.clusterId)}`);
  }
  if (!isRecord(body.dbs)) return fail(`dbs: expected an object, got ${kindOf(body.dbs)}`);
  const dbs: [string, HwmFile['dbs'][string]][] = [];
  for (const [name, entry] of Object.entries(body.dbs)) {
    const where = `dbs[${showValue(name)}]`;
    if (name === '') return fail('dbs: empty database name');
    if (!isRecord(entry)) return fail(`${where}: expected an object, got ${kindOf(entry)}`);
    for (const key of Object.keys(entry)) {
      if (!DB_KEYS.has(key)) return fail(`${where}: unknown key ${showValue(key)}`);
    }
    const { txid, updatedAt } = entry;
    if (typeof txid !== 'string' || !HEX16.test(txid)) {
      return fail(`${where}.txid: expected 16 lowercase hex chars, got ${showValue(txid)}`);
    }
    if (
      typeof updatedAt !== 'string' ||
      !ISO.test(updatedAt) ||
      Number.isNaN(Date.parse(updatedAt))
    ) {
      return fail(`${where}.updatedAt: expected an ISO 8601 time, got ${showValue(updatedAt)}`);
    }
    const { retired } = entry;
    if (retired !== undefined && (typeof retired !== 'string' || !HEX16.test(retired))) {
      return fail(`${where}.retired: expected 16 lowercase hex chars, got ${showValue(retired)}`);
    }
    dbs.push([
      name,
      {
        txid: BigInt(`0x${txid}`),
        updatedAt,
        ...(retired === undefined ? {} : { retired: BigInt(`0x${retired}`) }),
      },
    ]);
  }
  // fromEntries defines own properties, so a db named "__proto__" stays a plain key.
  return {
    ok: true,
    value: { version: 1, clusterId: body.clusterId, dbs: Object.fromEntries(dbs) },
  };
}

/** The file's text: stable (db names sorted) and readable by `cat` during an incident. */
export function formatStateFile(file: HwmFile): string {
  const dbs: Record<string, { txid: string; updatedAt: string; retired?: string }> = {};
  for (const name of Object.keys(file.dbs).sort()) {
    const entry = file.dbs[name];
    if (entry === undefined) continue;
    Object.defineProperty(dbs, name, {
      value: {
        txid: formatTxid(entry.txid),
        updatedAt: entry.updatedAt,
        ...(entry.retired === undefined ? {} : { retired: formatTxid(entry.retired) }),
      },
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return `${JSON.stringify({ version: file.version, clusterId: file.clusterId, dbs }, null, 2)}\n`;
}

// --- write -----------------------------------------------------------------------------------

interface Job {
  path: string;
  text: string;
  waiters: { resolve: () => void; reject: (err: Error) => void }[];
}

interface Queue {
  busy: boolean;
  next: Job | undefined;
}

// One queue per target file, removed when idle. Writes to one file must not overlap: they
// share the temp name `<path>.tmp-<pid>`, and an older write finishing last would put an older
// HWM on disk.
const queues = new Map<string, Queue>();

/**
 * Writes the file atomically (docs/design.md section 3): `<path>.tmp-<pid>` in the same directory,
 * fsync, rename over `path`, fsync the directory, so a crash leaves the old file or the new
 * one, never a torn one (which S10 would then have to move aside, losing the HWM). Creates the
 * parent directory (0755) if missing.
 *
 * Calls for one path are serialised and coalesced: while a write is in flight, later calls wait
 * and only the latest content among them is written; each of them settles with that write.
 * Rejects with an Error naming the path, the step and the errno (`code` is set); the caller
 * logs it, nothing crashes.
 */
export function writeStateFile(path: string, file: HwmFile): Promise<void> {
  let text: string;
  try {
    // Snapshot now: the caller may keep mutating its HwmFile while a write is in flight.
    text = formatStateFile(file);
    // Never write what loadStateFile would move aside as corrupt.
    const check = parseStateFile(text);
    if (!check.ok) throw new Error(check.error);
  } catch (err) {
    return Promise.reject(
      new Error(`not writing state file ${path}: invalid content: ${(err as Error).message}`, {
        cause: err,
      }),
    );
  }
  const key = resolve(path);
  let queue = queues.get(key);
  if (queue === undefined) {
    queue = { busy: false, next: undefined };
    queues.set(key, queue);
  }
  const q = queue;
  return new Promise<void>((resolvePromise, reject) => {
    const waiter = { resolve: resolvePromise, reject };
    if (q.next === undefined) q.next = { path, text, waiters: [waiter] };
    else {
      q.next.path = path;
      q.next.text = text;
      q.next.waiters.push(waiter);
    }
    if (!q.busy) void pump(key, q);
  });
}

async function pump(key: string, q: Queue): Promise<void> {
  q.busy = true;
  while (q.next !== undefined) {
    const job = q.next;
    q.next = undefined;
    try {
      await writeAtomically(job.path, job.text);
      for (const w of job.waiters) w.resolve();
    } catch (err) {
      for (const w of job.waiters) w.reject(err as Error);
    }
  }
  q.busy = false;
  queues.delete(key);
}

async function writeAtomically(path: string, text: string): Promise<void> {
  try {
    await replaceFile(
      path,
      { tmp: `${path}.tmp-${process.pid}`, dirMode: 0o755, fileMode: 0o644 },
      async (fh, step) => {
        step(`writing ${path}.tmp-${process.pid}`);
        await fh.writeFile(text, 'utf8');
        return { ok: true, value: undefined };
      },
    );
  } catch (err) {
    const e = err as ReplaceFileError;
    throw Object.assign(
      new Error(`cannot write state file ${path}: ${e.message}`, { cause: e.cause }),
      {
        code: e.code,
      },
    );
  }
}

// --- placement -------------------------------------------------------------------------------

/**
 * Whether two paths (each, or its nearest existing ancestor) are on the same filesystem, by
 * `stat().dev`. The HWM only protects while it shares a volume with LiteFS's data dir: a fresh
 * volume paired with an old state file, or an old volume with a fresh one, defeats it, so the
 * caller warns on `false`. Undefined when either cannot be stat'ed (EACCES, EIO).
 * Bind mounts of one filesystem compare equal; btrfs subvolumes compare different.
 */
export async function sameFilesystem(a: string, b: string): Promise<boolean | undefined> {
  const [sa, sb] = await Promise.all([
    statNearest(a).catch(() => undefined),
    statNearest(b).catch(() => undefined),
  ]);
  if (sa === undefined || sb === undefined) return undefined;
  return sa.stats.dev === sb.stats.dev;
}

// --- helpers ---------------------------------------------------------------------------------

const fail = <T>(error: string): ParseResult<T> => ({ ok: false, error });
