// S1 retries on real LiteFS 0.5.11: a failing migration must not take the cluster down. Every
// failure here is real contention: the migration is the sqlite3 CLI with no busy timeout, and the
// test holds the write lock (`BEGIN IMMEDIATE` on its own connection through the primary's
// mount) while a try runs (testkit/contention.ts), so SQLite itself refuses it.
// (a) a migration refused twice by a held write lock, then run without it while a writer
//     commits every 10 ms: applied once in every node's file, no node down, no row lost;
// (b) a migration refused at every try while the app runs: the app keeps serving, nothing
//     exits, /status shows the failure and the next try, nothing of it in any file;
// (c) the same before the app started: between tries and once they are spent the lease goes to
//     the node whose app serves (S14); that node waits without its app, the others stay up.

import { join } from 'node:path';
import t, { type Test } from 'tap';
import { type GatedMigration, gatedMigration, holdWriteLock } from '../../testkit/contention.js';
import { waitFor } from '../helpers/wait.js';
import {
  type Cluster,
  createCluster,
  EXAMPLE,
  type LitefsNode,
  type LogRecord,
  skipUnlessReal,
} from './harness.js';

const count = (n: LitefsNode, event: string) => n.events().filter((e) => e === event).length;
const recordsOf = (n: LitefsNode, event: string) => n.records().filter((r) => r.event === event);

/**
 * The migration under test, one transaction: a failed try leaves nothing, and every try that
 * succeeded adds one row to `migrated` (so rows, not logs, say how often it was applied).
 */
const MIGRATION =
  'BEGIN; CREATE TABLE IF NOT EXISTS migrated (id INTEGER PRIMARY KEY, at TEXT); ' +
  "INSERT INTO migrated (at) VALUES (datetime('now')); COMMIT;";
/** SQLite's own refusal as the sqlite3 CLI prints it: SQLITE_BUSY is code 5. */
const LOCKED = /database is locked \(5\)/;

/**
 * Try `n` of `m` runs while the test holds the write lock of `db`; resolves once the supervisor
 * logged its failure (the lock is released then).
 */
async function tryUnderLock(t: Test, node: LitefsNode, m: GatedMigration, n: number) {
  await m.waitTry(n);
  const lock = holdWriteLock(t, join(node.mountDir, 'app.db'));
  m.allow(n);
  await waitFor(() => count(node, 'migrate.fail') >= n || !node.running(), {
    timeoutMs: 30_000,
    message: `${node.name}: try ${n} failed`,
  });
  lock.release();
}

/**
 * S1's backoff, by the supervisor's own records: the k-th failure (from 1) says try k and a
 * next try after 1 s, 2 s, 4 s... (`slowFrom` on: every 5 minutes); the next try starts no
 * earlier than the retryAt it announced (one-sided: the test reads lines late, never early).
 */
async function assertBackoff(t: Test, node: LitefsNode, command: string, slowFrom = Infinity) {
  const records = node.records();
  const fails = records.filter((r) => r.event === 'migrate.fail' && r.command === command);
  // The state line follows its failure's line: it may not have been read yet.
  const waited = (f: LogRecord) =>
    records.some((r, j) => j > records.indexOf(f) && r.event === 'migrate.retry-wait');
  await waitFor(() => fails.every(waited), {
    timeoutMs: 10_000,
    message: `${node.name}: a migrate.retry-wait after each failure`,
  }).catch(() => undefined);
  fails.forEach((f, i) => {
    const k = i + 1;
    const delay = k >= slowFrom ? 300_000 : 1000 * 2 ** i;
    t.match(
      f,
      { tries: String(k), retryInMs: String(delay) },
      `failure ${k}: next try in ${delay} ms`,
    );
    const after = records.indexOf(f);
    const wait = records.findIndex((r, j) => j > after && r.event === 'migrate.retry-wait');
    t.ok(wait > after, `failure ${k}: migrate.retry-wait logged`);
    const next = records.find(
      (r, j) => j > after && r.event === 'migrate.start' && r.command === command,
    );
    if (next) {
      t.ok(
        Number(next.at) >= Date.parse(f.retryAt ?? ''),
        `try ${k + 1} started no earlier than ${f.retryAt}`,
      );
    }
  });
}

/** A writer committing through the current primary's mount every 10 ms; stopped on teardown. */
function writer(t: Test, c: Cluster) {
  let ok = 0;
  let failed = 0;
  let stopped = false;
  const tick = async () => {
    while (!stopped) {
      const p = await c.primary();
      if (p) {
        try {
          // No busy timeout: a write the held lock refuses fails at once (counted, never
          // acknowledged) instead of blocking the test's event loop.
          p.exec(`INSERT INTO visits (user_agent) VALUES ('w${ok}')`, 'app.db', 0);
          ok += 1;
        } catch {
          failed += 1;
        }
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const done = tick();
  t.teardown(async () => {
    stopped = true;
    await done;
  });
  return {
    committed: () => ok,
    async stop() {
      stopped = true;
      await done;
      return { ok, failed };
    },
  };
}

/** node-a primary with the app; node-b a replica whose supervisor has the extra migration. */
async function twoNodes(
  t: Test,
  migrationFor: (c: Cluster, b: LitefsNode) => string,
  extra: string[] = [],
) {
  const c = await createCluster(t, ['node-a', 'node-b']);
  const [a, b] = [c.node('node-a'), c.node('node-b')];
  const base = `node ${join(EXAMPLE, 'migrate.mjs')}`;
  a.configure({ exec: [{ cmd: c.supervisorCmd(a, { migrate: [base], promote: false }) }] });
  const migrate = [base, migrationFor(c, b)];
  b.configure({ exec: [{ cmd: c.supervisorCmd(b, { migrate, promote: false, extra }) }] });
  a.start();
  await a.waitLog(/primary lease acquired/);
  b.start();
  await a.waitEvent('app.start', 40_000);
  await b.waitEvent('app.start', 40_000);
  return { c, a, b };
}

/** The migration for node-b, gated by the test, in the cluster's dir. */
function lockedMigration(c: Cluster, b: LitefsNode): GatedMigration {
  return gatedMigration(c.dir, 'migrate-v2', join(b.mountDir, 'app.db'), MIGRATION);
}

if (!skipUnlessReal(t)) {
  t.setTimeout(180_000);

  t.test(
    '(a) refused twice by a held write lock, then applied once under write load',
    async (t) => {
      let m: GatedMigration | undefined;
      const { c, a, b } = await twoNodes(
        t,
        (c, b) => {
          m = lockedMigration(c, b);
          return m.cmd;
        },
        // Beyond the two refusals, the writer's own commits may refuse a try (no busy timeout):
        // room for that, so the run ends by success, not by the slow retry.
        ['--migrate-retries', '6'],
      );
      const w = writer(t, c);
      await waitFor(() => w.committed() >= 20, {
        timeoutMs: 20_000,
        message: 'the writer commits',
      });
      // The lease moves to node-b while its app runs: S7 migrates beside the writer.
      const res = await fetch(`${a.url}/handoff?nodeID=${await b.nodeId()}`, { method: 'POST' });
      t.equal(res.status, 200);
      await b.waitPrimary(10_000);
      await tryUnderLock(t, b, m!, 1);
      await tryUnderLock(t, b, m!, 2);
      m!.allow(Infinity);
      await waitFor(() => count(b, 'migrate.complete') >= 1 || !b.running(), {
        timeoutMs: 90_000,
        message: 'node-b completed its migrations',
      });
      const after = w.committed();
      await waitFor(() => w.committed() >= after + 20, {
        timeoutMs: 20_000,
        message: 'the writer commits beside the migrated schema',
      });
      const writes = await w.stop();

      const fails = recordsOf(b, 'migrate.fail');
      t.ok(
        fails.length >= 2,
        `${fails.length} tries failed: the two under the held lock, at least`,
      );
      for (const f of fails) {
        t.match(f, { command: m!.cmd, exitCode: /^[1-9]/, output: LOCKED }, "SQLite's own refusal");
      }
      await assertBackoff(t, b, m!.cmd);
      t.equal(m!.tries(), fails.length + 1, 'one more try than failures: the last one succeeded');
      t.equal(count(b, 'migrate.complete'), 1, 'migrate.complete once');
      t.equal(
        b.rows('migrated'),
        1,
        `applied once in ${b.name}'s file: the failed tries left nothing`,
      );
      await waitFor(() => a.rows('migrated') === 1, { timeoutMs: 10_000, message: 'replicated' });
      t.equal(a.rows('migrated'), 1, `the same in ${a.name}'s file`);
      t.ok(a.running() && b.running(), 'no LiteFS went down');
      t.equal(count(b, 'app.start'), 1, "node-b's app kept running");
      t.equal((await b.health('/primary')).status, 200);
      t.comment(
        `${fails.length} failures (${fails.length - 2} from the writer's commits); writer: ${writes.ok} commits, ${writes.failed} refused (the handoff and the held lock)`,
      );
      await waitFor(() => a.rows('visits') === b.rows('visits'), {
        timeoutMs: 10_000,
        message: 'node-a has every row of node-b',
      });
      t.equal(b.rows('visits'), a.rows('visits'), 'both nodes have every committed row');
      t.ok((b.rows('visits') ?? 0) >= writes.ok, 'no committed row lost');
    },
  );

  t.test('(b) refused at every try while the app runs: it keeps serving', async (t) => {
    let m: GatedMigration | undefined;
    const { a, b } = await twoNodes(
      t,
      (c, b) => {
        m = lockedMigration(c, b);
        return m.cmd;
      },
      ['--migrate-retries', '2'],
    );
    const res = await fetch(`${a.url}/handoff?nodeID=${await b.nodeId()}`, { method: 'POST' });
    t.equal(res.status, 200);
    await b.waitPrimary(10_000);
    // The lock is held from the first try to the end of the checks: every try meets it.
    await m!.waitTry(1);
    const lock = holdWriteLock(t, join(b.mountDir, 'app.db'));
    m!.allow(Infinity);
    await waitFor(() => count(b, 'migrate.fail') >= 3 || !b.running(), {
      timeoutMs: 30_000,
      message: 'three tries failed (--migrate-retries 2)',
    });
    const fails = recordsOf(b, 'migrate.fail');
    for (const f of fails) t.match(f, { output: LOCKED }, "SQLite's own refusal");
    // Retries used up beside a running app: the third failure announces the slow retry.
    await assertBackoff(t, b, m!.cmd, 3);
    t.ok(b.running(), "node-b's LiteFS is up: the supervisor did not exit");
    t.equal(count(b, 'app.start'), 1, 'the app was never stopped');
    const health = await b.health('/health');
    t.equal(
      health.status,
      200,
      'a primary with a failed migration is healthy (docs/deploying.md, A migration fails)',
    );
    const status = (await b.health('/status')).body as {
      role: string;
      migrations: { command: string; state: string; failures: number; retryAt: string | null }[];
    };
    t.equal(status.role, 'primary');
    t.match(
      status.migrations.find((x) => x.command === m!.cmd),
      { state: 'failed', failures: 3, retryAt: fails[2]?.retryAt },
      '/status: the failure and the next try, 5 minutes on',
    );
    const metrics = await fetch(`${b.healthUrl}/metrics`).then((r) => r.text());
    t.match(metrics, /litefs_supervisor_migration_failures 3/);
    t.equal(m!.tries(), 3, 'three tries, then the slow retry waits');
    t.ok(a.running(), 'node-a is up');

    // The lock released, node-b is writable as it was: nothing of the migration in any file.
    lock.release();
    b.exec("INSERT INTO visits (user_agent) VALUES ('still-writable')");
    const rows = b.rows('visits');
    await waitFor(() => a.rows('visits') === rows, { timeoutMs: 10_000, message: 'replicated' });
    t.equal(a.rows('visits'), rows, `${a.name} has node-b's write`);
    for (const n of [a, b])
      t.equal(n.rows('migrated'), undefined, `no migrated table on ${n.name}`);
  });

  t.test(
    '(c) the same before the app started: the lease goes to the serving node, no exit',
    async (t) => {
      const { c, a, b } = await twoNodes(t, () => 'true');
      a.exec("INSERT INTO visits (user_agent) VALUES ('1'), ('2'), ('3')");
      await waitFor(() => b.rows('visits') === 3, { timeoutMs: 10_000, message: 'replicated' });
      // node-b restarts as a new version whose migration meets the held lock at every try, and
      // takes the lease (sync-first promotion) before its app starts.
      await b.stop('SIGINT');
      const m = lockedMigration(c, b);
      const base = `node ${join(EXAMPLE, 'migrate.mjs')}`;
      b.configure({
        exec: [
          {
            cmd: c.supervisorCmd(b, {
              migrate: [base, m.cmd],
              extra: ['--migrate-retries', '1'],
            }),
          },
        ],
        env: { FLY_IMAGE_REF: 'registry/app:v2' },
      });
      b.start();
      await b.waitEvent('promote.request', 40_000);
      // Each try runs while node-b holds the lease again (S14 takes it back for the try) and the
      // test holds the write lock; released once the try failed, so LiteFS's demotion at the
      // hand-back does not wait on it (hand-back.test.ts: Store.Recover takes the write lock).
      // Each try runs once node-a follows node-b: a synced candidate whose app serves is there
      // to take the lease when the try fails (else node-b keeps it until the try is due).
      for (const n of [1, 2]) {
        await m.waitTry(n);
        await waitFor(async () => (await a.info()).primary?.hostname === b.name, {
          timeoutMs: 20_000,
          intervalMs: 50,
          message: `${a.name} follows ${b.name} before try ${n}`,
        });
        await tryUnderLock(t, b, m, n);
      }
      // S14: between its tries, and for good once they are spent, node-b hands the lease to
      // node-a, whose app serves; node-b then waits without its app instead of exiting 3 (a
      // restart would take the lease from the serving node again).
      await b.waitEvent('migrate.given-up', 40_000);
      t.ok(b.running(), "node-b's LiteFS runs on: no exit, no restart loop");
      const fails = recordsOf(b, 'migrate.fail');
      t.equal(fails.length, 2, 'two tries (--migrate-retries 1)');
      for (const f of fails) t.match(f, { output: LOCKED }, "SQLite's own refusal");
      t.match(fails[0], { tries: '1', retryInMs: '1000' }, 'the first: a retry in 1 s');
      t.match(fails[1], { tries: '2' }, 'the second: no retries left');
      t.equal(m.tries(), 2, 'two tries ran');
      t.comment(
        `node-b: ${b
          .events()
          .filter((e) => /^(handback\.|migrate\.|promote\.|role\.)/.test(e))
          .join(' ')}`,
      );
      const moved = recordsOf(b, 'handback.done');
      t.ok(
        moved.some((r) => r.why === 'retry'),
        'the lease went to node-a between the tries',
      );
      t.equal(
        moved.filter((r) => r.why === 'spent').length,
        1,
        'and for good once they were spent',
      );
      t.equal(count(b, 'app.start'), 0, "node-b's app never started");
      t.equal((await b.health('/health')).status, 503, 'node-b is not healthy: the deploy stops');
      await a.waitPrimary(15_000);
      t.ok(a.running(), 'node-a never went down');
      t.equal(count(a, 'app.start'), 1, "node-a's app kept running");
      t.equal(count(a, 'migrate.start'), 1, 'node-a ran no migration for the hand-backs');
      t.equal(a.rows('visits'), 3, 'no row lost');
      for (const n of [a, b]) {
        t.equal(n.rows('migrated'), undefined, `nothing of the migration on ${n.name}`);
      }
      await waitFor(async () => (await a.health('/primary')).status === 200, {
        timeoutMs: 15_000,
        message: 'node-a serves as primary again',
      });
      a.exec("INSERT INTO visits (user_agent) VALUES ('after')");
      await waitFor(() => b.rows('visits') === 4, {
        timeoutMs: 10_000,
        message: 'node-a writes, node-b replicates',
      });
    },
  );
}
