#!/usr/bin/env node
// Example app: a tiny HTTP server backed by SQLite.
//
//   GET /         records a visit and returns the visit count and the applied migrations (JSON)
//   GET /healthz  200 "ok"
//
// Env: PORT (default 8080; 0 picks a free port), HOST (default 127.0.0.1; set 0.0.0.0 to
// listen on all interfaces, e.g. on Fly), DATABASE_PATH and MIGRATIONS_DIR (see paths.mjs).
// Refuses to start until every migration has been applied (run migrate.mjs first).

import { existsSync } from 'node:fs';
import http from 'node:http';
import Database from 'better-sqlite3';
import { databasePath, listMigrations, migrationsDir } from './paths.mjs';

function fail(message) {
  console.error(`example app: ${message}`);
  process.exit(1);
}

function parsePort(value) {
  if (value === undefined || value === '') return 8080;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    fail(`PORT must be an integer between 0 and 65535, got ${JSON.stringify(value)}`);
  }
  return port;
}

const port = parsePort(process.env.PORT);
const host = process.env.HOST || '127.0.0.1';

let dbPath;
let expected;
try {
  dbPath = databasePath();
  expected = listMigrations(migrationsDir());
} catch (err) {
  fail(err.message);
}

const runMigrations = 'run the migrations first: node example/migrate.mjs';
if (!existsSync(dbPath)) fail(`the database ${dbPath} does not exist; ${runMigrations}`);
let db;
try {
  // fileMustExist: the app never creates the database; migrate.mjs does.
  db = new Database(dbPath, { fileMustExist: true });
} catch (err) {
  fail(`cannot open database ${dbPath} (${err.message}); ${runMigrations}`);
}

const hasMigrationsTable = db
  .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'")
  .pluck()
  .get();
if (!hasMigrationsTable) {
  db.close();
  fail(`the database ${dbPath} has no schema (no _migrations table); ${runMigrations}`);
}
const applied = new Set(db.prepare('SELECT name FROM _migrations').pluck().all());
const pending = expected.filter((name) => !applied.has(name));
if (pending.length > 0) {
  // Not fatal: under LiteFS a replica can start before the primary's migration reaches it
  // (rolling deploy); the schema arrives by replication.
  console.error(
    `warning: the database ${dbPath} is missing migration(s) ${pending.join(', ')}; the primary runs them`,
  );
}

// Prepared per request, not at start: until a pending migration reaches a replica the
// statements would not compile, and the app should still start and answer.
const sql = {
  insertVisit: 'INSERT INTO visits (user_agent) VALUES (?)',
  countVisits: 'SELECT count(*) FROM visits',
  listApplied: 'SELECT name, applied_at AS appliedAt FROM _migrations ORDER BY name',
};

function send(res, status, body, headers = {}) {
  const text = typeof body === 'string' ? body : `${JSON.stringify(body, null, 2)}\n`;
  const type = typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json';
  res.writeHead(status, { 'content-type': type, ...headers });
  res.end(text);
}

function handle(req, res) {
  const { pathname } = new URL(req.url ?? '/', 'http://localhost');
  if (pathname === '/healthz') {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
    }
    return send(res, 200, 'ok\n');
  }
  if (pathname === '/') {
    if (req.method !== 'GET') return send(res, 405, 'method not allowed\n', { allow: 'GET' });
    // Under LiteFS a replica refuses writes: still answer, just without counting this visit.
    let recorded = true;
    try {
      db.prepare(sql.insertVisit).run(req.headers['user-agent'] ?? null);
    } catch (err) {
      recorded = false;
      console.error(`example app: visit not recorded: ${err.message}`);
    }
    const visits = db.prepare(sql.countVisits).pluck().get();
    return send(res, 200, { visits, recorded, migrations: db.prepare(sql.listApplied).all() });
  }
  return send(res, 404, 'not found\n');
}

const server = http.createServer((req, res) => {
  try {
    handle(req, res);
  } catch (err) {
    console.error(`example app: ${req.method} ${req.url} failed: ${err.stack ?? err}`);
    if (!res.headersSent) send(res, 500, 'internal error\n');
    else res.destroy();
  }
});

server.on('error', (err) => {
  db.close();
  fail(`cannot listen on ${host}:${port}: ${err.message}`);
});

server.listen(port, host, () => {
  const address = server.address();
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  console.log(`example app listening on http://${shownHost}:${address.port}`);
});

let stopping = false;
function shutdown(signal) {
  if (stopping) {
    // Second Ctrl-C: stop waiting for slow clients.
    server.closeAllConnections();
    return;
  }
  stopping = true;
  console.log(`example app: ${signal} received, shutting down`);
  server.close(() => {
    db.close();
    process.exitCode = 0;
  });
  server.closeIdleConnections();
  // Don't let a stuck keep-alive client hold the shutdown forever.
  setTimeout(() => server.closeAllConnections(), 5000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
