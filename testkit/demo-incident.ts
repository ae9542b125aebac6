// `npm run demo:incident`: the seed incident (docs/litefs-facts.md, "Replication rules") replayed twice on the
// simulated two-node LiteFS cluster (testkit/cluster.ts, which follows LiteFS's replication
// rules). First with LiteFS's exec block: the data is lost. Then with litefs-supervisor as the
// exec command: the empty node refuses to write, hands the lease back, and nothing is lost.
// Third, the TXID-0 variant: the empty node never ran the supervisor (a fresh volume, no state
// file), and e82 reports TXID 0: only the page count in e82's database reveals the data.
// Fourth, the sleeping data holder (with both exec commands): the node with the data is stopped,
// so no peer can speak for it; only the cluster record in Consul (docs/design.md section 3)
// remembers that the cluster has data.
// It narrates in plain words; someone who never read the thread should follow it.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseLogfmt } from '../src/log/format.js';
import { supervisorArgsFor } from './args.js';
import { type ClusterEvent, FakeCluster } from './cluster.js';
import { CLI } from './paths.js';
import { countRows, createUserDb, userDbCommand } from './sqlite.js';

const DB = 'sqlite.db';
const APP = `${process.execPath} -e "setInterval(() => {}, 1 << 30); process.on('SIGTERM', () => process.exit(0))"`;

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
let step = 0;
const say = (text: string) => console.log(`  ${++step}. ${text}`);
const note = (text: string) => console.log(`     ${text}`);
const heading = (text: string) => {
  step = 0;
  console.log(`\n${bold(text)}\n`);
};

/** Narrate what LiteFS does to the data, as its own log lines would say it. */
function narrateReplication(cluster: FakeCluster) {
  return cluster.onEvent((e: ClusterEvent) => {
    if (e.type === 'snapshot' && e.overwrote) {
      note(`LiteFS on ${e.from}: "${e.reason}" -> ${e.to}'s database is replaced by ${e.from}'s`);
    }
  });
}

async function waitUntil(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return check();
}

/** The part of the thread both replays share: data on e82, then the clean-up that went wrong. */
async function setUp(cluster: FakeCluster, beforeWipe: () => Promise<void>) {
  createUserDb(cluster.dbPath('e82'), 8);
  cluster.flush();
  await waitUntil(() => countRows(cluster.dbPath('d89')) === 8, 5000);
  say(
    `e82 is the primary with ${countRows(cluster.dbPath('e82'))} users; d89 is a replica with the same ${countRows(cluster.dbPath('d89'))}.`,
  );
  await beforeWipe();
  await cluster.kill('d89');
  await cluster.restartNode('e82', { dropLtx: true });
  await cluster.elect('e82');
  say('To fix checksum errors the operator deletes the LTX files on e82 (it restarts at TXID 0,');
  note(
    `its data still there: ${countRows(cluster.dbPath('e82'))} users) and deletes d89's whole database directory.`,
  );
  await cluster.restartNode('d89', { wipe: true, keepClusterId: true });
  say("d89 restarts with an empty database and joins e82's cluster. At TXID 0 vs 0 LiteFS streams");
  note('nothing, and calls d89 "connected to cluster, ready".');
  await cluster.elect('d89');
  say('With promote: true, LiteFS on d89 asks for the lease and e82 hands it over:');
  note(
    `d89 is now the primary, with ${countRows(cluster.dbPath('d89')) ?? 0} users. e82 (still ${countRows(cluster.dbPath('e82'))} users) is its replica.`,
  );
}

async function withExecBlock(): Promise<number | undefined> {
  heading("Replay 1: LiteFS's exec block (`npx prisma migrate deploy`, if-candidate: true)");
  const cluster = await FakeCluster.start({
    nodes: [{ name: 'e82' }, { name: 'd89' }],
    db: DB,
    primary: 'e82',
  });
  const stop = narrateReplication(cluster);
  try {
    await setUp(cluster, async () => {});
    say('LiteFS runs the exec block. d89 is a candidate, so `prisma migrate deploy` runs on the');
    note('empty database. Its first write is TXID 1, which LiteFS always streams as a snapshot:');
    await new Promise<void>((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', userDbCommand(cluster.dbPath('d89'), 0)], {
        stdio: 'ignore',
      });
      child.on('exit', () => resolve());
      child.on('error', reject);
    });
    cluster.flush();
    await waitUntil(() => countRows(cluster.dbPath('e82')) === 0, 5000);
    const left = countRows(cluster.dbPath('e82'));
    say(`e82 now has ${left} users. ${left === 0 ? 'The production data is gone.' : ''}`);
    return left;
  } finally {
    stop();
    await cluster.close();
  }
}

interface Run {
  exit: Promise<number | null>;
  kill: (signal: NodeJS.Signals) => void;
  records: Record<string, string>[];
}

function supervise(
  cluster: FakeCluster,
  name: string,
  dir: string,
  o: { peers?: string[]; extra?: string[] } = {},
): Run {
  const n = cluster.node(name);
  const args = [
    CLI,
    ...supervisorArgsFor(n, {
      dataDir: dir,
      stateFile: join(dir, `${name}-state.json`),
      db: DB,
      healthAddr: 'off',
      // litefs.yml names the lease's Consul: where the cluster record lives.
      litefsConfig: cluster.litefsConfig(name),
    }),
    ...(o.extra ?? []),
    '--peers',
    (o.peers ?? cluster.names).map((x) => cluster.node(x).url).join(','),
    '--migrate',
    userDbCommand(cluster.dbPath(name), 0),
    '--',
    '/bin/sh',
    '-c',
    APP,
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const records: Record<string, string>[] = [];
  let partial = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    const lines = (partial + d).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const r = parseLogfmt(line);
      if (r) records.push(r);
    }
  });
  return {
    exit: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
    kill: (signal) => child.kill(signal),
    records,
  };
}

const SHOWN: Record<string, string> = {
  'hwm.none': 'no state file',
  'fence.enter': 'refuses to write',
  'handoff.request': 'hands the lease back',
  'handoff.accepted': 'LiteFS accepts',
  'fence.leave': 'carries on',
  'sync.wait': 'waits for a copy',
  'sync.done': 'synced',
  'app.started': 'app started',
  'migrate.start': 'MIGRATES',
  'record.write': 'records the cluster',
  'fence.exit': 'gives up the lease',
  'primary.cleared': 'may write',
  'migrate.complete': 'migrated',
};

/** Prints the SHOWN lines of a run not printed yet; returns how many are printed now. */
function showNew(run: Run, shown: number, who: string): number {
  for (; shown < run.records.length; shown++) {
    const r = run.records[shown]!;
    if (r.event && SHOWN[r.event]) note(`  ${who} ${r.event.padEnd(16)} ${r.msg}`);
  }
  return shown;
}

async function withSupervisor(stateFile: boolean): Promise<number | undefined> {
  heading(
    stateFile
      ? 'Replay 2: the same events, with litefs-supervisor as the exec command'
      : 'Replay 3: the same, but d89 is a fresh volume that never ran the supervisor (no state file)',
  );
  const dir = mkdtempSync(join(tmpdir(), 'demo-incident-'));
  const cluster = await FakeCluster.start({
    nodes: [{ name: 'e82' }, { name: 'd89' }],
    db: DB,
    primary: 'e82',
  });
  const stop = narrateReplication(cluster);
  try {
    await setUp(cluster, async () => {
      if (!stateFile) {
        note('(d89 never ran the supervisor: no state file, no high-water mark. Both nodes');
        note(' will report TXID 0, so TXIDs alone say "no data anywhere, a new cluster".)');
        return;
      }
      // Before the clean-up d89 ran under the supervisor, which remembered the TXID it saw.
      const before = supervise(cluster, 'd89', dir);
      await waitUntil(() => before.records.some((r) => r.event === 'app.started'), 10_000);
      before.kill('SIGTERM');
      await before.exit;
      note("(d89 had been running under the supervisor, whose state file on d89's volume records");
      note(' the highest TXID d89 has seen: its high-water mark.)');
    });
    say('LiteFS starts litefs-supervisor on d89. What it logs (fly logs):');
    const run = supervise(cluster, 'd89', dir);
    let shown = 0;
    const done = await waitUntil(() => {
      for (; shown < run.records.length; shown++) {
        const r = run.records[shown]!;
        if (r.event && SHOWN[r.event]) note(`  ${r.event.padEnd(16)} ${r.msg}`);
      }
      // Back as a replica it either starts its app (synced) or waits for a copy: e82 is at
      // TXID 0, so LiteFS replicates nothing until e82 writes (a replica is synced only with a
      // replicated copy of every db).
      const left = run.records.findIndex((r) => r.event === 'fence.leave');
      return (
        left >= 0 &&
        run.records.slice(left).some((r) => r.event === 'app.started' || r.event === 'sync.wait')
      );
    }, 20_000);
    run.kill('SIGTERM');
    await run.exit;
    const left = countRows(cluster.dbPath('e82'));
    const mine = countRows(cluster.dbPath('d89'));
    say(
      done
        ? `d89 never wrote: the lease is back on ${cluster.primary}, which still has ${left} users.`
        : `the supervisor did not finish in time; e82 has ${left} users.`,
    );
    if (done && mine === undefined) {
      note('d89 waits as a replica without starting its app: after the LTX deletion e82 is at');
      note("TXID 0, so LiteFS streams nothing until e82's next write (a full snapshot), and a");
      note('replica serves only a copy it has received.');
    }
    return left;
  } finally {
    stop();
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Replay 4, the sleeping data holder: A bootstraps alone and has 8 users; B joins and syncs;
 * B stops and its database is deleted (no state file); A stops (Fly's auto-stop), so no
 * running machine has the data and DNS shows only B; B starts and takes the lease; A starts
 * and connects to B. With the exec block, B's migration replicates its empty database over A's.
 */
async function sleepingHolder(withSupervisor: boolean): Promise<number | undefined> {
  heading(
    withSupervisor
      ? 'Replay 5: the sleeping data holder, with litefs-supervisor as the exec command'
      : "Replay 4: the sleeping data holder, with LiteFS's exec block",
  );
  const dir = mkdtempSync(join(tmpdir(), 'demo-incident-'));
  // autoElect: a free lease goes to the first running candidate, as LiteFS nodes race for it.
  const cluster = await FakeCluster.start({
    nodes: [{ name: 'A' }, { name: 'B' }],
    db: DB,
    primary: 'A',
    autoElect: true,
  });
  const stop = narrateReplication(cluster);
  const runs: Run[] = [];
  const finish = async (run: Run | undefined) => {
    if (!run) return;
    run.kill('SIGTERM');
    await run.exit;
  };
  try {
    await cluster.kill('B');
    let a: Run | undefined;
    if (withSupervisor) {
      // A alone: no peers answer and no record exists, so A may start the cluster (S3).
      a = supervise(cluster, 'A', dir, { peers: ['A'] });
      runs.push(a);
      await waitUntil(() => a!.records.some((r) => r.event === 'app.started'), 10_000);
      createUserDb(cluster.dbPath('A'), 8);
      cluster.flush();
      await waitUntil(() => a!.records.some((r) => r.event === 'record.write'), 10_000);
      say(`A starts alone, bootstraps and its app adds ${countRows(cluster.dbPath('A'))} users.`);
      const rec = a.records.find((r) => r.event === 'record.write');
      note(`A's supervisor ${rec ? `records in Consul: "${rec.msg}"` : 'wrote no record (!)'}`);
    } else {
      await runCommand(userDbCommand(cluster.dbPath('A'), 0));
      createUserDb(cluster.dbPath('A'), 8);
      cluster.flush();
      say(
        `A starts alone; its exec block migrates and its app adds ${countRows(cluster.dbPath('A'))} users.`,
      );
    }
    await cluster.restartNode('B');
    await waitUntil(() => countRows(cluster.dbPath('B')) === 8, 5000);
    let b: Run | undefined;
    let shownB = 0;
    if (withSupervisor) {
      b = supervise(cluster, 'B', dir);
      runs.push(b);
      await waitUntil(() => b!.records.some((r) => r.event === 'app.started'), 10_000);
    }
    say(`B joins and syncs: ${countRows(cluster.dbPath('B'))} of 8 users.`);
    await finish(b);
    await cluster.kill('B');
    rmSync(join(dir, 'B-state.json'), { force: true });
    say("B stops, and its database is deleted (and it has no state file): B's volume is empty.");
    await finish(a);
    await cluster.kill('A');
    say("A stops too (auto-stop). The only copy of the data sleeps on A; Fly's DNS now lists");
    note('only running machines, so whatever starts next sees no peer with data.');
    await cluster.restartNode('B', { wipe: true, keepClusterId: true });
    await waitUntil(() => cluster.primary === 'B', 5000);
    say(`B starts with an empty database and takes the free lease: primary is ${cluster.primary}.`);
    if (withSupervisor) {
      note('LiteFS starts litefs-supervisor on B (its peers: only B). What it logs:');
      b = supervise(cluster, 'B', dir, { peers: ['B'], extra: ['--fence-timeout', '3s'] });
      runs.push(b);
      const bRun = b;
      await waitUntil(() => bRun.records.some((r) => r.event === 'fence.enter'), 10_000);
      shownB = showNew(bRun, 0, 'B');
    } else {
      say('LiteFS runs the exec block on B, a candidate: `migrate deploy` on the empty database,');
      note('whose first write is TXID 1, which LiteFS always streams as a snapshot.');
      await runCommand(userDbCommand(cluster.dbPath('B'), 0));
      cluster.flush();
    }
    say(
      `A starts again (${countRows(cluster.dbPath('A')) ?? 0} users in its file) and connects to B.`,
    );
    await cluster.restartNode('A');
    if (!withSupervisor) {
      await waitUntil(() => countRows(cluster.dbPath('A')) === 0, 5000);
      const left = countRows(cluster.dbPath('A'));
      say(`A now has ${left} users in its own file. ${left === 0 ? 'The data is gone.' : ''}`);
      return left;
    }
    a = supervise(cluster, 'A', dir);
    runs.push(a);
    note("A's supervisor starts its app as a replica (reads only); B is fenced, sends nothing.");
    const bRun = b!;
    const aRun = a;
    // B is fenced: no peer it can see has the data to hand the lease to, so it gives up the
    // lease after --fence-timeout (exit 4); LiteFS on B exits and A, a candidate, takes it.
    const code = await bRun.exit;
    showNew(bRun, shownB, 'B');
    say(
      `B's supervisor exits ${code} after its fence timeout; LiteFS on B exits and frees the lease.`,
    );
    await cluster.kill('B');
    await waitUntil(() => cluster.primary === 'A', 5000);
    await waitUntil(() => aRun.records.some((r) => r.event === 'migrate.complete'), 15_000);
    say(`A takes the lease (primary: ${cluster.primary}). What A's supervisor logs:`);
    showNew(aRun, 0, 'A');
    const kept = countRows(cluster.dbPath('A'));
    const bMigrated = bRun.records.some((r) => r.event === 'migrate.start');
    say(
      `B ${bMigrated ? 'MIGRATED' : 'never migrated'}; A has ${kept} of 8 users in its own file.`,
    );
    return kept;
  } finally {
    for (const run of runs) await finish(run);
    stop();
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function runCommand(command: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { stdio: 'ignore' });
    child.on('exit', () => resolve());
    child.on('error', reject);
  });
}

async function main(): Promise<number> {
  console.log(
    bold('The seed incident: an empty node takes the lease and replicates its emptiness.'),
  );
  console.log(
    "Two simulated LiteFS nodes follow LiteFS's replication rules: a replica ahead of the",
  );
  console.log(
    "primary is overwritten by a snapshot, and a primary's first write (TXID 1) is always a",
  );
  console.log('snapshot. Same starting point twice; only the exec command differs.');
  const lost = await withExecBlock();
  const kept = await withSupervisor(true);
  const keptTxid0 = await withSupervisor(false);
  const sleepingLost = await sleepingHolder(false);
  const sleepingKept = await sleepingHolder(true);
  heading('Result');
  console.log(`  exec block:        e82 ends with ${lost} of 8 users.`);
  console.log(`  litefs-supervisor: e82 ends with ${kept} of 8 users.`);
  console.log(`  same, no state file (TXID 0 vs 0): e82 ends with ${keptTxid0} of 8 users.`);
  console.log(`  sleeping data holder, exec block:        A ends with ${sleepingLost} of 8 users.`);
  console.log(`  sleeping data holder, litefs-supervisor: A ends with ${sleepingKept} of 8 users.`);
  console.log(
    '\nWhy: the supervisor runs migrations only on a primary whose database is not behind its',
  );
  console.log(
    'high-water mark or any peer. Here d89 was at TXID 0 but had seen much more, so it fenced',
  );
  console.log('itself (no migration, no app) and handed the lease to e82, the node with the data.');
  console.log(
    'Without a state file, TXIDs say nothing (e82 lost its LTX history: TXID 0 with every row),',
  );
  console.log(
    "so the supervisor reads the evidence from the databases: e82's header counts its pages,",
  );
  console.log('and an empty node never writes while a peer has data, whatever the TXIDs.');
  console.log(
    'When the node with the data is stopped, no peer can say so: the cluster record in Consul',
  );
  console.log(
    'can. A wrote it once it had data; B, empty against a record that lists the database,',
  );
  console.log('never migrated, and gave up the lease so that A, with the data, could take it.');
  return lost === 0 && kept === 8 && keptTxid0 === 8 && sleepingLost === 0 && sleepingKept === 8
    ? 0
    : 1;
}

const real = process.argv.includes('--real');
(real ? import('./demo-incident-real.js').then((m) => m.runRealDemo()) : main()).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
