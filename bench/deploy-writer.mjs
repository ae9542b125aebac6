// The writer of bench/deploy.ts, in its own process so that a write blocked in a FUSE call
// never stalls the bench's primary watcher. Every 10 ms it commits one row through the mount of
// the node the parent names as primary (IPC message { mount } or { mount: null }); a tick with
// no primary known, or whose commit throws, is a failed write. On { stop: true } it sends
// { attempts, ok, failed, errors } and exits.

import { join } from 'node:path';
import Database from 'better-sqlite3';

const INTERVAL_MS = 10;
let mount = null;
let conn;
let connMount = null;
const counts = { attempts: 0, ok: 0, failed: 0, errors: {} };

function connection() {
  if (conn && connMount === mount) return conn;
  try {
    conn?.close();
  } catch {}
  conn = new Database(join(mount, 'app.db'), { timeout: 500 });
  connMount = mount;
  return conn;
}

function tick() {
  counts.attempts += 1;
  if (mount === null) {
    counts.failed += 1;
    counts.errors['no primary known'] = (counts.errors['no primary known'] ?? 0) + 1;
    return;
  }
  try {
    connection().prepare('INSERT INTO visits (user_agent) VALUES (?)').run('bench-writer');
    counts.ok += 1;
  } catch (err) {
    counts.failed += 1;
    const key = String(err?.message ?? err).slice(0, 60);
    counts.errors[key] = (counts.errors[key] ?? 0) + 1;
    try {
      conn?.close();
    } catch {}
    conn = undefined;
  }
}

const timer = setInterval(tick, INTERVAL_MS);
process.on('message', (msg) => {
  if (msg.stop) {
    clearInterval(timer);
    try {
      conn?.close();
    } catch {}
    process.send(counts, () => process.exit(0));
    return;
  }
  mount = msg.mount;
});
