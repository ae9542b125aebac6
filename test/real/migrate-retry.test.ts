// S1 retries on real LiteFS 0.5.11: a failing migration must not take the cluster down.
// (a) a migration that fails twice, then succeeds, on promotion while a writer commits every
//     10 ms: one successful run in the end, no node down, no row lost;
// (b) a migration that always fails on promotion while the app runs: the app keeps serving,
//     nothing exits, /status shows the failure and the next try;
// (c) the same before the app started: between tries and once they are spent the lease goes to
//     the node whose app serves (S14); that node waits without its app, the others stay up.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { waitFor } from '../helpers/wait.js';
import {
  type Cluster,
  createCluster,
  EXAMPLE,
  FIXTURES,
  type LitefsNode,
  skipUnlessReal,
} from './harness.js';

const count = (n: LitefsNode, event: string) => n.events().filter((e) => e === event).length;
const runsOf = (file: string) => {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
};

/** A writer committing through the current primary's mount every 10 ms; stopped on teardown. */
function writer(t: Test, c: Cluster) {
  let ok = 0;
  let failed = 0;
  let stopped = false;
  let primary: LitefsNode | undefined;
  const tick = async () => {
    while (!stopped) {
      const p = await c.primary();
      if (p !== primary) primary = p;
      if (p) {
        try {
          p.exec(`INSERT INTO visits (user_agent) VALUES ('w${ok}')`);
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
    async stop() {
      stopped = true;
      await done;
      return { ok, failed };
    },
  };
}

/** node-a primary with the app; node-b a replica whose supervisor has the extra migration. */
async function twoNodes(t: Test, migrationFor: (b: LitefsNode) => string, extra: string[] = []) {
  const c = await createCluster(t, ['node-a', 'node-b']);
  const [a, b] = [c.node('node-a'), c.node('node-b')];
  const base = `node ${join(EXAMPLE, 'migrate.mjs')}`;
  a.configure({ exec: [{ cmd: c.supervisorCmd(a, { migrate: [base], promote: false }) }] });
  const migrate = [base, migrationFor(b)];
  b.configure({ exec: [{ cmd: c.supervisorCmd(b, { migrate, promote: false, extra }) }] });
  a.start();
  await a.waitLog(/primary lease acquired/);
  b.start();
  await a.waitEvent('app.start', 40_000);
  await b.waitEvent('app.start', 40_000);
  return { c, a, b };
}

if (!skipUnlessReal(t)) {
  t.setTimeout(150_000);

  t.test('(a) fails twice, then succeeds under write load: one run, no node down', async (t) => {
    const counter = join(t.testdir(), 'runs');
    const flaky = (n: LitefsNode) =>
      `node ${FIXTURES}migrate-flaky.mjs ${counter} 2 ${join(n.mountDir, 'app.db')}`;
    const { c, a, b } = await twoNodes(t, flaky);
    const w = writer(t, c);
    await new Promise((r) => setTimeout(r, 300));
    // The lease moves to node-b while its app runs: S7 migrates beside the writer.
    const res = await fetch(`${a.url}/handoff?nodeID=${await b.nodeId()}`, { method: 'POST' });
    t.equal(res.status, 200);
    await b.waitPrimary(10_000);
    await waitFor(() => count(b, 'migrate.complete') >= 1, {
      timeoutMs: 30_000,
      message: 'node-b completed its migrations',
    });
    await new Promise((r) => setTimeout(r, 300));
    const writes = await w.stop();
    t.equal(runsOf(counter), 3, 'the flaky migration ran three times: two failures, one success');
    t.equal(count(b, 'migrate.fail'), 2, 'each failure logged');
    const fail = b.records().find((r) => r.event === 'migrate.fail');
    t.match(fail, { exitCode: '1', output: /database is locked/ }, 'with its exit code and output');
    t.equal(b.rows('flaky'), 1, 'the migration applied once');
    await waitFor(() => a.rows('flaky') === 1, { timeoutMs: 10_000, message: 'replicated' });
    t.ok(a.running() && b.running(), 'no LiteFS went down');
    t.equal(count(b, 'app.start'), 1, "node-b's app kept running");
    t.equal((await b.health('/primary')).status, 200);
    t.comment(`writer: ${writes.ok} commits, ${writes.failed} failed (during the handoff)`);
    t.equal(b.rows('visits'), a.rows('visits'), 'both nodes have every committed row');
    t.ok((b.rows('visits') ?? 0) >= writes.ok, 'no committed row lost');
  });

  t.test('(b) always fails on promotion while the app runs: it keeps serving', async (t) => {
    const counter = join(t.testdir(), 'runs');
    const broken = (n: LitefsNode) =>
      `node ${FIXTURES}migrate-flaky.mjs ${counter} always ${join(n.mountDir, 'app.db')}`;
    const { a, b } = await twoNodes(t, broken, ['--migrate-retries', '2']);
    const res = await fetch(`${a.url}/handoff?nodeID=${await b.nodeId()}`, { method: 'POST' });
    t.equal(res.status, 200);
    await b.waitPrimary(10_000);
    await waitFor(() => count(b, 'migrate.fail') >= 3, {
      timeoutMs: 30_000,
      message: 'three tries failed (--migrate-retries 2)',
    });
    await new Promise((r) => setTimeout(r, 1000));
    t.equal(runsOf(counter), 3, 'three tries, then the slow retry waits');
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
    const m = status.migrations.find((x) => x.command.includes('migrate-flaky'));
    t.match(
      m,
      { state: 'failed', failures: 3, retryAt: /Z$/ },
      '/status: the failure and next try',
    );
    const metrics = await fetch(`${b.healthUrl}/metrics`).then((r) => r.text());
    t.match(metrics, /litefs_supervisor_migration_failures 3/);
    t.ok(a.running(), 'node-a is up');
    b.exec("INSERT INTO visits (user_agent) VALUES ('still-writable')");
    await waitFor(() => (a.rows('visits') ?? 0) >= 1, { timeoutMs: 10_000, message: 'replicated' });
  });

  t.test(
    '(c) the same before the app started: the lease goes to the serving node, no exit',
    async (t) => {
      const counter = join(t.testdir(), 'runs');
      const broken = (n: LitefsNode) =>
        `node ${FIXTURES}migrate-flaky.mjs ${counter} always ${join(n.mountDir, 'app.db')}`;
      const { c, a, b } = await twoNodes(t, () => 'true');
      a.exec("INSERT INTO visits (user_agent) VALUES ('1'), ('2'), ('3')");
      await waitFor(() => b.rows('visits') === 3, { timeoutMs: 10_000, message: 'replicated' });
      // node-b restarts as a new version whose migration always fails, and takes the lease
      // (sync-first promotion) before its app starts.
      await b.stop('SIGINT');
      const base = `node ${join(EXAMPLE, 'migrate.mjs')}`;
      b.configure({
        exec: [
          {
            cmd: c.supervisorCmd(b, {
              migrate: [base, broken(b)],
              extra: ['--migrate-retries', '1'],
            }),
          },
        ],
        env: { FLY_IMAGE_REF: 'registry/app:v2' },
      });
      b.start();
      await b.waitEvent('promote.request', 40_000);
      // S14: between its tries, and for good once they are spent, node-b hands the lease to
      // node-a, whose app serves; node-b then waits without its app instead of exiting 3 (a
      // restart would take the lease from the serving node again).
      await b.waitEvent('migrate.given-up', 40_000);
      t.ok(b.running(), "node-b's LiteFS runs on: no exit, no restart loop");
      t.equal(count(b, 'migrate.fail'), 2, 'two tries (--migrate-retries 1)');
      t.comment(
        `node-b: ${b
          .events()
          .filter((e) => /^(handback\.|migrate\.|promote\.|role\.)/.test(e))
          .join(' ')}`,
      );
      t.ok(count(b, 'handback.done') >= 2, 'the lease went back after each try');
      t.equal(count(b, 'app.start'), 0, "node-b's app never started");
      t.equal((await b.health('/health')).status, 503, 'node-b is not healthy: the deploy stops');
      await a.waitPrimary(15_000);
      t.ok(a.running(), 'node-a never went down');
      t.equal(count(a, 'app.start'), 1, "node-a's app kept running");
      t.equal(count(a, 'migrate.start'), 1, 'node-a ran no migration for the hand-backs');
      t.equal(a.rows('visits'), 3, 'no row lost');
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
