// Real write-lock contention through a LiteFS mount, for the tests of migrations that fail on
// it (S1 retries, S14 hand-back between tries): the migration is the sqlite3 CLI with no busy
// timeout, and the lock is a transaction (`BEGIN IMMEDIATE`) the test holds on a connection of
// its own through the same mount. Nothing is scripted to fail: a try fails only because SQLite
// refuses it (`database is locked (5)`, SQLITE_BUSY), and succeeds once the lock is gone.
// Development only: testkit is not part of the npm package.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Owner } from './real-litefs.js';
import { waitFor } from './wait.js';

/** A shell script file run with sh (LiteFS expands `$` in litefs.yml exec lines). */
export function shellScript(dir: string, name: string, body: string[]): string {
  const file = join(dir, name);
  writeFileSync(file, `${body.join('\n')}\n`, { mode: 0o755 });
  return `sh ${file}`;
}

/** Non-empty lines in a file (0 when it does not exist): runs counted by a script. */
export function linesOf(file: string): number {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;
}

export interface GatedMigration {
  /** The --migrate command. */
  cmd: string;
  /** Tries started so far (each is counted before it waits at its gate). */
  tries(): number;
  /** Waits until try `n` started: it waits at its gate, and every command before it ended. */
  waitTry(n: number, timeoutMs?: number): Promise<void>;
  /** Lets the tries up to `n` (Infinity: every try) run their SQL. */
  allow(n: number): void;
}

/**
 * A migration `sqlite3 <db> "<sql>"` with no busy timeout, behind a gate the test opens: each
 * try counts itself, then waits until the test allows its number. So a test takes the write lock
 * (holdWriteLock) once the try is due and the node primary (S1 runs it only then), whatever the
 * machine's load, and only then lets it run. `sql` should be one transaction, so that a try
 * refused by the lock leaves nothing behind.
 */
export function gatedMigration(dir: string, name: string, db: string, sql: string): GatedMigration {
  const runs = join(dir, `${name}-runs`);
  const allowed = join(dir, `${name}-allowed`);
  writeFileSync(allowed, '0\n');
  const cmd = shellScript(dir, `${name}.sh`, [
    `n=$(( $(cat ${runs} 2>/dev/null | wc -l) + 1 ))`,
    `echo run >> ${runs}`,
    `while [ "$(cat ${allowed})" -lt "$n" ]; do sleep 0.05; done`,
    `exec sqlite3 ${db} "${sql.replace(/(["\\$`])/g, '\\$1')}"`,
  ]);
  return {
    cmd,
    tries: () => linesOf(runs),
    async waitTry(n, timeoutMs = 60_000) {
      await waitFor(() => linesOf(runs) >= n, {
        timeoutMs,
        intervalMs: 20,
        message: `try ${n} of ${name} started`,
      });
    },
    allow(n) {
      writeFileSync(allowed, `${Number.isFinite(n) ? n : 1_000_000}\n`);
    },
  };
}

export interface WriteLock {
  /** Ends the held transaction (ROLLBACK) and closes the connection. */
  release(): void;
  held(): boolean;
}

/**
 * Takes the write lock of `db` (a path under a primary's mount) with `BEGIN IMMEDIATE` on a
 * connection of its own, and holds it until release() or the owner's teardown.
 */
export function holdWriteLock(owner: Owner, db: string): WriteLock {
  // A short busy timeout for taking the lock itself: another writer may be mid-commit.
  const conn = new Database(db, { fileMustExist: true, timeout: 5000 });
  try {
    conn.exec('BEGIN IMMEDIATE');
  } catch (err) {
    conn.close();
    throw err;
  }
  owner.teardown(() => {
    if (conn.open) conn.close();
  });
  return {
    release() {
      try {
        conn.exec('ROLLBACK');
      } finally {
        conn.close();
      }
    },
    held: () => conn.open && conn.inTransaction,
  };
}
