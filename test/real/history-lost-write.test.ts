// A primary whose LTX files were removed (TXID 0, every page kept: "history
// lost", S13) takes a write, on real LiteFS 0.5.11. This test DOCUMENTS what LiteFS does, as
// docs/litefs-facts.md "What a TXID does not tell you" describes it: the next write is TXID 1, which LiteFS
// encodes as a snapshot whose pages must run 1, 2, 3, ...; a write touching page 1 and a later
// page fails with an I/O error (and every write after it), one touching pages {1, 2} commits and
// is sent as a snapshot over the replicas; in WAL mode LiteFS exits 99 with the lease held.

import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { waitFor } from '../helpers/wait.js';
import { assertLeaseByExpiry, createCluster, ltxDir, skipUnlessReal } from './harness.js';

/** Two nodes with `sleep` as exec command: LiteFS alone, no supervisor. */
async function historyLostPrimary(t: Test, wal: boolean) {
  const c = await createCluster(t, ['node-a', 'node-b']);
  const [a, b] = [c.node('node-a'), c.node('node-b')];
  for (const n of [a, b]) n.configure({ exec: [{ cmd: 'sleep 600' }] });
  a.start();
  await a.waitLog(/primary lease acquired/);
  b.start();
  await b.waitLog(/connected to cluster, ready/);
  if (wal) a.exec('PRAGMA journal_mode = WAL');
  // Page 2: t1's root; page 3: t2's root (created in this order on an empty file).
  a.exec('CREATE TABLE t1 (id INTEGER PRIMARY KEY, v TEXT)');
  a.exec('CREATE TABLE t2 (id INTEGER PRIMARY KEY, v TEXT)');
  a.exec("INSERT INTO t1 (v) VALUES ('a'), ('b'), ('c')");
  a.exec("INSERT INTO t2 (v) VALUES ('x'), ('y')");
  await waitFor(() => b.rows('t2') === 2, { timeoutMs: 10_000, message: 'replicated' });
  await b.stop('SIGINT');
  await a.stop('SIGINT');
  const ltx = ltxDir(a);
  for (const f of readdirSync(ltx)) rmSync(join(ltx, f));
  a.start();
  await a.waitLog(/primary lease acquired/);
  await a.waitLog(/starting background subprocess/);
  b.start();
  await b.waitLog(/connected to cluster, ready/);
  t.equal(
    (
      (await fetch(`${a.url}/debug/vars`).then((r) => r.json())) as {
        store: { dbs: Record<string, { txid: string }> };
      }
    ).store.dbs['app.db']?.txid,
    '0000000000000000',
    'node-a: TXID 0 after its LTX files were removed',
  );
  t.equal(a.rows('t1'), 3, 'node-a: every row still there (history lost, data kept)');
  return { c, a, b };
}

function tryWrite(n: { exec(sql: string): void }, sql: string): string {
  try {
    n.exec(sql);
    return 'committed';
  } catch (err) {
    return (err as Error).message;
  }
}

if (!skipUnlessReal(t)) {
  t.setTimeout(120_000);

  t.test(
    'rollback journal: pages {1,3} fail with an I/O error, {1,2} commit as a snapshot',
    async (t) => {
      const { a, b } = await historyLostPrimary(t, false);
      const first = tryWrite(a, "INSERT INTO t2 (v) VALUES ('z')"); // pages 1 and 3
      t.comment(`write touching pages {1,3}: ${first}`);
      t.match(first, /disk I\/O error/, 'DOCUMENTED: the write fails with an I/O error');
      t.comment(
        `node-a LiteFS after the failed write: ${a
          .output()
          .split('\n')
          .filter((l) => /error|snapshot|nonsequential/i.test(l))
          .slice(-3)
          .join(' | ')}`,
      );
      t.ok(a.running(), 'LiteFS stays up');
      const again = tryWrite(a, "INSERT INTO t2 (v) VALUES ('w')");
      t.match(again, /disk I\/O error/, 'DOCUMENTED: the next write fails the same way');
      const second = tryWrite(a, "INSERT INTO t1 (v) VALUES ('d')"); // pages 1 and 2
      t.comment(`write touching pages {1,2}: ${second}`);
      if (second === 'committed') {
        t.pass('DOCUMENTED: a write touching pages {1,2} commits as TXID 1');
        await waitFor(() => b.rows('t1') === 4, { timeoutMs: 10_000, message: 'snapshot on b' });
        t.match(b.allOutput(), /snapshot received/, 'the replica received it as a snapshot');
      } else {
        t.match(second, /disk I\/O error/, 'DOCUMENTED: once failed, writes keep failing');
      }
      // The failed write leaves a hot journal: a read-only reader cannot even open the db.
      let read: string;
      try {
        read = String(a.rows('t2'));
      } catch (err) {
        read = (err as Error).message;
      }
      t.comment(`read-only read of node-a after the failed writes: ${read}`);
      t.ok(
        read === '2' || /readonly/.test(read),
        'no row from the failed writes, or a hot journal',
      );
    },
  );

  t.test('WAL mode: LiteFS exits 99 and keeps the lease', async (t) => {
    const { c, a, b } = await historyLostPrimary(t, true);
    const watch = await c.consul.watchLease(c.key);
    const res = tryWrite(a, "INSERT INTO t2 (v) VALUES ('z')");
    t.comment(`WAL write on the history-lost primary: ${res}`);
    const end = await Promise.race([
      a.exited(),
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000)),
    ]);
    const since = Date.now();
    t.comment(`node-a LiteFS: ${JSON.stringify(end)}`);
    t.same(end, { code: 99, signal: null }, 'DOCUMENTED: LiteFS exits 99');
    // LiteFS ends by os.Exit(99): no unmount, no lease release.
    t.ok(a.mounted(), 'its mount is left behind (still in /proc/mounts)');
    let access = 'readable';
    try {
      statSync(join(a.mountDir, 'app.db'));
    } catch (err) {
      access = (err as NodeJS.ErrnoException).code ?? 'error';
    }
    t.equal(access, 'ENOTCONN', 'dead: its FUSE server is gone (ENOTCONN)');
    // The lease stays with the dead node until its Consul session expires; then node-b.
    const held = await c.consul.lease(c.key);
    t.equal(
      held.key?.hostname,
      'node-a',
      'Consul: the lease key still names node-a after the exit',
    );
    await assertLeaseByExpiry(t, watch, { from: a, to: b, since });
  });
}
