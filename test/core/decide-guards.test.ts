// decide, the data-loss guards of docs/design.md section 4: S2 (HWM and peers), S3 (bootstrap),
// S4 (fence and handoff), S5 (sync-first promotion), S7 (promotion while running), S8
// (backups), S9 (disk guard), S11 (rewind alarm) and the high-water mark itself. Each rule is
// shown allowing and refusing.

import t from 'tap';
import { dbViewOf } from '../../src/core/derive.js';
import { s5MayPromote, s8BackupRoom, s9DiskGuard } from '../../src/core/rules.js';
import { CLUSTER, db, peer, report, Sim, silent, testConfig } from '../helpers/builders.js';

const PEERS = 'myapp.internal';
const runs = (sim: Sim) => sim.actions.filter((a) => a.type === 'run-command');
const ok = (txid: bigint) => ({ role: 'primary' as const, dbs: [db({ txid })] });
const empty = { role: 'primary' as const, dbs: [db({ exists: false, txid: 'absent' })] };

/** A primary with --peers that has been asked and answered. */
function primaryWithPeers(cfg = {}, hwm?: Record<string, bigint>) {
  const sim = new Sim(testConfig({ peers: PEERS, ...cfg }));
  sim.loadHwm(hwm);
  return sim;
}

t.test('S2 behind its high-water mark or a peer', async (t) => {
  t.test('refuses: the seed incident (db deleted, state file kept) is fenced', async (t) => {
    const sim = new Sim(testConfig());
    sim.loadHwm({ 'sqlite.db': 0x3bf5acn });
    sim.see(empty);
    t.equal(sim.state.phase, 'fenced');
    t.same(runs(sim), [], 'no migration');
    t.notOk(sim.types().includes('start-app'), 'no app');
    t.match(sim.state.fence?.why, /TXID 0000000000000000.*00000000003bf5ac.*high-water mark/);
  });
  t.test('refuses: a restored, older volume is behind its HWM', async (t) => {
    const sim = new Sim(testConfig());
    sim.loadHwm({ 'sqlite.db': 100n });
    sim.see(ok(90n));
    t.equal(sim.state.phase, 'fenced');
  });
  t.test('allows: at its HWM', async (t) => {
    const sim = new Sim(testConfig());
    sim.loadHwm({ 'sqlite.db': 100n });
    sim.see(ok(100n));
    t.equal(sim.state.phase, 'migrating');
  });
  t.test('refuses: scale-out with a fresh volume, only a peer reveals the data', async (t) => {
    const sim = primaryWithPeers();
    sim.see(empty);
    t.equal(sim.last('ask-peers')?.type, 'ask-peers', 'asks the peers first');
    t.equal(sim.state.phase, 'checking');
    sim.answerPeers(report([peer({ txid: 0x3bf5acn })]));
    t.equal(sim.state.phase, 'fenced');
    t.match(
      sim.state.fence?.why,
      /peer http:\/\/\[fdaa::2\]:20202 \(node BBBBBBBBBBBBBBBB\) has TXID 00000000003bf5ac/,
    );
    t.same(runs(sim), []);
  });
  t.test('refuses: non-empty but behind a peer', async (t) => {
    const sim = primaryWithPeers();
    sim.see(ok(5n));
    sim.answerPeers(report([peer({ txid: 6n })]));
    t.equal(sim.state.phase, 'fenced');
  });
  t.test('allows: peers at or below this node', async (t) => {
    const sim = primaryWithPeers();
    sim.see(ok(5n));
    sim.answerPeers(report([peer({ txid: 5n }), peer({ nodeId: 'C', txid: 3n })]));
    t.equal(sim.state.phase, 'migrating');
  });
  t.test('allows: a peer of another cluster says nothing about ours', async (t) => {
    const sim = primaryWithPeers();
    sim.see(ok(5n));
    sim.answerPeers(report([peer({ txid: 900n, clusterId: 'LFSCOTHERCLUSTER0' })]));
    t.equal(sim.state.phase, 'migrating');
  });
  t.test('the peers are not asked on every poll', async (t) => {
    const sim = primaryWithPeers();
    sim.see(ok(5n));
    sim.answerPeers(report([peer({ txid: 5n })]));
    for (let i = 0; i < 5; i++) sim.see(ok(5n), 1000);
    t.equal(sim.actions.filter((a) => a.type === 'ask-peers').length, 1);
  });
});

t.test('S3 bootstrap of an empty primary', async (t) => {
  t.test('allows: every peer answered and none has data', async (t) => {
    const sim = primaryWithPeers();
    sim.see(empty);
    sim.answerPeers(report([peer({ txid: 0n })]));
    sim.see(empty, 1, sim.lastToken());
    const run = sim.last('run-command');
    t.equal(run?.env.LITEFS_SUPERVISOR_BOOTSTRAP, '1');
  });
  t.test('allows: no peer exists (the name does not resolve)', async (t) => {
    const sim = primaryWithPeers();
    sim.see(empty);
    sim.answerPeers(report([]));
    t.equal(sim.state.phase, 'migrating');
  });
  t.test('refuses: a peer does not answer within --peer-wait', async (t) => {
    const sim = primaryWithPeers({ peerWait: 30_000 });
    sim.see(empty);
    sim.answerPeers(report([silent()]));
    t.equal(sim.state.phase, 'checking', 'waits for it');
    sim.see(empty, 3000);
    t.equal(sim.actions.filter((a) => a.type === 'ask-peers').length, 2, 'asks again');
    sim.answerPeers(report([silent()]), 27_000);
    t.equal(sim.state.phase, 'fenced');
    t.match(sim.state.fence?.why, /not every peer answered within --peer-wait/);
    t.match(sim.state.fence?.action, /--bootstrap force/);
    t.same(runs(sim), []);
  });
  t.test('allows: the silent peer answers in time', async (t) => {
    const sim = primaryWithPeers();
    sim.see(empty);
    sim.answerPeers(report([silent()]));
    sim.see(empty, 3000);
    sim.answerPeers(report([peer({ txid: 0n })]));
    t.equal(sim.state.phase, 'migrating');
  });
  t.test('refuses: discovery failed (peers may be hidden)', async (t) => {
    const sim = primaryWithPeers({ peerWait: 1000 });
    sim.see(empty);
    sim.answerPeers(report([], 'queryA ESERVFAIL myapp.internal'));
    sim.see(empty, 1000);
    sim.answerPeers(report([], 'queryA ESERVFAIL myapp.internal'));
    t.equal(sim.state.phase, 'fenced');
  });
  t.test('--bootstrap force allows with a silent peer; never refuses with none', async (t) => {
    const force = primaryWithPeers({ bootstrap: 'force' });
    force.see(empty);
    force.answerPeers(report([silent()]));
    t.equal(force.state.phase, 'migrating');
    const never = primaryWithPeers({ bootstrap: 'never' });
    never.see(empty);
    never.answerPeers(report([]));
    t.equal(never.state.phase, 'fenced');
  });
  t.test('force never overrides S2: a peer with data still fences', async (t) => {
    const sim = primaryWithPeers({ bootstrap: 'force' });
    sim.see(empty);
    sim.answerPeers(report([peer({ txid: 7n })]));
    t.equal(sim.state.phase, 'fenced');
  });
});

t.test('S4 fenced: no writes, hand the lease over, exit 4 when nobody takes it', async (t) => {
  t.test(
    'hands the lease to the most advanced candidate, then carries on as a replica',
    async (t) => {
      const sim = primaryWithPeers();
      sim.see(empty);
      sim.answerPeers(
        report([
          peer({ nodeId: 'B1', txid: 0x10n }),
          peer({ nodeId: 'B2', txid: 0x20n }),
          peer({ nodeId: 'B3', txid: 0x30n, candidate: false }),
        ]),
      );
      t.equal(sim.state.phase, 'fenced');
      sim.see(empty, 10);
      sim.answerPeers(
        report([
          peer({ nodeId: 'B1', txid: 0x10n }),
          peer({ nodeId: 'B2', txid: 0x20n }),
          peer({ nodeId: 'B3', txid: 0x30n, candidate: false }),
        ]),
      );
      t.same(
        sim.last('handoff'),
        { type: 'handoff', nodeId: 'B2', haltWaitMs: 300 },
        'the most advanced candidate',
      );
      sim.feed({ type: 'handoff-result', nodeId: 'B2', ok: true, error: undefined });
      t.ok(sim.events().includes('handoff.accepted'));
      sim.see({ role: 'replica', lag: 'unsynced', dbs: [db({ txid: 0n })] }, 500);
      t.equal(sim.state.fence, undefined);
      t.equal(sim.state.phase, 'syncing');
      sim.see({ role: 'replica', lag: 3, dbs: [db({ txid: 0x20n })] }, 500);
      t.equal(sim.last('start-app')?.type, 'start-app', 'starts the app as a synced replica');
      t.same(runs(sim), [], 'never migrated');
    },
  );
  t.test('a failed handoff is retried with fresh peers', async (t) => {
    const sim = primaryWithPeers();
    sim.see(empty);
    sim.answerPeers(report([peer({ txid: 9n })]));
    sim.see(empty, 10);
    sim.answerPeers(report([peer({ txid: 9n })]));
    sim.feed({
      type: 'handoff-result',
      nodeId: 'BBBBBBBBBBBBBBBB',
      ok: false,
      error: 'target node is not currently connected',
    });
    sim.see(empty, 1000);
    t.equal(
      sim.actions.filter((a) => a.type === 'handoff').length,
      1,
      'not before the retry interval',
    );
    sim.see(empty, 2000);
    sim.answerPeers(report([peer({ txid: 9n })]));
    t.equal(sim.actions.filter((a) => a.type === 'handoff').length, 2);
  });
  t.test('nobody to hand off to: exit 4 after --fence-timeout, nothing written', async (t) => {
    const sim = new Sim(testConfig({ fenceTimeout: 60_000 }));
    sim.loadHwm({ 'sqlite.db': 50n });
    sim.see(empty);
    for (let i = 0; i < 59; i++) sim.see(empty, 1000);
    t.equal(sim.state.exited, undefined);
    sim.see(empty, 1000);
    t.equal(sim.state.exited, 4);
    t.same(
      sim.types().filter((x) => !['persist-hwm', 'exit'].includes(x)),
      [],
      'no migration, no app, no handoff',
    );
  });
});

t.test('S5 sync-first promotion', async (t) => {
  const cfg = { promote: true, migrate: ['m'] };
  t.test('refuses while unsynced, asks once synced, then the primary checks apply', async (t) => {
    const sim = new Sim(testConfig(cfg));
    sim.loadHwm({ 'sqlite.db': 5n });
    sim.see({ role: 'replica', lag: 'unsynced', dbs: [db({ txid: 0n })] });
    sim.see({ role: 'replica', lag: 'unsynced', dbs: [db({ txid: 0n })] }, 1000);
    t.notOk(sim.types().includes('promote'), 'never asks while unsynced');
    sim.see({ role: 'replica', lag: 2, dbs: [db({ txid: 9n })] }, 1000);
    t.equal(sim.state.phase, 'promoting');
    t.same(sim.types(), ['promote']);
    sim.feed({ type: 'promote-result', ok: true, status: 200, error: undefined });
    sim.see({ role: 'replica', lag: 2, dbs: [db({ txid: 9n })] }, 1000);
    t.equal(
      sim.types().filter((x) => x === 'promote').length,
      1,
      'waits --promote-timeout before asking again',
    );
    sim.see(ok(9n), 1000);
    t.equal(sim.state.phase, 'migrating', 'primary checks passed');
  });
  t.test('refuses: synced but behind its high-water mark (through decide)', async (t) => {
    // A restored (older) volume on a candidate: the state file says TXID 50 was seen here, the
    // synced replica is at 9. The same observation lowers the persisted mark to 9 (a synced
    // replica follows its primary) and logs the rewind; S5 still sees 9 < 50 and never asks.
    const sim = new Sim(testConfig(cfg));
    sim.loadHwm({ 'sqlite.db': 50n });
    const acts = sim.see({ role: 'replica', lag: 0, dbs: [db({ txid: 9n })] });
    t.notOk(sim.types().includes('promote'), 'no promotion request');
    const ev = sim.events(acts).filter((e) => ['hwm.rewind', 'promote.skip'].includes(e));
    t.same(ev, ['hwm.rewind', 'promote.skip'], 'the rewind is logged, then S5 refuses');
    const skip = acts.find((a) => a.type === 'log' && a.event === 'promote.skip');
    t.match(skip, {
      level: 'warn',
      msg: /behind its high-water mark: sqlite\.db 0000000000000009 < 0000000000000032/,
    });
    t.equal(sim.last('start-app')?.type, 'start-app', 'the app starts as a replica');
    t.equal(sim.state.hwm.dbs['sqlite.db'], 9n, 'the persisted mark follows the primary');
    sim.see({ role: 'replica', lag: 0, dbs: [db({ txid: 9n })] }, 60_000);
    t.notOk(sim.types().includes('promote'), 'and it does not ask later in this run either');
  });
  t.test('allows: synced at its high-water mark (through decide)', async (t) => {
    const sim = new Sim(testConfig(cfg));
    sim.loadHwm({ 'sqlite.db': 50n });
    sim.see({ role: 'replica', lag: 0, dbs: [db({ txid: 50n })] });
    t.same(sim.types(), ['promote']);
    t.equal(sim.state.phase, 'promoting');
  });
  t.test('refuses: behind its HWM (s5MayPromote, the rule alone)', async (t) => {
    const behind = s5MayPromote(true, true, [dbViewOf(db({ txid: 9n }), false)], {
      'sqlite.db': 50n,
    });
    t.match(behind, { ok: false, why: /behind its high-water mark/ });
    t.same(s5MayPromote(true, true, [dbViewOf(db({ txid: 50n }), false)], { 'sqlite.db': 50n }), {
      ok: true,
    });
    t.match(s5MayPromote(true, false, [], {}), { ok: false, why: 'not synced yet' });
  });
  t.test('refuses: not a candidate', async (t) => {
    const sim = new Sim(testConfig(cfg));
    sim.see({ role: 'replica', lag: 0, candidate: false });
    t.notOk(sim.types().includes('promote'));
    t.equal(sim.last('start-app')?.type, 'start-app');
  });
  t.test('gives up after 3 requests and starts the app as a replica', async (t) => {
    const sim = new Sim(testConfig({ ...cfg, promoteTimeout: 30_000 }));
    for (let i = 0; i < 4; i++) sim.see({ role: 'replica', lag: 0 }, 30_000);
    t.equal(sim.types().filter((x) => x === 'promote').length, 3);
    t.equal(sim.last('start-app')?.type, 'start-app');
  });
});

t.test('S7 promotion while the app runs', async (t) => {
  function runningReplica(cfg = {}) {
    const sim = new Sim(testConfig(cfg));
    sim.loadHwm(undefined);
    sim.see({ role: 'replica', lag: 0, dbs: [db({ txid: 9n })] });
    sim.feed({ type: 'app-started', pid: 10 });
    return sim;
  }
  t.test('--on-promotion migrate: checks, then migrates while the app keeps running', async (t) => {
    const sim = runningReplica();
    sim.see(ok(9n), 1000);
    t.equal(sim.state.phase, 'migrating');
    sim.see(ok(9n), 1, sim.lastToken());
    t.equal(runs(sim).length, 1);
    t.notOk(sim.types().includes('stop-app'));
    sim.commandExit(0);
    sim.see(ok(10n), 1000);
    t.equal(sim.state.phase, 'running');
  });
  t.test('--on-promotion none: no migration', async (t) => {
    const sim = runningReplica({ onPromotion: 'none' });
    sim.see(ok(9n), 1000);
    t.same(runs(sim), []);
    t.equal(sim.state.phase, 'running');
  });
  t.test('fenced: the app is stopped and not restarted', async (t) => {
    const sim = runningReplica({ restart: 'always' });
    sim.loadHwm({ 'sqlite.db': 100n });
    sim.see(ok(9n), 1000);
    t.equal(sim.state.phase, 'fenced');
    t.same(sim.last('stop-app'), { type: 'stop-app', signal: 'SIGTERM' });
    sim.feed({ type: 'app-exit', exitCode: 143, signal: 'SIGTERM' });
    t.equal(sim.state.app.restartAt, undefined, 'no restart');
    t.equal(sim.state.exited, undefined, 'the fence decides the exit, not the app');
  });
  // Found by test/faults: the signal used to be forwarded, then the app's exit was taken as
  // the fence's stop and nothing ever exited (a hang until SIGKILL).
  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    t.test(`fenced, ${signal} while the app is still stopping: exit ${code}`, async (t) => {
      const sim = runningReplica();
      sim.loadHwm({ 'sqlite.db': 100n });
      sim.see(ok(9n), 1000);
      t.equal(sim.state.phase, 'fenced');
      sim.feed({ type: 'signal', signal });
      t.same(sim.last('stop-app'), { type: 'stop-app', signal }, 'forwarded to the app');
      t.equal(sim.state.exited, undefined, 'waits for the app');
      sim.feed({ type: 'app-exit', exitCode: 137, signal: 'SIGKILL' }, 3000);
      t.equal(sim.state.exited, code, "the signal's 128+N: the fence had stopped the app");
      t.same(sim.last('exit'), { type: 'exit', code });
      t.equal(sim.state.app.restartAt, undefined, 'no restart');
    });
  }
});

t.test('S8 backups before migrating', async (t) => {
  t.test('a non-empty db is saved first, then migrated', async (t) => {
    const sim = new Sim(testConfig({ backupDir: '/data/backups' }));
    sim.see(ok(7n));
    t.equal(sim.state.phase, 'backing-up');
    t.match(sim.last('backup'), { db: 'sqlite.db', txid: 7n, expectedBytes: 8192 });
    t.notOk(sim.types().includes('observe'), 'no migration yet');
    sim.feed({
      type: 'backup-result',
      db: 'sqlite.db',
      result: { kind: 'written', path: '/data/backups/x', bytes: 8192, removed: [] },
    });
    sim.see(ok(7n), 10);
    t.equal(sim.state.phase, 'migrating');
  });
  t.test('a backup whose retention failed is logged, and the migration goes on', async (t) => {
    const sim = new Sim(testConfig({ backupDir: '/b' }));
    sim.see(ok(7n));
    sim.feed({
      type: 'backup-result',
      db: 'sqlite.db',
      result: {
        kind: 'written',
        path: '/b/x',
        bytes: 8192,
        removed: [],
        retentionError: 'EACCES: /b/old.sqlite',
      },
    });
    const warn = sim.actions.find((a) => a.type === 'log' && a.event === 'backup.retention-fail');
    t.match(warn, { level: 'warn', fields: { db: 'sqlite.db', error: /EACCES/ } });
    sim.see(ok(7n), 10);
    t.equal(sim.state.phase, 'migrating');
  });
  t.test('a skipped backup (disk) warns and goes on', async (t) => {
    const sim = new Sim(testConfig({ backupDir: '/b' }));
    sim.see(ok(7n));
    sim.feed({
      type: 'backup-result',
      db: 'sqlite.db',
      result: { kind: 'skipped', why: 'low disk' },
    });
    sim.see(ok(7n), 10);
    t.ok(sim.events().includes('backup.skip'));
    t.equal(sim.state.phase, 'migrating');
  });
  t.test('a failed backup refuses to migrate (exit 3)', async (t) => {
    const sim = new Sim(testConfig({ backupDir: '/b' }));
    sim.see(ok(7n));
    sim.feed({ type: 'backup-result', db: 'sqlite.db', result: { kind: 'failed', error: 'EIO' } });
    t.equal(sim.state.exited, 3);
    t.same(runs(sim), []);
  });
  t.test('a new cluster has nothing to back up', async (t) => {
    const sim = new Sim(testConfig({ backupDir: '/b' }));
    sim.see(empty);
    t.notOk(sim.types().includes('backup'));
  });
});

t.test('S8 the backup must fit: s8BackupRoom', async (t) => {
  const space = (freeBytes: number) => ({
    ok: true as const,
    path: '/b',
    freeBytes,
    totalBytes: 1000,
  });
  t.match(
    s8BackupRoom(space(500), '/b', 300, 10),
    { kind: 'ok', budgetBytes: 400 },
    'allows: 20% left',
  );
  t.match(
    s8BackupRoom(space(500), '/b', 401, 10),
    { kind: 'skipped', why: /below --min-free-disk 10%/ },
    'refuses: would leave 9.9%',
  );
  t.match(
    s8BackupRoom({ ok: false, path: '/b', error: 'EIO' }, '/b', 1, 10),
    { kind: 'skipped', why: /cannot tell/ },
    'refuses: unmeasurable',
  );
  t.match(
    s8BackupRoom({ ok: true, path: '/b', freeBytes: 0, totalBytes: 0 }, '/b', 1, 10),
    {
      kind: 'skipped',
      why: /cannot tell whether the copy fits \(\/b reports a filesystem size of 0 bytes\)/,
    },
    'refuses: a 0-byte total is unmeasurable',
  );
});

t.test('S9 disk guard', async (t) => {
  const disk = (freeBytes: number) => ({
    ok: true as const,
    path: '/var/lib/litefs',
    freeBytes,
    totalBytes: 1000,
  });
  t.test('refuses below --min-free-disk: exit 3, no migration', async (t) => {
    const sim = new Sim(testConfig({ minFreeDisk: 10 }));
    sim.see({ ...ok(7n), disk: disk(99) });
    t.equal(sim.state.exited, 3);
    t.same(runs(sim), []);
    t.ok(sim.events().includes('disk.refuse'));
  });
  t.test('allows at or above it', async (t) => {
    const sim = new Sim(testConfig({ minFreeDisk: 10 }));
    sim.see({ ...ok(7n), disk: disk(100) });
    t.equal(sim.state.phase, 'migrating');
  });
  t.test('an unmeasurable disk does not block (noted in the log)', async (t) => {
    const sim = new Sim(testConfig());
    sim.see({ ...ok(7n), disk: { ok: false, path: '/x', error: 'ENOENT' } });
    t.equal(sim.state.phase, 'migrating');
  });
  t.test('a 0-byte total is unmeasurable, as in S8: noted, never "100% free"', async (t) => {
    t.same(s9DiskGuard({ ok: true, path: '/x', freeBytes: 0, totalBytes: 0 }, 10), {
      ok: true,
      note: 'free disk space unknown: /x reports a filesystem size of 0 bytes',
    });
    const sim = new Sim(testConfig({ minFreeDisk: 10 }));
    sim.see({ ...ok(7n), disk: { ok: true, path: '/x', freeBytes: 0, totalBytes: 0 } });
    t.equal(sim.state.phase, 'migrating');
    const confirm = sim.actions.find((a) => a.type === 'log' && a.event === 'migrate.confirm');
    t.match(confirm, { fields: { disk: /size of 0 bytes/ } });
  });
});

t.test('S11 rewind alarm', async (t) => {
  t.test('a new primary behind this replica raises the alarm and saves a copy', async (t) => {
    const sim = new Sim(testConfig({ peers: PEERS, backupDir: '/b' }));
    sim.see({ role: 'replica', lag: 0, primary: 'node-a', dbs: [db({ txid: 50n })] });
    sim.see({ role: 'replica', lag: 0, primary: 'node-b', dbs: [db({ txid: 50n })] }, 1000);
    t.equal(sim.last('ask-peers')?.type, 'ask-peers');
    sim.answerPeers(report([peer({ isPrimary: true, txid: 1n })]));
    t.ok(sim.events().includes('rewind.alarm'));
    t.equal(sim.state.rewindAlarms, 1);
    t.match(sim.last('backup'), { db: 'sqlite.db', txid: 50n });
  });
  t.test('a new primary at or ahead: no alarm', async (t) => {
    const sim = new Sim(testConfig({ peers: PEERS }));
    sim.see({ role: 'replica', lag: 0, primary: 'node-a', dbs: [db({ txid: 50n })] });
    sim.see({ role: 'replica', lag: 0, primary: 'node-b', dbs: [db({ txid: 50n })] }, 1000);
    sim.answerPeers(report([peer({ isPrimary: true, txid: 50n })]));
    t.notOk(sim.events().includes('rewind.alarm'));
  });
});

t.test('the high-water mark', async (t) => {
  t.test('follows the largest TXID and is written at most every 5 s, and at exit', async (t) => {
    const sim = new Sim(testConfig({ migrate: [] }));
    sim.loadHwm(undefined);
    sim.see({ role: 'replica', lag: 'unsynced', dbs: [db({ txid: 3n })] });
    t.match(sim.last('persist-hwm')?.file, {
      version: 1,
      clusterId: CLUSTER,
      dbs: { 'sqlite.db': { txid: 3n } },
    });
    sim.see({ role: 'replica', lag: 'unsynced', dbs: [db({ txid: 4n })] }, 1000);
    t.equal(sim.actions.filter((a) => a.type === 'persist-hwm').length, 1, 'throttled');
    sim.see({ role: 'replica', lag: 'unsynced', dbs: [db({ txid: 2n })] }, 4000);
    t.match(
      sim.last('persist-hwm')?.file.dbs,
      { 'sqlite.db': { txid: 4n } },
      'an unsynced replica never lowers it',
    );
    sim.see({ role: 'replica', lag: 'unsynced', dbs: [db({ txid: 6n })] }, 1000);
    sim.feed({ type: 'signal', signal: 'SIGTERM' });
    t.match(sim.last('persist-hwm')?.file.dbs, { 'sqlite.db': { txid: 6n } }, 'written at exit');
  });
  t.test('a synced replica follows its primary down, logging the rewind as an error', async (t) => {
    const sim = new Sim(testConfig({ migrate: [] }));
    sim.loadHwm({ 'sqlite.db': 10n });
    sim.see({ role: 'replica', lag: 0, dbs: [db({ txid: 1n })] });
    t.ok(sim.events().includes('hwm.rewind'));
    t.equal(sim.state.hwm.dbs['sqlite.db'], 1n);
  });
  t.test('another cluster ID starts a fresh mark', async (t) => {
    const sim = new Sim(testConfig());
    sim.loadHwm({ 'sqlite.db': 100n }, 'LFSCSOMEOTHERONE');
    sim.see(ok(5n));
    t.ok(sim.events().includes('hwm.cluster-changed'));
    t.equal(sim.state.phase, 'migrating', "the other cluster's mark does not fence");
  });
  t.test(
    'S10: a damaged state file is reported and treated as no mark (peers still apply)',
    async (t) => {
      const sim = new Sim(testConfig({ peers: PEERS }));
      sim.feed({
        type: 'hwm-loaded',
        load: { kind: 'corrupt', error: 'Unexpected token', movedTo: '/x.corrupt' },
      });
      t.ok(sim.events().includes('hwm.corrupt'));
      sim.see(empty);
      sim.answerPeers(report([peer({ txid: 9n })]));
      t.equal(sim.state.phase, 'fenced', 'the peer still reveals the data');
    },
  );
});
