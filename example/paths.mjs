// Where the example keeps its database and migrations. Shared by migrate.mjs and app.mjs.
//
// DATABASE_PATH  the SQLite file (under LiteFS: a file inside the FUSE mount, e.g. /litefs/app.db).
//                Unset: example/data/app.db next to this file, whatever the working directory.
// MIGRATIONS_DIR the directory of *.sql migrations. Unset: example/migrations.

import { mkdirSync, readdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const DEFAULT_DATABASE_PATH = resolve(here, 'data', 'app.db');
const DEFAULT_MIGRATIONS_DIR = resolve(here, 'migrations');

/**
 * The database file to open. Only the default location gets its directory created: a mistyped
 * DATABASE_PATH (say /litfs/app.db) must fail loudly, not quietly create an unreplicated file.
 */
export function databasePath() {
  const fromEnv = process.env.DATABASE_PATH;
  if (fromEnv === undefined) {
    mkdirSync(dirname(DEFAULT_DATABASE_PATH), { recursive: true });
    return DEFAULT_DATABASE_PATH;
  }
  if (fromEnv.trim() === '') {
    throw new Error(
      'DATABASE_PATH is set but empty: set it to the SQLite file to use (e.g. /litefs/app.db), ' +
        `or unset it to use ${DEFAULT_DATABASE_PATH}`,
    );
  }
  return resolve(fromEnv);
}

export function migrationsDir() {
  const fromEnv = process.env.MIGRATIONS_DIR;
  return fromEnv ? resolve(fromEnv) : DEFAULT_MIGRATIONS_DIR;
}

/** The *.sql file names in `dir`, in the order they are applied (plain code-point order). */
export function listMigrations(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.sql'))
    .map((entry) => entry.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
