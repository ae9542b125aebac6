#!/usr/bin/env node
// Example migration runner: applies every migrations/*.sql not yet recorded in _migrations,
// in file-name order, each file in its own transaction together with its _migrations row.
// An SQL error rolls that file back entirely and exits 1; files applied before it stay applied.
//
// Env: DATABASE_PATH, MIGRATIONS_DIR (see paths.mjs), LITEFS_SUPERVISOR_BOOTSTRAP (set to 1 by
// the supervisor when this run initialises a new database).
//
// Deliberately no PRAGMA journal_mode or similar: under LiteFS the journal mode is the
// operator's choice, and a replica refuses writes anyway (the supervisor only runs this on the
// primary).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/** How long a statement waits for another connection's write lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 15_000;

import { databasePath, listMigrations, migrationsDir } from './paths.mjs';

function main() {
  let dbPath;
  let dir;
  let files;
  try {
    dbPath = databasePath();
    dir = migrationsDir();
    files = listMigrations(dir);
  } catch (err) {
    console.error(`migrate: ${err.message}`);
    return 1;
  }

  if (process.env.LITEFS_SUPERVISOR_BOOTSTRAP === '1') {
    console.log(`Bootstrap: this run initialises a new database at ${dbPath}`);
  }

  let db;
  try {
    // A migration on a promoted primary (S7) runs beside the app, which may be writing: without
    // a busy timeout SQLite fails at once with `database is locked` (SQLITE_BUSY) instead of
    // waiting for the app's transaction to end (seen on real LiteFS, issue 12).
    db = new Database(dbPath, { timeout: BUSY_TIMEOUT_MS });
  } catch (err) {
    console.error(`migrate: cannot open database ${dbPath}: ${err.message}`);
    return 1;
  }

  try {
    db.exec('CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)');
    const isApplied = db.prepare('SELECT 1 FROM _migrations WHERE name = ?').pluck();
    const record = db.prepare('INSERT INTO _migrations (name, applied_at) VALUES (?, ?)');

    const pending = files.filter((name) => !isApplied.get(name));
    if (pending.length === 0) {
      console.log('No pending migrations');
      return 0;
    }

    let applied = 0;
    for (const name of pending) {
      let sql;
      try {
        sql = readFileSync(join(dir, name), 'utf8');
      } catch (err) {
        console.error(`migrate: cannot read ${name}: ${err.message}`);
        return 1;
      }
      // Check again inside the write transaction: another runner may have applied it meanwhile.
      const apply = db.transaction(() => {
        if (isApplied.get(name)) return false;
        console.log(`Applying migration ${name}`);
        db.exec(sql);
        record.run(name, new Date().toISOString());
        return true;
      });
      try {
        if (apply.immediate()) applied++;
      } catch (err) {
        console.error(`migrate: migration ${name} failed, rolled back: ${err.message}`);
        if (applied > 0) console.error(`migrate: ${applied} earlier migration(s) stay applied`);
        return 1;
      }
    }
    console.log(`Applied ${applied} migration(s)`);
    return 0;
  } catch (err) {
    console.error(`migrate: ${err.message}`);
    return 1;
  } finally {
    db.close();
  }
}

process.exitCode = main();
