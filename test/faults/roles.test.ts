// Role faults: `.primary` flapping on one fake node, the lease flapping on one
// node during its start, and the primary moving A -> B -> A within a second, several times,
// on the simulated cluster with a supervisor on each node. Each case: alive and live
// throughout, no migration run twice, no app restarted, the state docs/design.md says at the end.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { supervisorArgsFor } from '../../testkit/args.js';
import { FakeCluster } from '../../testkit/cluster.js';
import { countRows, createUserDb } from '../../testkit/sqlite.js';
import { type Cli, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';
import {
  APP_FOREVER,
  appReady,
  appStarts,
  assertAppUntouched,
  assertLive,
  eventCount,
  lines,
  liveProbe,
  MIGRATE_OK,
  nodeRun,
  readyPid,
  repeatFor,
  reportProbes,
  status,
  stopWith,
} from './helpers.js';

reportProbes(t);

/** Each migration run at most once to completion, and none started after one completed. */
function assertMigratedAtMostOnce(t: Test, cli: Cli, log: string, who: string): number {
  const events = cli.events();
  const done = events.filter((e) => e === 'migrate.done').length;
  t.ok(done <= 1, `${who}: the migration completed at most once (${done})`);
  const lastStart = events.lastIndexOf('migrate.start');
  const firstDone = events.indexOf('migrate.done');
  t.ok(
    firstDone === -1 || lastStart < firstDone,
    `${who}: no migration started after one completed`,
  );
  t.ok(
    lines(log).length <= eventCount(cli, 'migrate.start'),
    `${who}: every run in the log was a logged start (${lines(log).length})`,
  );
  return done;
}

await t.test('.primary flapping on a replica, from its start on', async (t) => {
  const run = await nodeRun(t, { role: 'replica' });
  const cli = run.start();
  const url = await cli.healthUrl();
  const probe = liveProbe(url, '.primary flapping');
  const primaryFile = join(run.fake.mountDir, '.primary');
  // No primary / node-a / no primary / node-b / an unreadable `.primary`, every 40 ms.
  await repeatFor(2500, 40, (i) => {
    switch (i % 5) {
      case 0:
      case 2:
        run.fake.loseLeader();
        break;
      case 1:
        run.fake.becomeReplica('node-a');
        break;
      case 3:
        run.fake.becomeReplica('node-b');
        break;
      case 4:
        writeFileSync(primaryFile, '\0\n');
        break;
    }
  });
  run.fake.becomeReplica('node-a');
  const pid = await appReady(cli, run.readyFile);
  await waitFor(
    async () => {
      const s = await status(url);
      return s.state === 'running' && s.role === 'replica';
    },
    { message: 'running as a replica' },
  );
  assertLive(t, await probe.stop(), '.primary flapping');
  t.same(lines(run.migrateLog), [], 'a replica never migrates');
  assertAppUntouched(t, cli, run.readyFile, pid);
  t.equal(await stopWith(cli, 'SIGTERM'), 'SIGTERM');
});

await t.test(
  'the lease flapping on one node while it starts: one completed migration',
  async (t) => {
    const run = await nodeRun(t, { role: 'none' });
    const cli = run.start();
    const url = await cli.healthUrl();
    const probe = liveProbe(url, 'lease flapping at start');
    // Primary, no primary, replica of node-b (unsynced: it just lost the lease), ... every 60 ms.
    await repeatFor(2500, 60, (i) => {
      if (i % 3 === 0) run.fake.becomePrimary();
      else if (i % 3 === 1) run.fake.loseLeader();
      else run.fake.becomeReplica('node-b');
    });
    run.fake.becomePrimary();
    const pid = await appReady(cli, run.readyFile);
    await waitFor(
      async () => {
        const s = await status(url);
        return s.state === 'running' && s.role === 'primary';
      },
      { message: 'running as primary' },
    );
    assertLive(t, await probe.stop(), 'lease flapping at start');
    t.equal(assertMigratedAtMostOnce(t, cli, run.migrateLog, 'node'), 1, 'migrated once in all');
    assertAppUntouched(t, cli, run.readyFile, pid);
    t.equal(await stopWith(cli, 'SIGINT'), 'SIGINT');
  },
);

await t.test('the primary moving A -> B -> A within a second, several times', async (t) => {
  const DB = 'sqlite.db';
  const dir = t.testdir();
  const cluster = await FakeCluster.start({
    nodes: [{ name: 'a' }, { name: 'b' }],
    db: DB,
    primary: 'a',
    heartbeatMs: 200,
  });
  t.teardown(() => cluster.close());
  createUserDb(cluster.dbPath('a'), 3);
  cluster.flush();
  await waitFor(() => countRows(cluster.dbPath('b')) === 3, { message: 'b replicated' });

  const peers = cluster.names.map((x) => cluster.node(x).url).join(',');
  const sup = (name: string) => {
    const n = cluster.node(name);
    const files = {
      migrateLog: join(dir, `${name}-migrate.log`),
      readyFile: join(dir, `${name}-ready.json`),
    };
    const cli = startCli(
      t,
      [
        ...supervisorArgsFor(n, {
          dataDir: dir,
          stateFile: join(dir, `${name}-state.json`),
          db: DB,
        }),
        '--peers',
        peers,
        '--min-free-disk',
        '0',
        '--migrate',
        MIGRATE_OK,
        '--',
        ...APP_FOREVER,
      ],
      { env: { FIXTURE_MIGRATE_LOG: files.migrateLog, FIXTURE_READY_FILE: files.readyFile } },
    );
    return { cli, ...files };
  };
  const a = sup('a');
  const b = sup('b');
  const [pidA, pidB] = await Promise.all([
    appReady(a.cli, a.readyFile),
    appReady(b.cli, b.readyFile),
  ]);
  t.equal(lines(a.migrateLog).length, 1, 'a migrated at start');
  t.same(lines(b.migrateLog), [], 'b, a replica, did not');
  const [urlA, urlB] = await Promise.all([a.cli.healthUrl(), b.cli.healthUrl()]);
  const probes = [liveProbe(urlA, 'A->B->A on a'), liveProbe(urlB, 'A->B->A on b')];

  // Four round trips A -> B -> A, each well within a second; the pause while B holds the
  // lease grows, so B's supervisor sees it anywhere from not at all to long enough to act.
  for (const hold of [0, 50, 150, 300]) {
    const began = Date.now();
    await cluster.elect('b');
    await new Promise((r) => setTimeout(r, hold));
    await cluster.elect('a');
    t.ok(Date.now() - began < 1000, `A -> B -> A in ${Date.now() - began} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await waitFor(
    async () => {
      const [sa, sb] = await Promise.all([status(urlA), status(urlB)]);
      return (
        sa.state === 'running' &&
        sa.role === 'primary' &&
        sb.state === 'running' &&
        sb.role === 'replica'
      );
    },
    { timeoutMs: 10_000, message: 'a running as primary, b as a replica' },
  );
  const [ra, rb] = await Promise.all(probes.map((p) => p.stop()));
  assertLive(t, ra!, 'a');
  assertLive(t, rb!, 'b');
  t.equal(a.cli.child.exitCode, null, 'a alive');
  t.equal(b.cli.child.exitCode, null, 'b alive');
  t.equal(lines(a.migrateLog).length, 1, 'a never migrated again after getting the lease back');
  t.equal(eventCount(a.cli, 'migrate.start'), 1);
  // b may migrate during one of its terms (S7, --on-promotion migrate), but only once.
  assertMigratedAtMostOnce(t, b.cli, b.migrateLog, 'b');
  const count = (e: string) => `${eventCount(b.cli, e)} ${e}`;
  t.comment(
    `b: ${['primary.check', 'migrate.start', 'migrate.done', 'migrate.aborted', 'migrate.skip'].map(count).join(', ')}`,
  );
  t.equal(appStarts(a.cli), 1, 'a: one app start');
  t.equal(appStarts(b.cli), 1, 'b: one app start');
  t.equal(readyPid(a.readyFile), pidA, 'a: never restarted');
  t.equal(readyPid(b.readyFile), pidB, 'b: never restarted');
  t.equal(eventCount(a.cli, 'fence.enter') + eventCount(b.cli, 'fence.enter'), 0, 'no fence');
  t.equal(countRows(cluster.dbPath('a')), 3, 'the data is intact on a');
  t.equal(countRows(cluster.dbPath('b')), 3, 'and on b');
  t.same(
    cluster.history.filter((e) => e.type === 'snapshot' && e.overwrote),
    [],
    'no snapshot overwrote a database',
  );
  t.equal(await stopWith(a.cli, 'SIGTERM'), 'SIGTERM');
  t.equal(await stopWith(b.cli, 'SIGTERM'), 'SIGTERM');
});
