// The seed incident on real LiteFS (INCIDENT.txt): a healthy two-node cluster
// with rows, then what the thread's operators did by hand: the data holder's
// `data.dir/dbs/<db>/ltx/*` removed (its history lost: TXID 0, every page kept), the other
// node's whole `data.dir/dbs/<db>` removed (empty). Then the nodes start again.

import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import Database from 'better-sqlite3';
import {
  type Cluster,
  createCluster,
  EXAMPLE,
  type LitefsNode,
  ltxDir,
  type Owner,
  waitFor,
} from './real-litefs.js';

export const ROWS = 8;

/** LiteFS's own exec block from the thread: migrations `if-candidate`, then the app. */
export function litefsExecBlock(): { cmd: string; ifCandidate?: boolean }[] {
  return [
    { cmd: `node ${join(EXAMPLE, 'migrate.mjs')}`, ifCandidate: true },
    { cmd: `node ${join(EXAMPLE, 'app.mjs')}` },
  ];
}

/**
 * Two nodes, node-a primary (the data holder), ROWS rows written on it and replicated to node-b,
 * both supervised. Returns with both stopped by SIGINT (a clean stop: lease released).
 */
export async function healthyThenStopped(t: Owner): Promise<Cluster> {
  const c = await createCluster(t, ['node-a', 'node-b']);
  const [a, b] = [c.node('node-a'), c.node('node-b')];
  a.configure({ exec: [{ cmd: c.supervisorCmd(a) }] });
  b.configure({ exec: [{ cmd: c.supervisorCmd(b, { promote: false }) }] });
  a.start();
  await a.waitLog(/primary lease acquired/);
  b.start();
  await a.waitEvent('app.start', 30_000);
  const values = Array.from({ length: ROWS }, (_, i) => `('row ${i + 1}')`).join(', ');
  a.exec(`INSERT INTO visits (user_agent) VALUES ${values}`);
  await waitFor(() => b.rows('visits') === ROWS, { timeoutMs: 20_000, message: 'rows on node-b' });
  // node-b's supervisor records the high-water mark at most every 5 s (and at shutdown).
  await b.waitEvent('app.start', 20_000);
  await b.stop('SIGINT');
  await a.stop('SIGINT');
  if (a.mounted() || b.mounted()) throw new Error('a mount was left behind after SIGINT');
  return c;
}

/** What the thread's operators did: the holder's LTX files, the other node's whole db dir. */
export function breakLikeTheThread(holder: LitefsNode, emptied: LitefsNode, db = 'app.db'): void {
  const ltx = ltxDir(holder, db);
  for (const f of readdirSync(ltx)) rmSync(join(ltx, f), { force: true });
  rmSync(join(emptied.dataDir, 'dbs', db), { recursive: true, force: true });
}

/**
 * The seed's start after the breakage: the data holder (history lost) starts first and takes the
 * lease, the emptied node joins; returns once the emptied node's supervisor has decided
 * (syncing, fenced or running) and 3 s more have passed with both up.
 */
export async function holderThenEmptiedJoins(
  holder: LitefsNode,
  emptied: LitefsNode,
): Promise<void> {
  holder.start();
  await holder.waitLog(/primary lease acquired/);
  emptied.start();
  await emptied.waitEvent('supervisor.start', 30_000);
  await waitFor(
    async () =>
      ['syncing', 'fenced', 'running'].includes(
        ((await emptied.health('/status')).body as { state: string }).state,
      ),
    { timeoutMs: 20_000, message: `${emptied.name} decided` },
  );
  await observeFor(3_000);
}

/**
 * The seed's restart of the data holder (a deploy): it stops, the lease goes to the emptied node,
 * which decides as primary (fences, migrates or waits for a db); then the holder starts again
 * and connects. Returns after 8 s with both up: whatever either decides happens in that window.
 */
export async function restartTheHolder(holder: LitefsNode, emptied: LitefsNode): Promise<void> {
  await holder.stop('SIGINT');
  await emptied.waitPrimary(15_000);
  await waitFor(
    () =>
      emptied
        .events()
        .some((e) => e === 'fence.enter' || e === 'migrate.start' || e === 'primary.wait-db'),
    { timeoutMs: 20_000, message: `${emptied.name} decided as primary` },
  );
  holder.start();
  await holder.waitLog(/connected to cluster, ready|primary lease acquired/, 30_000);
  await observeFor(8_000);
}

/** A row count and where it was read: the node's mount, or its data dir while LiteFS is down. */
export interface RowsRead {
  count: number | undefined;
  /** The file read, relative to the cluster's dir (e.g. `node-a/mnt/app.db`). */
  file: string;
  via: 'mount' | 'data-dir';
}

/**
 * Row count in a node's database file: through its mount if mounted, else LiteFS's own copy in
 * the data dir, `dbs/<db>/database`. The data-dir file is never opened where it lies: SQLite's
 * read-only open still creates `-wal` and `-shm` beside a WAL-mode file, and better-sqlite3 is
 * built without URI filenames (`file:...?immutable=1` would be taken as a file name). So a copy
 * is read, in a temp dir of its own; the data dir is left exactly as LiteFS left it.
 */
export function readRows(node: LitefsNode, table = 'visits', db = 'app.db'): RowsRead {
  const clusterDir = dirname(node.dir);
  if (node.mounted()) {
    return {
      count: node.rows(table, db),
      file: relative(clusterDir, join(node.mountDir, db)),
      via: 'mount',
    };
  }
  const file = join(node.dataDir, 'dbs', db, 'database');
  const read: RowsRead = { count: undefined, file: relative(clusterDir, file), via: 'data-dir' };
  if (!existsSync(file)) return read;
  const tmp = mkdtempSync(join(tmpdir(), 'lfs-rows-'));
  try {
    const copy = join(tmp, 'database');
    copyFileSync(file, copy);
    const conn = new Database(copy, { readonly: true, fileMustExist: true });
    try {
      const has = conn
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")
        .pluck()
        .get(table);
      read.count = has
        ? (conn.prepare(`SELECT count(*) FROM "${table}"`).pluck().get() as number)
        : 0;
    } finally {
      conn.close();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return read;
}

/** readRows' count alone. */
export function rowsOf(node: LitefsNode, table = 'visits', db = 'app.db'): number | undefined {
  return readRows(node, table, db).count;
}

/** The URL the example app of this node's current run listens on (from its start line). */
export function appUrl(node: LitefsNode): string | undefined {
  const lines = [...node.output().matchAll(/example app listening on (http:\/\/\S+)/g)];
  return lines.at(-1)?.[1];
}

/**
 * GET `path` from the node's example app: its status and body, or why there is none. Waits up
 * to `timeoutMs` for the app of this run to listen (LiteFS starts it after its other exec
 * commands, the supervisor after its checks) and to answer.
 */
export async function askApp(
  node: LitefsNode,
  path = '/healthz',
  timeoutMs = 15_000,
): Promise<{ status: number; body: string } | { error: string }> {
  let why = 'no app started in this run';
  try {
    return await waitFor(
      async () => {
        const url = appUrl(node);
        if (!url) return undefined;
        try {
          const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(2000) });
          return { status: res.status, body: await res.text() };
        } catch (err) {
          why = `${url}${path}: ${(err as Error).message}`;
          return undefined;
        }
      },
      { timeoutMs, intervalMs: 100 },
    );
  } catch {
    return { error: `${node.name}: ${why} (within ${timeoutMs} ms)` };
  }
}

/** Lines where LiteFS wrote or received a snapshot (the write that overwrites replicas), all runs. */
export function snapshotLines(node: LitefsNode): string[] {
  return node
    .allOutput()
    .split('\n')
    .filter((l) =>
      /writing snapshot|snapshot received|starting from txid 0000000000000001/.test(l),
    );
}

/** Waits `ms` while watching: for proving that something does NOT happen in a window. */
export function observeFor(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
