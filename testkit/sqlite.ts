// Real SQLite files for the cluster tests and the incident demo: a `User` table like the one
// the seed incident lost (docs/litefs-facts.md, "Replication rules": `SELECT COUNT(*) FROM User;` -> 0).
// better-sqlite3 is a devDependency: testkit is only used by tests, the benchmarks and the demo,
// never by the CLI (scripts/check-imports.mjs keeps src/ from importing a devDependency).

import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import Database from 'better-sqlite3';

const require = createRequire(import.meta.url);
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * Creates the `User` table at `path` if it is missing and inserts `rows` rows, all in one
 * transaction (one LiteFS TXID when `path` is on a primary). Returns the total row count.
 */
export function createUserDb(path: string, rows: number): number {
  const db = new Database(path);
  try {
    return db.transaction(() => {
      db.exec('CREATE TABLE IF NOT EXISTS "User" (id INTEGER PRIMARY KEY, email TEXT NOT NULL)');
      const insert = db.prepare('INSERT INTO "User" (email) VALUES (?)');
      const start = (db.prepare('SELECT COUNT(*) AS n FROM "User"').get() as { n: number }).n;
      for (let i = 0; i < rows; i++) insert.run(`user${start + i + 1}@example.com`);
      return start + rows;
    })();
  } finally {
    db.close();
  }
}

/**
 * Rows in `table`, read-only; undefined when the file is missing, empty, not SQLite, or has no
 * such table. Other failures (e.g. a database caught mid-rewrite) throw, so a polling test
 * retries instead of reading "no data".
 */
export function countRows(path: string, table = 'User'): number | undefined {
  if (!hasSqliteHeader(path)) return undefined;
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const exists = db
      .prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?")
      .get(table);
    if (!exists) return undefined;
    const row = db.prepare(`SELECT COUNT(*) AS n FROM "${table.replaceAll('"', '""')}"`).get() as {
      n: number;
    };
    return row.n;
  } finally {
    db.close();
  }
}

/**
 * A shell command that does what a migration does to `path` (createUserDb in a separate Node
 * process), for tests and the demo that need the write to come from a real process.
 */
export function userDbCommand(path: string, rows: number): string {
  const script = [
    `const D = require(${JSON.stringify(require.resolve('better-sqlite3'))});`,
    `const db = new D(${JSON.stringify(path)});`,
    'db.transaction(() => {',
    `  db.exec('CREATE TABLE IF NOT EXISTS "User" (id INTEGER PRIMARY KEY, email TEXT NOT NULL)');`,
    `  const ins = db.prepare('INSERT INTO "User" (email) VALUES (?)');`,
    `  for (let i = 0; i < ${Math.trunc(rows)}; i++) ins.run('user' + i + '@example.com');`,
    '})();',
    'db.close();',
  ].join('\n');
  return `${shellQuote(process.execPath)} -e ${shellQuote(script)}`;
}

function hasSqliteHeader(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  try {
    const head = Buffer.alloc(SQLITE_HEADER.length);
    const n = readSync(fd, head, 0, head.length, 0);
    return n === head.length && head.equals(SQLITE_HEADER);
  } finally {
    closeSync(fd);
  }
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
