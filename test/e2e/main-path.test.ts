// End to end on the built CLI against the fake LiteFS: who migrates, who waits, and when
// the app starts. Real processes: fixture scripts stand in for the migration and the app.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { FakeLitefs } from '../../testkit/fake-litefs.js';
import { FIXTURES, getJson, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const node = process.execPath;

function readLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

async function setup(
  t: Test,
  role: 'primary' | 'replica' | 'unknown',
  lag: number | 'unsynced' = 0,
) {
  const dir = t.testdir();
  const fake = await FakeLitefs.start({ dbs: ['sqlite.db'] });
  t.teardown(() => fake.close());
  await fake.writeDb('sqlite.db', { sqlite: true });
  await fake.setPos('sqlite.db', 5n);
  if (role === 'primary') await fake.becomePrimary();
  else if (role === 'replica') await fake.becomeReplica('node-a');
  else await fake.loseLeader();
  if (role === 'replica') await fake.setLag(lag);
  const migrateLog = join(dir, 'migrate.log');
  const signalLog = join(dir, 'signals.log');
  const env = { FIXTURE_MIGRATE_LOG: migrateLog, FIXTURE_SIGNAL_LOG: signalLog };
  const base = [
    '--litefs-config',
    'none',
    '--litefs-url',
    fake.url,
    '--mount-dir',
    fake.mountDir,
    '--db',
    'sqlite.db',
    '--state-file',
    join(dir, 'state.json'),
    '--health-addr',
    '127.0.0.1:0',
    '--poll-interval',
    '100ms',
  ];
  return { dir, fake, migrateLog, signalLog, env, base };
}

t.test('a replica never migrates; it starts the app once synced', async (t) => {
  const { fake, base, env, migrateLog } = await setup(t, 'replica', 0);
  const cli = startCli(
    t,
    [
      ...base,
      '--migrate',
      `${node} ${FIXTURES}migrate-ok.mjs`,
      '--',
      node,
      `${FIXTURES}app-forever.mjs`,
    ],
    { env },
  );
  await cli.waitEvent('app.started');
  const url = await cli.healthUrl();
  t.equal((await getJson(`${url}/health`)).status, 200);
  t.equal((await getJson(`${url}/replica`)).status, 200);
  t.equal((await getJson(`${url}/primary`)).status, 503);
  t.same(readLines(migrateLog), [], 'no migration ran');
  t.notOk(cli.events().includes('migrate.start'));
  t.same(
    fake.requests.filter((r) => r.method !== 'GET'),
    [],
    'S12: nothing but reads against LiteFS',
  );
  cli.child.kill('SIGTERM');
  t.same(
    await cli.exited,
    { code: null, signal: 'SIGTERM' },
    'a requested stop ends by the signal',
  );
});

t.test('a primary migrates once, then starts the app', async (t) => {
  const { base, env, migrateLog } = await setup(t, 'primary');
  const cli = startCli(
    t,
    [
      ...base,
      '--migrate',
      `${node} ${FIXTURES}migrate-ok.mjs one`,
      '--',
      node,
      `${FIXTURES}app-forever.mjs`,
    ],
    { env },
  );
  await cli.waitEvent('app.started');
  const start = await cli.waitEvent('migrate.start');
  t.equal(start.db, 'sqlite.db');
  t.equal(start.txid, '0000000000000005');
  t.equal(readLines(migrateLog).length, 1, 'exactly one run');
  t.match(
    cli.records.find((r) => r.event === 'migrate.output' && r.stream === 'stdout'),
    { command: 'migrate[1]' },
  );
  const url = await cli.healthUrl();
  t.equal((await getJson(`${url}/primary`)).status, 200);
  t.equal((await getJson(`${url}/replica`)).status, 503);
  // Polls go on: the migration must not run again.
  await new Promise((r) => setTimeout(r, 500));
  t.equal(readLines(migrateLog).length, 1, 'still one run after more polls');
  cli.child.kill('SIGINT');
  t.same(await cli.exited, { code: null, signal: 'SIGINT' }, 'a requested stop ends by the signal');
});

t.test('an unsynced replica waits (503, syncing), then starts', async (t) => {
  const { fake, base, env } = await setup(t, 'replica', 'unsynced');
  const cli = startCli(t, [...base, '--', node, `${FIXTURES}app-forever.mjs`], { env });
  await cli.waitEvent('sync.wait');
  const url = await cli.healthUrl();
  const h = await getJson(`${url}/health`);
  t.equal(h.status, 503);
  t.equal(h.body.state, 'syncing');
  t.ok(h.headers.get('retry-after'));
  t.equal((await getJson(`${url}/status`)).body.state, 'syncing');
  t.equal((await getJson(`${url}/health/live`)).status, 200, 'live while waiting');
  t.notOk(cli.events().includes('app.start'));
  await fake.setLag(12);
  await cli.waitEvent('sync.done');
  await cli.waitEvent('app.started');
  await waitFor(async () => (await getJson(`${url}/health`)).status === 200, {
    timeoutMs: 5000,
    message: 'health 200',
  });
  cli.child.kill('SIGTERM');
  await cli.exited;
});

t.test('LiteFS unreachable, then reachable', async (t) => {
  const { fake, base, env } = await setup(t, 'replica', 0);
  await fake.stop();
  const cli = startCli(t, [...base, '--', node, `${FIXTURES}app-forever.mjs`], { env });
  await cli.waitEvent('litefs.wait');
  const url = await cli.healthUrl();
  t.equal((await getJson(`${url}/status`)).body.state, 'waiting-for-litefs');
  t.equal((await getJson(`${url}/health`)).status, 503);
  await fake.restart();
  await cli.waitEvent('litefs.connected');
  await cli.waitEvent('app.started');
  cli.child.kill('SIGTERM');
  await cli.exited;
});

t.test('no primary known: waits; --sync-timeout exits 5', async (t) => {
  const { base, env } = await setup(t, 'unknown');
  const cli = startCli(
    t,
    [...base, '--sync-timeout', '1s', '--', node, `${FIXTURES}app-forever.mjs`],
    { env },
  );
  await cli.waitEvent('primary.wait');
  t.equal((await cli.exited).code, 5);
  t.ok(cli.events().includes('sync.timeout'));
  t.notOk(cli.events().includes('app.start'));
});

t.test('a failed migration is retried, then exits 3 and never starts the app', async (t) => {
  const { base, env, dir } = await setup(t, 'primary');
  const marker = join(dir, 'app-ran');
  const cli = startCli(
    t,
    [
      ...base,
      '--migrate-retries',
      '1',
      '--migrate',
      `${node} ${FIXTURES}migrate-fail.mjs 7`,
      '--migrate',
      `${node} ${FIXTURES}migrate-ok.mjs two`,
      '--',
      node,
      '-e',
      `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`,
    ],
    { env },
  );
  t.equal((await cli.exited).code, 3);
  const fails = cli.records.filter((r) => r.event === 'migrate.fail');
  t.same(
    fails.map((r) => [r.exitCode, r.tries]),
    [
      ['7', '1'],
      ['7', '2'],
    ],
    'tried twice (--migrate-retries 1), each failure logged with its exit code',
  );
  t.match(fails[0]?.retryInMs, '1000', 'the retry came after 1 s');
  t.match(fails[0]?.output, /migration failed: exiting with 7/, "with its output's last lines");
  t.equal(
    cli.events().filter((e) => e === 'migrate.confirm').length,
    2,
    'each try re-confirmed (S1)',
  );
  t.notOk(cli.events().includes('app.start'));
  t.same(readLines(env.FIXTURE_MIGRATE_LOG), [], 'the second migration never ran');
  t.throws(() => readFileSync(marker), 'the app never ran');
});

t.test('a migration that times out exits 3', async (t) => {
  const { base, env } = await setup(t, 'primary');
  const cli = startCli(
    t,
    [
      ...base,
      '--migrate-timeout',
      '2s',
      '--migrate-retries',
      '0',
      '--migrate',
      `${node} ${FIXTURES}migrate-slow.mjs 20000`,
      '--',
      node,
      `${FIXTURES}app-forever.mjs`,
    ],
    { env },
  );
  t.equal((await cli.exited).code, 3);
  t.ok(cli.events().includes('migrate.fail'));
  t.notOk(readLines(env.FIXTURE_MIGRATE_LOG).includes('done'), 'the migration was stopped');
  // 2 s, not less: long enough for node to start the fixture and install its handlers even
  // on a loaded machine, so the SIGTERM is always there to be seen (no conditional assertion).
  t.same(readLines(env.FIXTURE_MIGRATE_LOG), ['start'], 'it had started, and never finished');
  t.same(readLines(env.FIXTURE_SIGNAL_LOG), ['SIGTERM'], 'SIGTERM reached it through its group');
});

t.test('losing the lease mid-migration aborts it; the node carries on as a replica', async (t) => {
  const { fake, base, env } = await setup(t, 'primary');
  const cli = startCli(
    t,
    [
      ...base,
      '--migrate',
      `${node} ${FIXTURES}migrate-slow.mjs 20000`,
      '--',
      node,
      `${FIXTURES}app-forever.mjs`,
    ],
    { env },
  );
  await cli.waitEvent('migrate.start');
  await waitFor(() => readLines(env.FIXTURE_MIGRATE_LOG).includes('start'), {
    timeoutMs: 5000,
    message: 'migration started',
  });
  await fake.becomeReplica('node-b');
  await fake.setLag(0);
  await cli.waitEvent('migrate.abort');
  await cli.waitEvent('migrate.aborted');
  await cli.waitEvent('app.started');
  t.same(readLines(env.FIXTURE_SIGNAL_LOG), ['SIGTERM']);
  t.notOk(readLines(env.FIXTURE_MIGRATE_LOG).includes('done'), 'the migration did not finish');
  const url = await cli.healthUrl();
  const status = await getJson(`${url}/status`);
  t.equal(status.body.role, 'replica');
  t.match((status.body.migrations as unknown[])[0], { state: 'aborted' });
  cli.child.kill('SIGTERM');
  await cli.exited;
});

t.test('--setup runs first on every node, in order; a failing one exits 3', async (t) => {
  t.test('a replica: setup, then sync, then the app', async (t) => {
    const { fake, base, env, dir } = await setup(t, 'replica', 'unsynced');
    const log = join(dir, 'setup.log');
    const cli = startCli(
      t,
      [
        ...base,
        '--setup',
        `echo one >> ${log}`,
        '--setup',
        `echo two >> ${log}`,
        '--',
        node,
        `${FIXTURES}app-forever.mjs`,
      ],
      { env },
    );
    await cli.waitEvent('sync.wait');
    t.same(readLines(log), ['one', 'two'], 'both ran, in order, before the wait for sync');
    await fake.setLag(12);
    await cli.waitEvent('app.started');
    const events = cli.events();
    t.ok(events.lastIndexOf('setup.done') < events.indexOf('sync.wait'), 'setup before sync.wait');
    cli.child.kill('SIGTERM');
    await cli.exited;
  });
  t.test('a failed setup command: exit 3, nothing after it', async (t) => {
    const { base, env, migrateLog } = await setup(t, 'primary');
    const cli = startCli(
      t,
      [
        ...base,
        '--setup',
        'echo no swap here >&2; exit 7',
        '--migrate',
        `${node} ${FIXTURES}migrate-ok.mjs`,
        '--',
        node,
        `${FIXTURES}app-forever.mjs`,
      ],
      { env },
    );
    t.same(await cli.exited, { code: 3, signal: null });
    const fail = cli.records.find((r) => r.event === 'setup.fail');
    t.match(fail, { exitCode: '7', command: 'echo no swap here >&2; exit 7' });
    t.ok(
      cli.records.some((r) => r.event === 'setup.output' && /no swap here/.test(String(r.msg))),
      'its output is logged',
    );
    t.same(readLines(migrateLog), [], 'no migration ran');
    t.notOk(cli.events().includes('app.start'));
  });
});
