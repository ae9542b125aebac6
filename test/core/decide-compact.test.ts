// Compaction through decide (docs/design.md, "Compaction"): the refusals at the request, the
// course on a primary (measure, stop the app through the usual stop, copy, import, start the app
// again), and every abort path (another writer, a lost lease, the timeout, the command gone, a
// stop signal, a failed backup), each allowing and refusing. And the low-disk alarm.

import t from 'tap';
import type { Config } from '../../src/config/types.js';
import {
  COMPACT_EXIT,
  type CompactIoResult,
  type CompactMeasure,
  type CompactReply,
} from '../../src/core/compact.js';
import { statusSnapshot } from '../../src/core/health.js';
import type { Action } from '../../src/core/state.js';
import { db, type ObsSpec, Sim, testConfig } from '../helpers/builders.js';

const DB = 'sqlite.db';
const MB = 1024 * 1024;

function runningPrimary(over: Partial<Config> = {}): Sim {
  const sim = new Sim(testConfig({ compactTimeout: 60_000, compactThreshold: 10, ...over }));
  sim.loadHwm(undefined);
  sim.see({ role: 'primary' });
  sim.see({ role: 'primary' }, 1, sim.lastToken());
  sim.commandExit(0, 0);
  sim.feed({ type: 'app-started', pid: 7 }, 10);
  if (sim.state.phase !== 'running') throw new Error(`not running: ${sim.state.phase}`);
  return sim;
}

let nextId = 1;
function ask(sim: Sim, more: { dryRun?: boolean; backupDir?: string; noBackup?: boolean } = {}) {
  const id = nextId++;
  sim.feed({
    type: 'compact-request',
    request: {
      id,
      db: DB,
      dryRun: more.dryRun ?? false,
      backupDir: more.backupDir,
      noBackup: more.noBackup ?? false,
    },
  });
  return id;
}

function measure(over: Partial<CompactMeasure> = {}): CompactMeasure {
  return {
    pageSize: 4096,
    pageCount: 4000,
    freePages: 3000,
    fileBytes: 4000 * 4096,
    dir: '/data',
    disk: { ok: true, path: '/data', freeBytes: 500 * MB, totalBytes: 1000 * MB },
    backup: undefined,
    peers: [{ peer: 'http://b:20202', ok: true, freeBytes: 500 * MB, totalBytes: 1000 * MB }],
    ...over,
  };
}

function result(sim: Sim, id: number, r: CompactIoResult, advanceMs = 5): Action[] {
  return sim.feed({ type: 'compact-io-result', id, result: r }, advanceMs);
}

function replies(sim: Sim, id: number): CompactReply[] {
  return sim.actions.flatMap((a) => (a.type === 'compact-reply' && a.id === id ? [a.reply] : []));
}

function outcome(sim: Sim, id: number) {
  const r = replies(sim, id).find((x) => x.kind === 'result');
  return r?.kind === 'result' ? r : undefined;
}

const ios = (sim: Sim) => sim.actions.flatMap((a) => (a.type === 'compact-io' ? [a.io.op] : []));
const stops = (sim: Sim) => sim.actions.filter((a) => a.type === 'stop-app').length;
const starts = (sim: Sim) => sim.actions.filter((a) => a.type === 'start-app').length;

/** Up to the copy being made: measured, the app stopped and exited. */
function toVacuum(over: Partial<Config> = {}) {
  const sim = runningPrimary(over);
  const id = ask(sim);
  result(sim, id, { op: 'measure', ok: true, measure: measure() });
  sim.feed({ type: 'app-exit', exitCode: 0, signal: 'SIGTERM' }, 50);
  return { sim, id };
}

const copy = (before: bigint, after: bigint): CompactIoResult => ({
  op: 'vacuum',
  ok: true,
  path: '/data/.litefs-supervisor-compact.sqlite.db.sqlite',
  bytes: 1000 * 4096,
  txidBefore: before,
  txidAfter: after,
  rows: { users: 8 },
});

t.test('refused at the request, each with its code and reason', async (t) => {
  const onReplica = new Sim(testConfig());
  onReplica.loadHwm(undefined);
  onReplica.see({ role: 'replica', primary: 'node-a' });
  const id = ask(onReplica);
  t.match(outcome(onReplica, id), {
    code: COMPACT_EXIT.notPrimary,
    msg: /replica; the primary is node-a/,
  });
  t.same(ios(onReplica), [], 'nothing measured');

  const unknown = new Sim(testConfig());
  unknown.loadHwm(undefined);
  unknown.see({ role: 'unknown' });
  t.match(outcome(unknown, ask(unknown)), {
    code: COMPACT_EXIT.notPrimary,
    msg: /no primary is known/,
  });

  const migrating = new Sim(testConfig());
  migrating.loadHwm(undefined);
  migrating.see({ role: 'primary' });
  t.match(outcome(migrating, ask(migrating)), { code: COMPACT_EXIT.notReady, msg: /not running/ });

  const standalone = runningPrimary({ standalone: true });
  t.match(outcome(standalone, ask(standalone)), { code: COMPACT_EXIT.notReady, msg: /standalone/ });

  const other = runningPrimary();
  const otherId = nextId++;
  other.feed({
    type: 'compact-request',
    request: { id: otherId, db: 'other.db', dryRun: false, backupDir: undefined, noBackup: false },
  });
  t.match(outcome(other, otherId), {
    code: COMPACT_EXIT.notReady,
    msg: /--db other\.db is not a database/,
  });

  const busy = runningPrimary();
  const first = ask(busy);
  const second = ask(busy);
  t.match(outcome(busy, second), { code: COMPACT_EXIT.notReady, msg: /another compaction/ });
  t.equal(outcome(busy, first), undefined, 'the first one goes on');
  t.same(ios(busy), ['measure']);

  // Allowed: a running primary with its app ready.
  const ok = runningPrimary();
  const okId = ask(ok);
  t.equal(outcome(ok, okId), undefined);
  t.same(ios(ok), ['measure']);
  t.equal(stops(ok), 0, 'the app runs while it is measured');
});

t.test('on a primary: measure, stop the app, copy, import, start the app again', async (t) => {
  const { sim, id } = toVacuum();
  t.equal(stops(sim), 1, 'the app was stopped through the usual stop');
  t.equal(sim.state.phase, 'compacting');
  t.same(ios(sim), ['measure', 'vacuum'], 'the copy is made once the app has exited');
  const startsBefore = starts(sim);
  result(sim, id, copy(9n, 9n));
  const imp = sim.last('compact-io');
  t.match(imp?.io, { op: 'import', txid: 9n, rows: { users: 8 } });
  t.equal(starts(sim), startsBefore, 'the app stays stopped while LiteFS imports');
  result(
    sim,
    id,
    { op: 'import', ok: true, txidAfter: 10n, bytesAfter: 1000 * 4096, problems: [] },
    20,
  );
  t.match(outcome(sim, id), {
    code: COMPACT_EXIT.done,
    outcome: 'compacted',
    msg: /compacted: .* 3000 pages freed, app stopped 25 ms/,
  });
  t.equal(starts(sim), startsBefore + 1, 'the app is started again by the usual start');
  t.equal(sim.state.compaction, undefined);
  t.match(statusSnapshot(sim.state, sim.config, 'test', sim.now).compaction.last, {
    outcome: 'compacted',
    pagesFreed: 3000,
    txidAfter: '000000000000000a',
  });
  t.ok(sim.events().includes('compact.done'));

  // The check through the mount after the import found a problem: its own code, logged as error.
  const { sim: bad, id: badId } = toVacuum();
  result(bad, badId, copy(9n, 9n));
  result(bad, badId, {
    op: 'import',
    ok: true,
    txidAfter: 10n,
    bytesAfter: 1,
    problems: ['row counts differ'],
  });
  t.match(outcome(bad, badId), { code: COMPACT_EXIT.unverified, outcome: 'unverified' });
});

t.test('--dry-run, little to gain, no room: nothing changes, the app never stops', async (t) => {
  const dry = runningPrimary();
  const dryId = ask(dry, { dryRun: true });
  result(dry, dryId, { op: 'measure', ok: true, measure: measure() });
  t.match(outcome(dry, dryId), { code: 0, outcome: 'dry-run', msg: /would free 3000 pages/ });
  t.equal(stops(dry), 0);

  const little = runningPrimary();
  const littleId = ask(little);
  result(little, littleId, { op: 'measure', ok: true, measure: measure({ freePages: 100 }) });
  t.match(outcome(little, littleId), {
    code: 0,
    outcome: 'nothing-to-gain',
    msg: /below --compact-threshold 10%/,
  });
  t.equal(stops(little), 0);
  t.same(ios(little), ['measure'], 'no import');

  const full = runningPrimary();
  const fullId = ask(full);
  const tight = { ok: true as const, path: '/data', freeBytes: 5 * MB, totalBytes: 1000 * MB };
  result(full, fullId, { op: 'measure', ok: true, measure: measure({ disk: tight }) });
  t.match(outcome(full, fullId), {
    code: COMPACT_EXIT.noRoom,
    msg: /not enough room .*needs \d+ bytes .*has 5242880 free/,
  });
  t.equal(stops(full), 0);

  // A peer without room refuses too; one that did not answer is named and does not block.
  const peerFull = runningPrimary();
  const pId = ask(peerFull);
  result(peerFull, pId, {
    op: 'measure',
    ok: true,
    measure: measure({
      peers: [
        { peer: 'http://b:20202', ok: true, freeBytes: MB, totalBytes: 1000 * MB },
        { peer: 'http://c:20202', ok: false, error: 'timeout' },
      ],
    }),
  });
  t.match(outcome(peerFull, pId), {
    code: COMPACT_EXIT.noRoom,
    msg: /peer http:\/\/b:20202: needs .* has 1048576 free/,
  });

  // Room for the copy but not for the backup beside it: asks for --no-backup, never skips.
  const noBackup = runningPrimary();
  const bId = ask(noBackup, { backupDir: '/data/backups' });
  const justCopy = { ok: true as const, path: '/data', freeBytes: 30 * MB, totalBytes: 1000 * MB };
  result(noBackup, bId, {
    op: 'measure',
    ok: true,
    measure: measure({
      disk: justCopy,
      backup: { dir: '/data/backups', disk: justCopy, sameVolume: true },
    }),
  });
  t.match(outcome(noBackup, bId), { code: COMPACT_EXIT.noRoom, msg: /--no-backup/ });
});

t.test('a backup first, when asked; a failed backup aborts before the app stops', async (t) => {
  const sim = runningPrimary();
  const id = ask(sim, { backupDir: '/backups' });
  result(sim, id, { op: 'measure', ok: true, measure: measure() });
  t.same(ios(sim), ['measure', 'backup']);
  t.equal(stops(sim), 0, 'the app runs during the backup');
  result(sim, id, { op: 'backup', ok: true, path: '/backups/x.sqlite', bytes: 10 });
  t.equal(stops(sim), 1);

  // The supervisor's own --backup-dir when the command names none; --no-backup goes without.
  const own = runningPrimary({ backupDir: '/data/backups' });
  const ownId = ask(own);
  result(own, ownId, { op: 'measure', ok: true, measure: measure() });
  t.match(own.last('compact-io')?.io, { op: 'backup', dir: '/data/backups' });
  const without = runningPrimary({ backupDir: '/data/backups' });
  const withoutId = ask(without, { noBackup: true });
  result(without, withoutId, { op: 'measure', ok: true, measure: measure() });
  t.same(ios(without), ['measure'], 'no backup');
  t.equal(stops(without), 1);

  const failed = runningPrimary();
  const fId = ask(failed, { backupDir: '/backups' });
  result(failed, fId, { op: 'measure', ok: true, measure: measure() });
  result(failed, fId, { op: 'backup', ok: false, error: 'EIO' });
  t.match(outcome(failed, fId), { code: COMPACT_EXIT.aborted, msg: /the backup failed: EIO/ });
  t.equal(stops(failed), 0);
});

t.test('aborts: another writer, a lost lease, the timeout, the command gone', async (t) => {
  // Another writer moved the TXID while the copy was made: the copy is discarded, nothing imported.
  const moved = toVacuum();
  const starts0 = starts(moved.sim);
  result(moved.sim, moved.id, copy(9n, 11n));
  t.match(moved.sim.last('compact-io')?.io, { op: 'discard' });
  t.notOk(ios(moved.sim).includes('import'), 'nothing imported');
  result(moved.sim, moved.id, { op: 'discard', ok: true });
  t.match(outcome(moved.sim, moved.id), {
    code: COMPACT_EXIT.aborted,
    msg: /another writer committed .*nothing imported, the copy removed/,
  });
  t.equal(starts(moved.sim), starts0 + 1, 'the app started again');

  // The same TXID: imported (the refusing case of the rule above).
  const same = toVacuum();
  result(same.sim, same.id, copy(9n, 9n));
  t.ok(ios(same.sim).includes('import'));

  // The lease is lost while the copy is made: cancelled, then nothing imported.
  const lost = toVacuum();
  lost.sim.see({ role: 'replica', primary: 'node-b' }, 5);
  t.ok(
    lost.sim.actions.some((a) => a.type === 'compact-cancel'),
    'the VACUUM INTO is stopped',
  );
  result(lost.sim, lost.id, { op: 'vacuum', ok: false, error: 'cancelled', cancelled: true });
  t.match(outcome(lost.sim, lost.id), { code: COMPACT_EXIT.aborted, msg: /no longer the primary/ });
  t.notOk(ios(lost.sim).includes('import'));

  // --compact-timeout while the copy is made.
  const slow = toVacuum({ compactTimeout: 1000 });
  t.equal(slow.sim.state.wake?.why, 'compact-timeout');
  slow.sim.feed({ type: 'wake' }, 2000);
  t.ok(slow.sim.actions.some((a) => a.type === 'compact-cancel'));
  result(slow.sim, slow.id, { op: 'vacuum', ok: false, error: 'cancelled', cancelled: true });
  t.match(outcome(slow.sim, slow.id), {
    code: COMPACT_EXIT.aborted,
    msg: /--compact-timeout 1000ms passed/,
  });

  // The import was sent: the timeout waits for LiteFS's answer (it is whole or nothing).
  const importing = toVacuum({ compactTimeout: 1000 });
  result(importing.sim, importing.id, copy(9n, 9n));
  importing.sim.feed({ type: 'wake' }, 5000);
  t.equal(outcome(importing.sim, importing.id), undefined, 'no abort once the import was sent');
  t.equal(importing.sim.state.wake?.why === 'compact-timeout', false);

  // The command went away before the app stopped: it just ends, the app never stopped.
  const gone = runningPrimary();
  const gId = ask(gone);
  gone.feed({ type: 'compact-cancel', id: gId });
  t.match(outcome(gone, gId), { code: COMPACT_EXIT.aborted, msg: /interrupted/ });
  result(gone, gId, { op: 'measure', ok: true, measure: measure() });
  t.equal(stops(gone), 0, 'a late measurement starts nothing');
});

t.test('a stop signal: before the import aborts; during the import waits for it', async (t) => {
  const copying = toVacuum();
  copying.sim.feed({ type: 'signal', signal: 'SIGTERM' });
  t.ok(copying.sim.actions.some((a) => a.type === 'compact-cancel'));
  t.match(outcome(copying.sim, copying.id), {
    code: COMPACT_EXIT.aborted,
    msg: /SIGTERM received/,
  });
  t.equal(copying.sim.state.exited, 143, 'the run ends (its runner removes the copy)');

  const importing = toVacuum();
  result(importing.sim, importing.id, copy(9n, 9n));
  importing.sim.feed({ type: 'signal', signal: 'SIGTERM' });
  t.equal(importing.sim.state.exited, undefined, 'waits for the import');
  result(importing.sim, importing.id, {
    op: 'import',
    ok: true,
    txidAfter: 10n,
    bytesAfter: 1,
    problems: [],
  });
  t.match(outcome(importing.sim, importing.id), { code: 0, outcome: 'compacted' });
  t.equal(importing.sim.state.exited, 143);
  t.equal(starts(importing.sim), 1, 'the app is not started again once stopping');
});

t.test('the low-disk alarm: logged, repeated every 5 minutes, never stops the app', async (t) => {
  const sim = runningPrimary({ minFreeDisk: 10 });
  const low: ObsSpec = {
    role: 'primary',
    dbs: [db()],
    disk: { ok: true, path: '/data', freeBytes: 50 * MB, totalBytes: 1000 * MB },
  };
  const fine: ObsSpec = {
    ...low,
    disk: { ok: true, path: '/data', freeBytes: 500 * MB, totalBytes: 1000 * MB },
  };
  sim.see(fine);
  t.notOk(sim.events().includes('disk.low'), 'not low: no alarm');
  sim.see(low, 1000);
  t.equal(sim.events().filter((e) => e === 'disk.low').length, 1);
  t.match(statusSnapshot(sim.state, sim.config, 'test', sim.now).disk, {
    low: true,
    freeBytes: 50 * MB,
    minFreePct: 10,
  });
  sim.see(low, 60_000);
  t.equal(sim.events().filter((e) => e === 'disk.low').length, 1, 'not again within 5 minutes');
  sim.see(low, 5 * 60_000);
  t.equal(sim.events().filter((e) => e === 'disk.low').length, 2, 'again after 5 minutes');
  t.equal(stops(sim), 0, 'the app keeps running');
  t.equal(sim.state.phase, 'running');
  sim.see(fine, 1000);
  t.ok(sim.events().includes('disk.ok'));
  t.match(statusSnapshot(sim.state, sim.config, 'test', sim.now).disk, {
    low: false,
    lowSince: null,
  });
});
