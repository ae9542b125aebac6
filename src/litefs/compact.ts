// Compaction's I/O (docs/design.md, "Compaction"): measure a db through the mount, write the
// compacted copy with `VACUUM INTO` (sqlite3, the database opened read-only through the mount) into
// the compaction dir, check it, and replace the database through LiteFS's own import
// (POST /import?name=). Never writes into LiteFS's data dir or the mount: the copy lives on the
// data volume beside the data dir, and only LiteFS's import changes the database (S12). Every
// outcome is a value; nothing here throws.

import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { readdir, readFile, realpath, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { CompactIo, CompactIoResult, CompactMeasure, PeerRoom } from '../core/compact.js';
import type { DiskSpace } from '../core/observation.js';
import { parsePos } from '../core/parse.js';
import { describeFsError, diskSpace } from '../system/disk.js';
import { backupDb } from './backup.js';
import type { LitefsClient } from './client.js';

/** The copy's name: a leftover of a crash is found (and removed) by it at the next start. */
export const COPY_PREFIX = '.litefs-supervisor-compact.';

export interface CompactorOptions {
  client: LitefsClient;
  mountDir: string;
  dataDir: string | undefined;
  /** --compact-dir; default the data dir's parent. */
  compactDir: string | undefined;
  sqlite3: string;
  backupKeep: number;
  /** The peers' room (their supervisors' /status `disk`). */
  peerRoom: () => Promise<PeerRoom[]>;
  now: () => number;
  /** How long the import's answer may take. */
  importTimeoutMs: number;
}

/** A running sqlite3 and its end. */
interface Run {
  kill(): void;
}

export class Compactor {
  #running: Run | undefined;
  #cancelled = false;
  #inFlight: Promise<unknown> = Promise.resolve();
  /** Copies written and not imported or removed yet. */
  readonly #copies = new Set<string>();

  constructor(private readonly o: CompactorOptions) {}

  /** Where the copies go, checked: outside the data dir and the mount, on the data volume. */
  async dir(): Promise<{ ok: true; dir: string } | { ok: false; error: string }> {
    const { dataDir, mountDir } = this.o;
    const wanted =
      this.o.compactDir ?? (dataDir === undefined ? undefined : dirname(resolve(dataDir)));
    if (wanted === undefined) {
      return {
        ok: false,
        error:
          'no LiteFS data dir known: pass --compact-dir DIR (on the data volume) or --data-dir',
      };
    }
    let dir: string;
    try {
      dir = await realpath(wanted);
    } catch (err) {
      return { ok: false, error: `--compact-dir ${wanted}: ${describeFsError(err)}` };
    }
    for (const [what, p] of [
      ['the LiteFS data dir', dataDir],
      ['the LiteFS mount', mountDir],
    ] as const) {
      if (p === undefined) continue;
      const inside = await realpath(p).then(
        (real) => isWithin(dir, real),
        () => isWithin(dir, resolve(p)),
      );
      if (inside) {
        return {
          ok: false,
          error: `--compact-dir ${dir} is inside ${what} (${p}): a file there is LiteFS's (in the mount it becomes a replicated database); choose a directory beside it on the same volume`,
        };
      }
    }
    if (dataDir !== undefined) {
      const [a, b] = await Promise.all([
        stat(dir).catch(() => undefined),
        stat(dataDir).catch(() => undefined),
      ]);
      if (a && b && a.dev !== b.dev) {
        return {
          ok: false,
          error: `--compact-dir ${dir} is not on the data volume (the volume of ${dataDir}): the room compaction measures would not be the room it uses`,
        };
      }
    }
    return { ok: true, dir };
  }

  /** Removes copies a crash left behind (at the start). Returns the paths removed. */
  async cleanLeftovers(): Promise<string[]> {
    const d = await this.dir();
    if (!d.ok) return [];
    const names = await readdir(d.dir).catch(() => [] as string[]);
    const removed: string[] = [];
    for (const n of names) {
      if (!n.startsWith(COPY_PREFIX)) continue;
      const p = join(d.dir, n);
      await rm(p, { force: true }).then(
        () => removed.push(p),
        () => undefined,
      );
    }
    return removed;
  }

  run(io: CompactIo): Promise<CompactIoResult> {
    this.#cancelled = false;
    const p = this.#run(io).catch(
      (err: unknown): CompactIoResult =>
        fallback(io, err instanceof Error ? err.message : String(err)),
    );
    this.#inFlight = p;
    return p;
  }

  /** Stops a running VACUUM INTO (its copy is removed); an import is never cut. */
  cancel(): void {
    this.#cancelled = true;
    this.#running?.kill();
  }

  /** Waits for the I/O in flight, then removes every copy not imported (at the supervisor's end). */
  async settle(): Promise<void> {
    await this.#inFlight;
    for (const p of [...this.#copies]) await this.#remove(p);
  }

  async #run(io: CompactIo): Promise<CompactIoResult> {
    switch (io.op) {
      case 'measure':
        return this.#measure(io.db, io.backupDir);
      case 'backup': {
        const r = await backupDb({
          client: this.o.client,
          db: io.db,
          txid: io.txid,
          dir: io.dir,
          keep: this.o.backupKeep,
          minFreeDiskPct: 0, // compaction's own room check counted the backup
          expectedBytes: io.expectedBytes,
          now: this.o.now,
        });
        return r.kind === 'written'
          ? { op: 'backup', ok: true, path: r.path, bytes: r.bytes }
          : { op: 'backup', ok: false, error: r.kind === 'failed' ? r.error : r.why };
      }
      case 'vacuum':
        return this.#vacuum(io.db);
      case 'import':
        return this.#import(io.db, io.path, io.txid, io.rows);
      case 'discard': {
        const error = await this.#remove(io.path);
        return error === undefined
          ? { op: 'discard', ok: true }
          : { op: 'discard', ok: false, error };
      }
    }
  }

  async #measure(db: string, backupDir: string | undefined): Promise<CompactIoResult> {
    const d = await this.dir();
    if (!d.ok) return { op: 'measure', ok: false, error: d.error };
    const file = join(this.o.mountDir, db);
    const q = await this.#sql(file, true, [
      'PRAGMA page_size;',
      'PRAGMA page_count;',
      'PRAGMA freelist_count;',
    ]);
    if (!q.ok) return { op: 'measure', ok: false, error: q.error };
    const [pageSize, pageCount, freePages] = q.lines.map(Number);
    if (
      !pageSize ||
      pageCount === undefined ||
      freePages === undefined ||
      Number.isNaN(pageCount + freePages)
    ) {
      return {
        op: 'measure',
        ok: false,
        error: `sqlite3 gave ${JSON.stringify(q.lines)} for page_size, page_count, freelist_count`,
      };
    }
    const [fileStat, disk, peers] = await Promise.all([
      stat(file).catch(() => undefined),
      diskSpace(d.dir),
      this.o.peerRoom(),
    ]);
    let backup: CompactMeasure['backup'];
    if (backupDir !== undefined) {
      const bdisk: DiskSpace = await diskSpace(backupDir);
      const [a, b] = await Promise.all([
        nearestDev(backupDir),
        stat(d.dir).then(
          (s) => s.dev,
          () => undefined,
        ),
      ]);
      backup = { dir: backupDir, disk: bdisk, sameVolume: a !== undefined && a === b };
    }
    return {
      op: 'measure',
      ok: true,
      measure: {
        pageSize,
        pageCount,
        freePages,
        fileBytes: fileStat?.size ?? pageSize * pageCount,
        dir: d.dir,
        disk,
        backup,
        peers,
      },
    };
  }

  async #vacuum(db: string): Promise<CompactIoResult> {
    const failed = (error: string): CompactIoResult => ({
      op: 'vacuum',
      ok: false,
      error,
      cancelled: this.#cancelled,
    });
    const d = await this.dir();
    if (!d.ok) return failed(d.error);
    const source = join(this.o.mountDir, db);
    const copy = join(d.dir, `${COPY_PREFIX}${db}.sqlite`);
    await this.#remove(copy); // VACUUM INTO refuses an existing file
    const before = await this.#txid(db);
    if (!before.ok) return failed(before.error);
    this.#copies.add(copy);
    const mode = await this.#sql(source, true, ['PRAGMA journal_mode;']);
    if (!mode.ok) return this.#drop(copy, failed(mode.error));
    const tables = await this.#sql(source, true, [TABLES_SQL]);
    if (!tables.ok) return this.#drop(copy, failed(tables.error));
    const counts = countStatements(tables.lines);
    const src = await this.#sql(source, true, [...counts, `VACUUM INTO ${sqlString(copy)};`]);
    if (this.#cancelled) return this.#drop(copy, failed('cancelled'));
    if (!src.ok) return this.#drop(copy, failed(`VACUUM INTO: ${src.error}`));
    const after = await this.#txid(db);
    if (!after.ok) return this.#drop(copy, failed(after.error));
    // WAL mode lives in the file's header and VACUUM INTO writes a rollback-journal file: keep the
    // mode the app chose (the Epic Stack runs WAL).
    const wal = mode.lines[0]?.toLowerCase() === 'wal';
    const check = await this.#sql(copy, false, [
      ...(wal ? ['PRAGMA journal_mode = WAL;'] : []),
      'PRAGMA integrity_check;',
      ...counts,
    ]);
    if (this.#cancelled) return this.#drop(copy, failed('cancelled'));
    if (!check.ok) return this.#drop(copy, failed(`checking the copy: ${check.error}`));
    const lines = wal ? check.lines.slice(1) : check.lines;
    if (lines[0] !== 'ok') {
      return this.#drop(
        copy,
        failed(`the copy's integrity_check says ${JSON.stringify(lines.slice(0, 3))}`),
      );
    }
    const rows = parseCounts(src.lines);
    const copyRows = parseCounts(lines.slice(1));
    const diff = diffCounts(rows, copyRows);
    if (diff)
      return this.#drop(copy, failed(`the copy's row counts differ from the database: ${diff}`));
    const size = await stat(copy).then(
      (s) => s.size,
      () => 0,
    );
    return {
      op: 'vacuum',
      ok: true,
      path: copy,
      bytes: size,
      txidBefore: before.txid,
      txidAfter: after.txid,
      rows,
    };
  }

  async #import(
    db: string,
    path: string,
    txid: bigint,
    rows: Record<string, number>,
  ): Promise<CompactIoResult> {
    const notImported = async (error: string): Promise<CompactIoResult> => {
      await this.#remove(path);
      return { op: 'import', ok: false, imported: false, error };
    };
    const now = await this.#txid(db);
    if (!now.ok) return notImported(now.error);
    if (now.txid !== txid) {
      return notImported(
        `another writer committed after the copy was checked (TXID ${hex(txid)} -> ${hex(now.txid)}); importing would lose its writes`,
      );
    }
    const res = await this.o.client.importDb(
      db,
      () => createReadStream(path),
      this.o.importTimeoutMs,
    );
    const after = await this.#txid(db);
    if (!res.ok) {
      // LiteFS imports whole or not at all (one LTX file): an unchanged TXID says it did not.
      if (after.ok && after.txid === txid)
        return notImported(`LiteFS refused the import: ${res.error}`);
      if (!after.ok)
        return notImported(
          `the import failed (${res.error}) and the TXID cannot be read: ${after.error}`,
        );
    }
    await this.#remove(path);
    const problems: string[] = [];
    if (!after.ok) problems.push(after.error);
    else if (after.txid <= txid) problems.push(`the TXID did not move (${hex(after.txid)})`);
    const file = join(this.o.mountDir, db);
    const check = await this.#sql(file, true, [
      'PRAGMA integrity_check;',
      ...countStatements(Object.keys(rows)),
    ]);
    if (!check.ok) problems.push(`reading it through the mount: ${check.error}`);
    else {
      if (check.lines[0] !== 'ok')
        problems.push(`integrity_check says ${JSON.stringify(check.lines.slice(0, 3))}`);
      const diff = diffCounts(rows, parseCounts(check.lines.slice(1)));
      if (diff) problems.push(`row counts differ from before: ${diff}`);
    }
    const bytesAfter = await stat(file).then(
      (s) => s.size,
      () => 0,
    );
    return { op: 'import', ok: true, txidAfter: after.ok ? after.txid : 0n, bytesAfter, problems };
  }

  async #txid(db: string): Promise<{ ok: true; txid: bigint } | { ok: false; error: string }> {
    const path = join(this.o.mountDir, `${db}-pos`);
    try {
      const parsed = parsePos(await readFile(path, 'utf8'));
      return parsed.ok
        ? { ok: true, txid: parsed.value.txid }
        : { ok: false, error: `${path}: ${parsed.error}` };
    } catch (err) {
      return { ok: false, error: `${path}: ${describeFsError(err)}` };
    }
  }

  async #drop(copy: string, r: CompactIoResult): Promise<CompactIoResult> {
    await this.#remove(copy);
    return r;
  }

  /** Removes a copy and its journal files; the error text when it could not. */
  async #remove(path: string): Promise<string | undefined> {
    let error: string | undefined;
    for (const p of [path, `${path}-journal`, `${path}-wal`, `${path}-shm`]) {
      await rm(p, { force: true }).catch((err: unknown) => {
        error ??= `${p}: ${describeFsError(err)}`;
      });
    }
    if (error === undefined) this.#copies.delete(path);
    return error;
  }

  /** Runs statements with sqlite3 on `file` (read-only when asked); the output's lines. */
  #sql(
    file: string,
    readonly: boolean,
    statements: string[],
  ): Promise<{ ok: true; lines: string[] } | { ok: false; error: string }> {
    return new Promise((done) => {
      const args = [
        '-batch',
        '-bail',
        '-noheader',
        '-list',
        ...(readonly ? ['-readonly'] : []),
        '-cmd',
        '.timeout 5000',
        file,
      ];
      let child: ReturnType<typeof spawn>;
      try {
        child = spawn(this.o.sqlite3, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      } catch (err) {
        done({ ok: false, error: `cannot run ${this.o.sqlite3}: ${(err as Error).message}` });
        return;
      }
      this.#running = { kill: () => child.kill('SIGKILL') };
      let out = '';
      let err = '';
      child.stdout?.setEncoding('utf8').on('data', (c: string) => {
        out += c;
      });
      child.stderr?.setEncoding('utf8').on('data', (c: string) => {
        err += c;
      });
      child.on('error', (e: NodeJS.ErrnoException) => {
        done({
          ok: false,
          error:
            e.code === 'ENOENT'
              ? `the sqlite3 shell (${this.o.sqlite3}) is not installed: apt-get install sqlite3, or pass --sqlite3 PATH`
              : `cannot run ${this.o.sqlite3}: ${e.message}`,
        });
      });
      child.on('close', (code, signal) => {
        this.#running = undefined;
        if (code === 0) done({ ok: true, lines: out.split('\n').filter((l) => l !== '') });
        else
          done({
            ok: false,
            error: `${this.o.sqlite3} ${signal ? `killed by ${signal}` : `exited ${code}`}: ${err.trim().slice(0, 300)}`,
          });
      });
      child.stdin?.end(`${statements.join('\n')}\n`);
    });
  }
}

/** The tables whose rows are counted: every table but virtual ones (their module may be missing). */
const TABLES_SQL =
  "SELECT name FROM sqlite_schema WHERE type = 'table' AND coalesce(sql, '') NOT LIKE 'CREATE VIRTUAL%' ORDER BY name;";

/**
 * One statement per table, printing `rows|<name>|<count>`: counted with the same statements on
 * the database, the copy and the imported result, so a lost row shows as a difference.
 */
function countStatements(tables: string[]): string[] {
  return tables.map(
    (t) => `SELECT 'rows|' || ${sqlString(t)} || '|' || count(*) FROM "${t.replace(/"/g, '""')}";`,
  );
}

function parseCounts(lines: string[]): Record<string, number> {
  const rows: Record<string, number> = {};
  for (const l of lines) {
    const m = /^rows\|(.*)\|(\d+)$/.exec(l);
    if (m?.[1] !== undefined) rows[m[1]] = Number(m[2]);
  }
  return rows;
}

function diffCounts(a: Record<string, number>, b: Record<string, number>): string | undefined {
  const out: string[] = [];
  for (const name of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (a[name] !== b[name])
      out.push(`${name}: ${a[name] ?? 'missing'} -> ${b[name] ?? 'missing'}`);
  }
  return out.length === 0 ? undefined : out.join(', ');
}

function isWithin(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep));
}

async function nearestDev(path: string): Promise<number | undefined> {
  let p = resolve(path);
  for (;;) {
    const s = await stat(p).catch(() => undefined);
    if (s) return s.dev;
    const up = dirname(p);
    if (up === p) return undefined;
    p = up;
  }
}

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function hex(txid: bigint): string {
  return txid.toString(16).padStart(16, '0');
}

function fallback(io: CompactIo, error: string): CompactIoResult {
  switch (io.op) {
    case 'measure':
      return { op: 'measure', ok: false, error };
    case 'backup':
      return { op: 'backup', ok: false, error };
    case 'vacuum':
      return { op: 'vacuum', ok: false, error, cancelled: false };
    case 'import':
      return { op: 'import', ok: false, imported: false, error };
    case 'discard':
      return { op: 'discard', ok: false, error };
  }
}
