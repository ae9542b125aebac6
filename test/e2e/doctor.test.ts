// End to end on the built CLI: `litefs-supervisor doctor` on data dirs the tests build in
// LiteFS v0.5.11's layout (test/helpers/data-dir.ts), with LiteFS down (judged from the data
// dir) and up (the fake LiteFS: mount, /info, peers). Every run checks that nothing under the
// data dir, the mount or the state file changed (S12).

import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import t, { type Test } from 'tap';
import { FakeLitefs } from '../../testkit/fake-litefs.js';
import { createUserDb } from '../../testkit/sqlite.js';
import { freePort } from '../../testkit/wait.js';
import { startCli } from '../helpers/cli.js';
import { buildDataDir, snapshotTree, stateFileText } from '../helpers/data-dir.js';

const CLUSTER = 'LFSC0123456789ABCDEF';

interface Node {
  root: string;
  dataDir: string;
  mountDir: string;
  stateFile: string;
}

function node(t: Test): Node {
  const root = t.testdir();
  const dataDir = join(root, 'litefs');
  const mountDir = join(root, 'mnt');
  mkdirSync(mountDir);
  // The default place: next to data.dir, on its volume.
  return { root, dataDir, mountDir, stateFile: join(root, 'litefs-supervisor.json') };
}

async function doctor(
  t: Test,
  n: Node,
  extra: string[] = [],
  litefsUrl?: string,
  litefsConfig = 'none',
) {
  const url = litefsUrl ?? `http://127.0.0.1:${await freePort()}`;
  const before = snapshotTree(n.root);
  const cli = startCli(t, [
    'doctor',
    '--litefs-config',
    litefsConfig,
    '--data-dir',
    n.dataDir,
    '--mount-dir',
    n.mountDir,
    '--db',
    'app.db',
    '--litefs-url',
    url,
    '--state-file',
    n.stateFile,
    '--health-addr',
    'off',
    ...extra,
  ]);
  const { code } = await cli.exited;
  t.same(snapshotTree(n.root), before, 'doctor wrote nothing');
  return { code, out: cli.stdout(), err: cli.stderr() };
}

async function doctorJson(t: Test, n: Node, extra: string[] = [], litefsUrl?: string) {
  const r = await doctor(t, n, ['--json', ...extra], litefsUrl);
  return { ...r, report: JSON.parse(r.out) as Report };
}

interface Report {
  ok: boolean;
  litefs: { running: boolean; role: string | null; clusterId: string | null };
  dbs: Record<string, unknown>[];
  findings: { id: string; level: string; db?: string; summary: string; wayOut?: string }[];
}

const ids = (r: Report, level?: string) =>
  r.findings.filter((f) => level === undefined || f.level === level).map((f) => f.id);

t.test('healthy node, LiteFS down: judged from the data dir, exit 0', async (t) => {
  const n = node(t);
  buildDataDir(n.dataDir, {
    clusterId: CLUSTER,
    dbs: {
      'app.db': {
        rows: 8,
        ltx: [
          [1, 1],
          [2, 3],
        ],
      },
    },
  });
  writeFileSync(n.stateFile, stateFileText(CLUSTER, { 'app.db': 3 }));
  const human = await doctor(t, n, ['--min-free-disk', '1']);
  t.equal(human.code, 0, human.out + human.err);
  t.match(human.out, /Nothing wrong found \(exit 0\)/);
  t.match(
    human.out,
    /db app\.db \(read from the data dir\): \d+ pages of 4096 bytes, TXID 0000000000000003 \(ltx\), LTX files 2/,
  );

  const { code, report } = await doctorJson(t, n, ['--min-free-disk', '1']);
  t.equal(code, 0);
  t.equal(report.ok, true);
  t.match(report.litefs, { running: false, role: null });
  t.match(report.dbs, [
    {
      name: 'app.db',
      source: 'data-dir',
      txid: '0000000000000003',
      txidFrom: 'ltx',
      ltxFiles: 2,
      ltxMinTxid: '0000000000000001',
      ltxMaxTxid: '0000000000000003',
      hasData: true,
      historyLost: false,
      empty: false,
      hwm: '0000000000000003',
    },
  ]);
  t.ok((report.dbs[0]?.pageCount as number) >= 2);
  t.same(ids(report, 'error'), []);
  t.same(ids(report, 'warn'), []);
  t.ok(ids(report, 'ok').includes('cluster-id'));
  t.ok(ids(report, 'ok').includes('disk'));
  t.ok(ids(report, 'info').includes('litefs.down'));
  for (const f of report.findings) {
    t.match(f, { id: String, level: /^(ok|info|warn|error)$/, summary: String, means: String });
  }
});

t.test('history lost: data and no LTX file, exit 1 with the export/import repair', async (t) => {
  const n = node(t);
  buildDataDir(n.dataDir, { clusterId: CLUSTER, dbs: { 'app.db': { rows: 100, ltx: [] } } });
  const human = await doctor(t, n, ['--min-free-disk', '1']);
  t.equal(human.code, 1);
  t.match(
    human.out,
    /ERROR db\.history-lost \[app\.db\]: app\.db holds \d+ pages of 4096 bytes at TXID 0/,
  );
  t.match(human.out, /litefs export -name app\.db FILE/);
  t.match(human.out, /litefs import -name app\.db FILE/);
  t.match(human.out, /1 thing wrong \(exit 1\)/);

  const { code, report } = await doctorJson(t, n, ['--min-free-disk', '1']);
  t.equal(code, 1);
  t.equal(report.ok, false);
  t.match(report.dbs, [
    { txid: '0000000000000000', ltxFiles: 0, hasData: true, historyLost: true },
  ]);
  t.same(ids(report, 'error'), ['db.history-lost']);
  t.match(report.findings[0], { db: 'app.db', wayOut: /litefs export/ });
});

t.test('a damaged newest LTX file and a db file that is not SQLite', async (t) => {
  const n = node(t);
  buildDataDir(n.dataDir, {
    clusterId: CLUSTER,
    dbs: { 'app.db': { bytes: Buffer.from('not a database at all'), ltx: [[1, 4]] } },
  });
  const { code, report } = await doctorJson(t, n, ['--min-free-disk', '1']);
  t.equal(code, 1);
  t.ok(ids(report, 'error').includes('db.header-invalid'));
  t.match(
    report.findings.find((f) => f.id === 'db.header-invalid'),
    { summary: /21 bytes without a SQLite header/, wayOut: /copy .*database somewhere safe/ },
  );

  const m = node(t);
  buildDataDir(m.dataDir, {
    clusterId: CLUSTER,
    dbs: { 'app.db': { rows: 3, ltx: [[1, 2]], damagedLtx: true } },
  });
  const damaged = await doctorJson(t, m, ['--min-free-disk', '1']);
  t.equal(damaged.code, 1);
  t.same(ids(damaged.report, 'error'), ['db.ltx-damaged']);
});

t.test('behind the high-water mark; a state file of another cluster', async (t) => {
  const n = node(t);
  buildDataDir(n.dataDir, { clusterId: CLUSTER, dbs: { 'app.db': { rows: 5, ltx: [[1, 2]] } } });
  writeFileSync(n.stateFile, stateFileText(CLUSTER, { 'app.db': 40 }));
  const behind = await doctorJson(t, n, ['--min-free-disk', '1']);
  t.equal(behind.code, 1);
  t.same(ids(behind.report, 'error'), ['db.behind-hwm']);
  t.match(behind.report.findings[0], {
    summary: /TXID 0000000000000002 but this node's high-water mark is 0000000000000028/,
  });
  // LiteFS down: the node's cluster ID is unknown, so a mark of another cluster still counts
  // only when /info says which cluster this is; here the file's own cluster is reported.
  writeFileSync(n.stateFile, 'not json');
  const corrupt = await doctorJson(t, n, ['--min-free-disk', '1']);
  t.equal(corrupt.code, 1);
  t.same(ids(corrupt.report, 'warn'), ['state-file.corrupt']);
  t.equal(readFileSync(n.stateFile, 'utf8'), 'not json', 'the corrupt file is left in place');
});

t.test('state file on another volume', async (t) => {
  const n = node(t);
  // /dev/shm is a tmpfs on Linux: another filesystem than the test dir, when it exists.
  let shm: string | undefined;
  try {
    if (statSync('/dev/shm').dev !== statSync(n.root).dev) {
      shm = mkdtempSync('/dev/shm/doctor-test-');
    }
  } catch {}
  if (shm === undefined) {
    t.skip('no second filesystem (/dev/shm) here', async () => {});
    return;
  }
  const dir = shm;
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  buildDataDir(n.dataDir, { clusterId: CLUSTER, dbs: { 'app.db': { rows: 5, ltx: [[1, 2]] } } });
  const stateFile = join(dir, 'litefs-supervisor.json');
  writeFileSync(stateFile, stateFileText(CLUSTER, { 'app.db': 2 }));
  const { code, report } = await doctorJson(t, { ...n, stateFile }, ['--min-free-disk', '1']);
  t.equal(code, 1);
  t.same(ids(report, 'warn'), ['state-file.other-volume']);
  t.same(ids(report, 'error'), []);
  t.match(report.findings[0], { wayOut: /next to data\.dir/ });
});

t.test('nearly full volume: below --min-free-disk', async (t) => {
  const n = node(t);
  buildDataDir(n.dataDir, { clusterId: CLUSTER, dbs: { 'app.db': { rows: 5, ltx: [[1, 2]] } } });
  writeFileSync(n.stateFile, stateFileText(CLUSTER, { 'app.db': 2 }));
  // No real volume in use is 100% free, so this is "nearly full" by the option's own test;
  // test/cli/doctor.test.ts feeds a measured 2% instead through the injected reader.
  const { code, report } = await doctorJson(t, n, ['--min-free-disk', '100']);
  t.equal(code, 1);
  t.same(ids(report, 'error'), ['disk.low']);
  t.match(report.findings[0], {
    summary: /below --min-free-disk 100%/,
    wayOut: /never delete LTX files/,
  });
});

t.test('bad options exit 2, as for the other commands', async (t) => {
  for (const args of [
    ['doctor', '--json=maybe', '--db', 'app.db', '--litefs-config', 'none'],
    ['doctor', '--nope', '--db', 'app.db', '--litefs-config', 'none'],
    ['doctor', '--health-url', 'http://x', '--db', 'app.db', '--litefs-config', 'none'],
    ['doctor', '--litefs-config', 'none'],
    ['doctor', '--max-lag', 'soon', '--db', 'app.db', '--litefs-config', 'none'],
  ]) {
    const cli = startCli(t, args);
    t.equal((await cli.exited).code, 2, args.join(' '));
    t.equal(cli.stdout(), '');
    t.match(cli.stderr(), /invalid configuration/);
  }
});

t.test('LiteFS up: primary with its history, peers asked; exit 0', async (t) => {
  const a = await FakeLitefs.start({ role: 'primary' });
  t.teardown(() => a.close());
  const rows = join(t.testdir(), 'rows.db');
  createUserDb(rows, 8);
  a.writeDb('app.db', { bytes: readFileSync(rows) });
  a.setPos('app.db', 3n);
  buildDataDir(a.dataDir, {
    clusterId: a.clusterId,
    dbs: { 'app.db': { rows: 8, ltx: [[1, 3]] } },
  });
  const b = await FakeLitefs.start({ role: { replicaOf: a.hostname }, clusterId: a.clusterId });
  t.teardown(() => b.close());
  b.writeDb('app.db', { bytes: readFileSync(rows) });
  b.setPos('app.db', 3n);
  const n: Node = {
    root: dirname(a.dataDir),
    dataDir: join(t.testdir(), 'unused'),
    mountDir: a.mountDir,
    stateFile: join(dirname(a.dataDir), 'litefs-supervisor.json'),
  };
  writeFileSync(n.stateFile, stateFileText(a.clusterId, { 'app.db': 3 }));
  const { code, report, out } = await doctorJson(
    t,
    n,
    ['--min-free-disk', '1', '--peers', `${a.url},${b.url}`],
    a.url,
  );
  t.equal(code, 0, out);
  t.match(report.litefs, { running: true, role: 'primary', clusterId: a.clusterId });
  t.match(report.dbs, [
    { source: 'mount', txid: '0000000000000003', txidFrom: '-pos', ltxFiles: 1, hasData: true },
  ]);
  t.ok(ids(report, 'ok').includes('litefs.role'));
  const peer = report.findings.filter((f) => f.id === 'peer.evidence');
  t.equal(peer.length, 1, 'itself is recognised by node ID and skipped');
  t.match(peer[0], { summary: new RegExp(`${b.url}.*TXID 0000000000000003`) });
  t.same(
    a.requests.filter((r) => r.method !== 'GET'),
    [],
    'only GETs to LiteFS',
  );
  t.same(
    b.requests.filter((r) => r.method !== 'GET'),
    [],
  );
});

t.test(
  'LiteFS up: an empty primary while a peer has data; data at TXID 0 in the mount',
  async (t) => {
    const a = await FakeLitefs.start({ role: 'primary' });
    t.teardown(() => a.close());
    a.writeDb('app.db', { size: 0 });
    const b = await FakeLitefs.start({ role: { replicaOf: a.hostname }, clusterId: a.clusterId });
    t.teardown(() => b.close());
    const rows = join(t.testdir(), 'rows.db');
    createUserDb(rows, 8);
    b.writeDb('app.db', { bytes: readFileSync(rows) }); // TXID 0 with data: history lost there
    const n: Node = {
      root: dirname(a.dataDir),
      dataDir: a.dataDir,
      mountDir: a.mountDir,
      stateFile: join(dirname(a.dataDir), 'litefs-supervisor.json'),
    };
    const { code, report } = await doctorJson(
      t,
      n,
      ['--min-free-disk', '1', '--peers', b.url],
      a.url,
    );
    t.equal(code, 1);
    t.same(ids(report, 'error'), ['db.behind-peer']);
    t.match(report.findings[0], {
      db: 'app.db',
      summary: new RegExp(
        `app\\.db is empty here .* but peer ${b.url.replace(/\./g, '\\.')} .* has data`,
      ),
      wayOut: /hand the lease/,
    });
    t.ok(ids(report, 'info').includes('db.empty'));

    // The peer itself, diagnosed: a replica holding data at TXID 0 lost its history.
    const m: Node = {
      root: dirname(b.dataDir),
      dataDir: b.dataDir,
      mountDir: b.mountDir,
      stateFile: join(dirname(b.dataDir), 'litefs-supervisor.json'),
    };
    const other = await doctorJson(t, m, ['--min-free-disk', '1'], b.url);
    t.equal(other.code, 1);
    t.ok(ids(other.report, 'error').includes('db.history-lost'));
    t.match(other.report.litefs, { running: true, role: 'replica' });
    t.match(other.report.dbs, [{ source: 'mount', txid: '0000000000000000', historyLost: true }]);
  },
);

t.test('check prints the local evidence per db, or that the mount is not readable', async (t) => {
  const dir = t.testdir();
  createUserDb(join(dir, 'app.db'), 3);
  const local = startCli(t, [
    'check',
    '--standalone',
    '--litefs-config',
    'none',
    '--mount-dir',
    dir,
    '--db',
    'app.db',
    '--db',
    'other.db',
  ]);
  t.equal((await local.exited).code, 0);
  t.match(local.stdout(), /^ {4}app\.db: \d+ pages, hasData true$/m);
  t.match(
    local.stdout(),
    /^ {4}other\.db: pages unknown, hasData false \(empty: the file does not exist\)$/m,
  );

  const a = await FakeLitefs.start({ role: 'primary' });
  t.teardown(() => a.close());
  a.writeDb('app.db', { bytes: readFileSync(join(dir, 'app.db')) }); // TXID 0: history lost
  const mounted = startCli(t, [
    'check',
    '--litefs-config',
    'none',
    '--mount-dir',
    a.mountDir,
    '--db',
    'app.db',
  ]);
  t.equal((await mounted.exited).code, 0);
  t.match(
    mounted.stdout(),
    /^ {4}app\.db: \d+ pages, TXID 0000000000000000, hasData true, historyLost true$/m,
  );
  t.same(a.requests, [], 'check asks LiteFS nothing');

  const laptop = startCli(t, [
    'check',
    '--litefs-config',
    'none',
    '--mount-dir',
    join(dir, 'no-such-mount'),
    '--db',
    'app.db',
  ]);
  t.equal((await laptop.exited).code, 0);
  t.match(laptop.stdout(), /^ {4}app\.db: not readable here \(mount dir .*no-such-mount: /m);
});

t.test('standalone: the db files and the volume only', async (t) => {
  const dir = t.testdir();
  createUserDb(join(dir, 'app.db'), 2);
  const args = ['doctor', '--standalone', '--litefs-config', 'none', '--mount-dir', dir];
  const ok = startCli(t, [...args, '--db', 'app.db', '--min-free-disk', '1', '--json']);
  t.equal((await ok.exited).code, 0, ok.stdout());
  const report = JSON.parse(ok.stdout()) as Report;
  t.match(report.dbs, [{ name: 'app.db', source: 'mount', txid: null, hasData: true }]);
  t.same(ids(report, 'info'), ['mode.standalone']);

  writeFileSync(join(dir, 'broken.db'), 'garbage, not SQLite');
  const bad = startCli(t, [...args, '--db', 'broken.db', '--min-free-disk', '1', '--json']);
  t.equal((await bad.exited).code, 1);
  t.same(ids(JSON.parse(bad.stdout()) as Report, 'error'), ['db.header-invalid']);
});

// docs/design.md section 1: the litefs.yml warnings reach doctor too (text and --json), e.g. a
// Consul candidate left at LiteFS's reconnect-delay of 1s; none at "100ms".
t.test("doctor shows litefs.yml's reconnect-delay warning, and not at 100ms", async (t) => {
  const n = node(t);
  const yml = join(n.root, 'litefs.yml');
  const run = async (lease: string, json: boolean) => {
    writeFileSync(yml, `lease:\n  type: consul\n${lease}exec: litefs-supervisor -- app\n`);
    return (await doctor(t, n, json ? ['--json'] : [], undefined, yml)).out;
  };
  const text = await run('', false);
  t.match(
    text,
    /\nConfiguration warnings:\n(?: {2}- .*\n)* {2}- litefs\.yml lease\.reconnect-delay is not set: LiteFS's default 1s \(/,
  );
  const json = JSON.parse(await run('  reconnect-delay: 1s\n', true)) as {
    configWarnings: string[];
  };
  t.equal(
    json.configWarnings.filter((w) => w.startsWith('litefs.yml lease.reconnect-delay is "1s"'))
      .length,
    1,
  );
  const fast = JSON.parse(await run('  reconnect-delay: 100ms\n', true)) as {
    configWarnings: string[];
  };
  t.same(
    fast.configWarnings.filter((w) => w.includes('lease.reconnect-delay')),
    [],
    'no warning at 100ms',
  );
});
