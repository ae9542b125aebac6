// The Quickstart example: example/migrate.mjs and example/app.mjs run as real child processes.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';

const exampleDir = fileURLToPath(new URL('../../example/', import.meta.url));
const migrateScript = join(exampleDir, 'migrate.mjs');
const appScript = join(exampleDir, 'app.mjs');
const exampleMigrations = readdirSync(join(exampleDir, 'migrations'))
  .filter((name) => name.endsWith('.sql'))
  .sort();

const DEADLINE_MS = 15_000;

/** The test's environment without anything the example reads, plus `extra`. */
function envWith(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of [
    'DATABASE_PATH',
    'MIGRATIONS_DIR',
    'LITEFS_SUPERVISOR_BOOTSTRAP',
    'PORT',
    'HOST',
  ]) {
    delete env[key];
  }
  return { ...env, ...extra };
}

function runMigrate(env: Record<string, string>) {
  const r = spawnSync(process.execPath, [migrateScript], {
    env: envWith(env),
    encoding: 'utf8',
    timeout: DEADLINE_MS,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function appliedRows(dbPath: string): { name: string; applied_at: string }[] {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT name, applied_at FROM _migrations ORDER BY name').all() as {
      name: string;
      applied_at: string;
    }[];
  } finally {
    db.close();
  }
}

function tableNames(dbPath: string): string[] {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .pluck()
      .all() as string[];
  } finally {
    db.close();
  }
}

interface Started {
  child: ChildProcess;
  output: () => string;
}

function startApp(t: Test, env: Record<string, string>): Started {
  const child = spawn(process.execPath, [appScript], {
    env: envWith(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, output: () => out };
}

/** Resolves with the first match of `re` in the output; rejects on exit or at the deadline. */
function waitForOutput(app: Started, re: RegExp): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = app.output().match(re);
      if (m) {
        done();
        resolve(m);
      }
    };
    const onExit = () => {
      done();
      reject(new Error(`app exited before printing ${re}; output:\n${app.output()}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no ${re} within ${DEADLINE_MS}ms; output:\n${app.output()}`));
    }, DEADLINE_MS);
    const done = () => {
      clearTimeout(timer);
      app.child.stdout?.off('data', check);
      app.child.off('exit', onExit);
    };
    app.child.stdout?.on('data', check);
    app.child.once('exit', onExit);
    check();
  });
}

/** Resolves with the exit code and signal; rejects at the deadline. */
function waitForExit(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`process still running after ${DEADLINE_MS}ms`)),
      DEADLINE_MS,
    );
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

t.test('migrate.mjs applies every migration once, in order', async (t) => {
  const dbPath = join(t.testdir(), 'app.db');

  const first = runMigrate({ DATABASE_PATH: dbPath });
  t.equal(first.status, 0, first.stderr);
  t.match(first.stdout, /Applying migration 0001_init\.sql\n/);
  t.ok(first.stdout.indexOf('0001_init.sql') < first.stdout.indexOf('0002_'), 'in file-name order');
  t.match(first.stdout, new RegExp(`Applied ${exampleMigrations.length} migration\\(s\\)`));
  t.notMatch(first.stdout, /initialises a new database/);

  const rows = appliedRows(dbPath);
  t.same(
    rows.map((r) => r.name),
    exampleMigrations,
  );
  for (const row of rows) t.ok(!Number.isNaN(Date.parse(row.applied_at)), `${row.name} applied_at`);

  const second = runMigrate({ DATABASE_PATH: dbPath });
  t.equal(second.status, 0, second.stderr);
  t.equal(second.stdout, 'No pending migrations\n');
  t.same(appliedRows(dbPath), rows, 'second run changes nothing');
});

t.test('migrate.mjs waits for a writer instead of failing with database is locked', async (t) => {
  // S1 retries: the S7 migration runs beside the app, which may hold the write lock.
  const dbPath = join(t.testdir(), 'app.db');
  const app = new Database(dbPath);
  app.exec('CREATE TABLE busy (x)');
  app.exec('BEGIN IMMEDIATE');
  app.exec('INSERT INTO busy VALUES (1)');
  const child = spawn(process.execPath, [migrateScript], {
    env: envWith({ DATABASE_PATH: dbPath }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  // Held past better-sqlite3's default busy timeout (5 s), within the runner's own (15 s): so
  // this fails if the runner relied on the default.
  await new Promise((r) => setTimeout(r, 6000));
  t.equal(child.exitCode, null, 'still waiting, not failed at once');
  app.exec('COMMIT');
  app.close();
  t.equal(await exited, 0, stderr);
  t.notMatch(stderr, /database is locked/);
  t.same(
    appliedRows(dbPath).map((r) => r.name),
    exampleMigrations,
  );
});

t.test('migrate.mjs says so when bootstrapping a new database', async (t) => {
  const dbPath = join(t.testdir(), 'app.db');
  const r = runMigrate({ DATABASE_PATH: dbPath, LITEFS_SUPERVISOR_BOOTSTRAP: '1' });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /initialises a new database/);
});

t.test('migrate.mjs refuses an empty DATABASE_PATH', async (t) => {
  const r = runMigrate({ DATABASE_PATH: '' });
  t.equal(r.status, 1);
  t.match(r.stderr, /DATABASE_PATH/);
});

t.test('a failing migration exits 1, names the file and leaves nothing half-applied', async (t) => {
  const dir = t.testdir({
    migrations: {
      '0001_ok.sql': 'CREATE TABLE a (x INTEGER);\n',
      '0002_broken.sql': 'CREATE TABLE b (y TEXT);\nINSERT INTO a VALUES (1);\nNOT SQL AT ALL;\n',
      '0003_later.sql': 'CREATE TABLE c (z TEXT);\n',
      'README.txt': 'not a migration',
    },
  });
  const dbPath = join(dir, 'app.db');
  const env = { DATABASE_PATH: dbPath, MIGRATIONS_DIR: join(dir, 'migrations') };

  const failed = runMigrate(env);
  t.equal(failed.status, 1);
  t.match(failed.stderr, /0002_broken\.sql/);
  t.notMatch(failed.stdout, /0003_later\.sql/, 'stops at the failure');
  t.same(
    appliedRows(dbPath).map((r) => r.name),
    ['0001_ok.sql'],
  );
  t.same(tableNames(dbPath), ['_migrations', 'a'], 'no table b, no table c');
  const db = new Database(dbPath, { readonly: true });
  t.equal(db.prepare('SELECT count(*) FROM a').pluck().get(), 0, 'the INSERT was rolled back');
  db.close();

  writeFileSync(join(dir, 'migrations', '0002_broken.sql'), 'CREATE TABLE b (y TEXT);\n');
  const fixed = runMigrate(env);
  t.equal(fixed.status, 0, fixed.stderr);
  t.notMatch(fixed.stdout, /0001_ok\.sql/, 'does not re-apply');
  t.match(fixed.stdout, /Applied 2 migration\(s\)/);
  t.same(tableNames(dbPath), ['_migrations', 'a', 'b', 'c']);
});

t.test('app.mjs counts visits and exits 0 on SIGTERM', async (t) => {
  const dbPath = join(t.testdir(), 'app.db');
  const migrated = runMigrate({ DATABASE_PATH: dbPath });
  t.equal(migrated.status, 0, migrated.stderr);

  const app = startApp(t, { DATABASE_PATH: dbPath, PORT: '0' });
  const m = await waitForOutput(app, /example app listening on http:\/\/127\.0\.0\.1:(\d+)\n/);
  const base = `http://127.0.0.1:${m[1]}`;
  t.not(m[1], '0', 'prints the port actually bound');

  const health = await fetch(`${base}/healthz`);
  t.equal(health.status, 200);
  await health.text();

  const first = await fetch(`${base}/`);
  t.equal(first.status, 200);
  const a = (await first.json()) as { visits: number; migrations: { name: string }[] };
  const second = await fetch(`${base}/`, { headers: { 'user-agent': 'tap' } });
  const b = (await second.json()) as { visits: number };
  t.equal(a.visits, 1);
  t.equal(b.visits, 2, 'one more visit per GET /');
  t.same(
    a.migrations.map((x) => x.name),
    exampleMigrations,
  );

  const notFound = await fetch(`${base}/nope`);
  t.equal(notFound.status, 404);
  await notFound.text();

  app.child.kill('SIGTERM');
  t.same(await waitForExit(app.child), { code: 0, signal: null }, 'exits 0');
  t.match(app.output(), /SIGTERM received/);
});

t.test('app.mjs exits 0 on SIGINT too', async (t) => {
  const dbPath = join(t.testdir(), 'app.db');
  t.equal(runMigrate({ DATABASE_PATH: dbPath }).status, 0);
  const app = startApp(t, { DATABASE_PATH: dbPath, PORT: '0' });
  await waitForOutput(app, /listening on http:\/\/[^\n]+:\d+\n/);
  app.child.kill('SIGINT');
  t.same(await waitForExit(app.child), { code: 0, signal: null }, 'exits 0');
  t.match(app.output(), /SIGINT received/);
});

t.test('app.mjs without its schema', async (t) => {
  const dir = t.testdir({
    migrations: {
      '0001_init.sql': 'CREATE TABLE visits (id INTEGER PRIMARY KEY);\n',
      '0002_more.sql': 'ALTER TABLE visits ADD COLUMN user_agent TEXT;\n',
    },
  });

  t.test('no database file', async (t) => {
    const app = startApp(t, { DATABASE_PATH: join(dir, 'missing.db'), PORT: '0' });
    t.same(await waitForExit(app.child), { code: 1, signal: null });
    t.match(app.output(), /does not exist.*migrate\.mjs/);
  });

  t.test(
    'a pending migration only warns (a replica can start before the primary migrates)',
    async (t) => {
      const dbPath = join(dir, 'partial.db');
      const db = new Database(dbPath);
      db.exec(
        'CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT);\n' +
          'CREATE TABLE visits (id INTEGER PRIMARY KEY);\n' +
          "INSERT INTO _migrations VALUES ('0001_init.sql', '2024-01-01T00:00:00Z');",
      );
      db.close();
      const app = startApp(t, {
        DATABASE_PATH: dbPath,
        MIGRATIONS_DIR: join(dir, 'migrations'),
        PORT: '0',
      });
      await waitForOutput(app, /listening on http:\/\/[^\n]+:\d+\n/);
      t.match(app.output(), /warning: .*missing migration\(s\) 0002_more\.sql/);
      app.child.kill('SIGTERM');
      t.same(await waitForExit(app.child), { code: 0, signal: null });
    },
  );
});
