// End to end on the built CLI: the guards that need only one fake LiteFS node (plus fake
// peers): fenced with nobody to take the lease (c), a genuine new cluster (d), an unreachable
// peer on an empty primary (e), --bootstrap never (f), a backup before migrating (h) and the
// disk guard (i), and S5 refusing a synced candidate behind its high-water mark (k). The replays
// that need replication are in incident.test.ts.

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { supervisorArgsFor } from '../../testkit/args.js';
import { FakeLitefs } from '../../testkit/fake-litefs.js';
import { FIXTURES, getJson, startCli } from '../helpers/cli.js';

const node = process.execPath;
const lines = (f: string) =>
  existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : [];

async function primary(t: Test, opts: { empty: boolean; hwm?: bigint }) {
  const dir = t.testdir();
  const fake = await FakeLitefs.start({ role: 'primary', clusterId: 'LFSC00000000000000AA' });
  t.teardown(() => fake.close());
  if (opts.empty) fake.writeDb('sqlite.db', { size: 0 });
  else {
    fake.writeDb('sqlite.db', { sqlite: true });
    fake.setPos('sqlite.db', 0x2an);
  }
  const stateFile = join(dir, 'state.json');
  if (opts.hwm !== undefined) {
    const hex = opts.hwm.toString(16).padStart(16, '0');
    writeFileSync(
      stateFile,
      JSON.stringify({
        version: 1,
        clusterId: 'LFSC00000000000000AA',
        dbs: { 'sqlite.db': { txid: hex, updatedAt: '2026-01-07T13:00:00.000Z' } },
      }),
    );
  }
  const migrateLog = join(dir, 'migrate.log');
  const appMarker = join(dir, 'app.log');
  const args = [
    ...supervisorArgsFor(fake, { dataDir: dir, stateFile: stateFile }),
    '--migrate',
    `${node} ${FIXTURES}migrate-ok.mjs m1`,
  ];
  const app = ['--', node, `${FIXTURES}app-forever.mjs`];
  const env = { FIXTURE_MIGRATE_LOG: migrateLog, FIXTURE_READY_FILE: appMarker };
  return { dir, fake, args, app, env, migrateLog, appMarker, stateFile };
}

t.test('(c) fenced with nobody to hand off to: exit 4, no write', async (t) => {
  const p = await primary(t, { empty: true, hwm: 0x3bf5acn });
  const cli = startCli(t, [...p.args, '--fence-timeout', '1s', ...p.app], { env: p.env });
  const fence = await cli.waitEvent('fence.enter');
  t.match(fence.msg, /00000000003bf5ac/);
  t.match(fence.action, /hand/);
  const url = await cli.healthUrl();
  const status = await getJson(`${url}/status`);
  t.equal(status.body.state, 'fenced');
  t.match(status.body.fence, { reason: /high-water mark/ });
  t.equal((await getJson(`${url}/health`)).status, 503);
  t.equal((await cli.exited).code, 4);
  t.same(lines(p.migrateLog), [], 'no migration');
  t.notOk(existsSync(p.appMarker), 'no app');
  t.same(
    p.fake.requests.filter((r) => r.method !== 'GET'),
    [],
    'nothing written to LiteFS',
  );
  t.equal(p.fake.position('sqlite.db')?.txid ?? 0n, 0n, 'the empty db stayed untouched');
});

t.test(
  '(d) a genuine new cluster bootstraps; migrations see LITEFS_SUPERVISOR_BOOTSTRAP=1',
  async (t) => {
    const p = await primary(t, { empty: true });
    const peerNode = await FakeLitefs.start({
      role: { replicaOf: 'primary' },
      clusterId: 'LFSC00000000000000AA',
    });
    t.teardown(() => peerNode.close());
    peerNode.writeDb('sqlite.db', { size: 0 });
    peerNode.setPos('sqlite.db', 0n);
    const cli = startCli(t, [...p.args, '--peers', `${peerNode.url},${p.fake.url}`, ...p.app], {
      env: p.env,
    });
    await cli.waitEvent('app.started');
    const cleared = cli.records.find((r) => r.event === 'primary.cleared');
    t.match(cleared?.msg, /initialising a new cluster/);
    t.same(
      lines(p.migrateLog).map((l) => l.replace(/pid=\d+/, 'pid=N')),
      ['m1 pid=N bootstrap=1'],
    );
    t.match(
      cli.records.find((r) => r.event === 'peers.report'),
      { msg: /1 peer\(s\) answered, 0 did not/ },
      'itself was skipped by node ID',
    );
    cli.child.kill('SIGTERM');
    await cli.exited;
  },
);

t.test('(e) an unreachable peer on an empty primary: waits --peer-wait, then fences', async (t) => {
  const p = await primary(t, { empty: true });
  const closed = await FakeLitefs.start({});
  const deadUrl = closed.url;
  await closed.close();
  const cli = startCli(
    t,
    [...p.args, '--peers', deadUrl, '--peer-wait', '1s', '--fence-timeout', '1s', ...p.app],
    { env: p.env },
  );
  const wait = await cli.waitEvent('primary.wait-db');
  t.match(wait.msg, /waiting for peers to answer/);
  const fence = await cli.waitEvent('fence.enter');
  t.match(fence.msg, /not every peer answered within --peer-wait/);
  t.match(fence.action, /--bootstrap force/);
  t.equal((await cli.exited).code, 4);
  t.same(lines(p.migrateLog), []);
});

t.test('(f) --bootstrap never: an empty primary is fenced even with no peers', async (t) => {
  const p = await primary(t, { empty: true });
  const cli = startCli(
    t,
    [...p.args, '--bootstrap', 'never', '--fence-timeout', '500ms', ...p.app],
    { env: p.env },
  );
  const fence = await cli.waitEvent('fence.enter');
  t.match(fence.msg, /--bootstrap never/);
  t.equal((await cli.exited).code, 4);
  t.same(lines(p.migrateLog), []);
  t.notOk(existsSync(p.appMarker));
});

t.test('(h) a backup is written before migrating', async (t) => {
  const p = await primary(t, { empty: false });
  const backups = join(p.dir, 'backups');
  const cli = startCli(t, [...p.args, '--backup-dir', backups, '--min-free-disk', '0', ...p.app], {
    env: p.env,
  });
  await cli.waitEvent('app.started');
  const events = cli.events();
  t.ok(
    events.indexOf('backup.done') >= 0 &&
      events.indexOf('backup.done') < events.indexOf('migrate.start'),
    'backup before the migration',
  );
  const files = readdirSync(backups);
  t.equal(files.length, 1);
  t.match(files[0], /^sqlite\.db\.000000000000002a\.\d{8}T\d{6}Z\.sqlite$/);
  t.equal(
    readFileSync(join(backups, files[0]!)).subarray(0, 16).toString('latin1'),
    'SQLite format 3\0',
  );
  t.equal(lines(p.migrateLog).length, 1);
  cli.child.kill('SIGTERM');
  await cli.exited;
});

t.test('(i) the disk guard refuses and exits 3', async (t) => {
  const p = await primary(t, { empty: false });
  // 100% free can never be met on a real volume: the guard must refuse.
  const cli = startCli(t, [...p.args, '--min-free-disk', '100', ...p.app], { env: p.env });
  t.equal((await cli.exited).code, 3);
  const refuse = cli.records.find((r) => r.event === 'disk.refuse');
  t.match(refuse?.msg, /below --min-free-disk 100%/);
  t.same(lines(p.migrateLog), []);
  t.notOk(existsSync(p.appMarker));
});

/** A synced candidate replica at `txid` whose state file says this node saw TXID 0x32. */
async function candidateReplica(t: Test, txid: bigint) {
  const dir = t.testdir();
  const fake = await FakeLitefs.start({
    role: { replicaOf: 'node-a' },
    clusterId: 'LFSC00000000000000AA',
  });
  t.teardown(() => fake.close());
  fake.writeDb('sqlite.db', { sqlite: true });
  fake.setPos('sqlite.db', txid);
  fake.setLag(0);
  const stateFile = join(dir, 'state.json');
  writeFileSync(
    stateFile,
    JSON.stringify({
      version: 1,
      clusterId: 'LFSC00000000000000AA',
      dbs: { 'sqlite.db': { txid: '0000000000000032', updatedAt: '2026-01-07T13:00:00.000Z' } },
    }),
  );
  const migrateLog = join(dir, 'migrate.log');
  const cli = startCli(
    t,
    [
      ...supervisorArgsFor(fake, { dataDir: dir, stateFile }),
      '--min-free-disk',
      '0',
      '--promote',
      '--migrate',
      `${node} ${FIXTURES}migrate-ok.mjs m1`,
      '--',
      node,
      `${FIXTURES}app-forever.mjs`,
    ],
    { env: { FIXTURE_MIGRATE_LOG: migrateLog } },
  );
  return { fake, cli, migrateLog };
}

t.test(
  '(k) S5: a synced candidate behind its high-water mark never asks for the lease',
  async (t) => {
    // A restored, older volume (TXID 9) on a node that saw TXID 0x32: synced, but behind.
    const { fake, cli, migrateLog } = await candidateReplica(t, 9n);
    const rewind = await cli.waitEvent('hwm.rewind');
    t.match(rewind, { txid: '0000000000000009', hwm: '0000000000000032' });
    const skip = await cli.waitEvent('promote.skip');
    t.match(skip.msg, /behind its high-water mark: sqlite\.db 0000000000000009 < 0000000000000032/);
    await cli.waitEvent('app.started');
    const url = await cli.healthUrl();
    t.match((await getJson(`${url}/status`)).body, { state: 'running', role: 'replica' });
    t.same(
      fake.requests.filter((r) => r.method === 'POST').map((r) => r.path),
      [],
      'no POST /promote, nor anything else',
    );
    t.notOk(cli.events().includes('promote.request'));
    t.same(lines(migrateLog), [], 'no migration');
    cli.child.kill('SIGTERM');
    await cli.exited;
  },
);

t.test('(k) S5: the same candidate at its high-water mark asks, then migrates', async (t) => {
  const { fake, cli, migrateLog } = await candidateReplica(t, 0x32n);
  await cli.waitEvent('promote.request');
  await cli.waitEvent('migrate.done');
  await cli.waitEvent('app.started');
  t.same(
    fake.requests.filter((r) => r.method === 'POST').map((r) => r.path),
    ['/promote'],
    'one POST /promote',
  );
  t.notOk(cli.events().includes('promote.skip'));
  t.equal(lines(migrateLog).length, 1, 'migrated once as the new primary');
  cli.child.kill('SIGTERM');
  await cli.exited;
});

t.test('the high-water mark file is written as the node sees its data', async (t) => {
  const p = await primary(t, { empty: false });
  const cli = startCli(t, [...p.args, ...p.app], { env: p.env });
  await cli.waitEvent('app.started');
  cli.child.kill('SIGTERM');
  await cli.exited;
  const file = JSON.parse(readFileSync(p.stateFile, 'utf8'));
  t.match(file, {
    version: 1,
    clusterId: 'LFSC00000000000000AA',
    dbs: { 'sqlite.db': { txid: '000000000000002a' } },
  });
});
