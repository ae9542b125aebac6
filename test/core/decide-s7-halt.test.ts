// decide, S7 (docs/design.md): a node that becomes primary while its app runs halts its own
// writes (LiteFS's HALT lock, the `halt-self` action) before its checks, and releases the lock
// when they pass, once the app exited when they fence it, when the lease is lost or a stop
// signal comes, and 2 s after it was asked for at the latest. Never when the app is not
// running (S2 before the app starts) nor without LiteFS (--standalone).

import t from 'tap';
import type { Action } from '../../src/core/state.js';
import { db, peer, report, Sim, testConfig } from '../helpers/builders.js';

const PEERS = 'myapp.internal';
const ok = (txid: bigint) => ({ role: 'primary' as const, dbs: [db({ txid })] });
const held = { kind: 'held' as const, dbs: ['sqlite.db'], waitedMs: 3 };
const halts = (list: Action[]) =>
  list.filter((a) => a.type === 'halt-self' || a.type === 'unhalt-self').map((a) => a.type);
const heldLog = (sim: Sim) =>
  [...sim.actions]
    .reverse()
    .find((a) => a.type === 'log' && a.event === 'halt.held' && a.fields.check === 'S7');

/** A replica whose app runs, with --peers. */
function runningReplica(cfg = {}) {
  const sim = new Sim(testConfig({ peers: PEERS, ...cfg }));
  sim.loadHwm(undefined);
  sim.see({ role: 'replica', lag: 0, dbs: [db({ txid: 9n })] });
  sim.feed({ type: 'app-started', pid: 10 });
  return sim;
}

/** That replica gets the lease: S7, the lock granted, the peers asked. */
function promotedWhileRunning(cfg = {}) {
  const sim = runningReplica(cfg);
  const first = sim.see(ok(9n), 1000);
  sim.feed({ type: 'self-halt-result', halt: held }, 5);
  return { sim, first };
}

t.test('S7 takes its own write lock first, before anything else', async (t) => {
  const sim = runningReplica();
  const acts = sim.types(sim.see(ok(9n), 1000));
  t.equal(acts[0], 'halt-self', 'the first action of the S7 checks');
  t.ok(acts.includes('ask-peers'), 'the peers asked beside it');
  t.same(sim.last('halt-self'), { type: 'halt-self', dbs: ['sqlite.db'], waitMs: 1000 });
  t.equal(sim.state.phase, 'checking');
  t.same(sim.state.selfHalt, { status: 'asking', since: sim.now, waitedMs: undefined });
});

t.test('checks that pass release it at once', async (t) => {
  const { sim } = promotedWhileRunning({ onPromotion: 'none' });
  t.same(halts(sim.actions), ['halt-self'], 'held while the peers answer');
  const out = sim.answerPeers(report([peer({ txid: 9n })]), 20);
  t.same(halts(out), ['unhalt-self']);
  t.equal(sim.state.selfHalt, undefined);
  t.equal(sim.state.phase, 'running');
  t.match(heldLog(sim), { fields: { released: 'the checks passed', waitedMs: 5, heldMs: 20 } });
});

t.test('a fence keeps it until the app exited, then releases it before any handoff', async (t) => {
  const { sim } = promotedWhileRunning();
  const fenced = sim.answerPeers(report([peer({ txid: 20n })]), 20);
  t.equal(sim.state.phase, 'fenced');
  t.same(
    sim.types(fenced).filter((a) => a !== 'ask-peers'),
    ['stop-app'],
  );
  t.same(halts(fenced), [], 'still held while the app stops');
  t.equal(sim.state.selfHalt?.status, 'held');
  // A fresh answer comes while the app still stops: no handoff under our own lock.
  const early = sim.answerPeers(report([peer({ txid: 20n })]), 10);
  t.notOk(sim.types(early).includes('handoff'), 'the handoff waits for the lock to go');
  const exit = sim.feed({ type: 'app-exit', exitCode: 143, signal: 'SIGTERM' }, 100);
  t.same(halts(exit), ['unhalt-self'], 'released once the app has exited');
  t.equal(sim.state.selfHalt, undefined);
  t.match(heldLog(sim), { fields: { released: 'fenced, and the app has exited' } });
  const unhaltAt = sim.actions.findIndex((a) => a.type === 'unhalt-self');
  sim.see(ok(9n), 3000);
  if (sim.last('ask-peers')) sim.answerPeers(report([peer({ txid: 20n })]), 10);
  const handoffAt = sim.actions.findIndex((a) => a.type === 'handoff');
  t.ok(handoffAt > unhaltAt, 'the handoff comes after the release');
});

t.test('held 2 s at most: released at its deadline even while the app still stops', async (t) => {
  const { sim } = promotedWhileRunning();
  sim.answerPeers(report([peer({ txid: 20n })]), 20);
  t.equal(sim.state.phase, 'fenced');
  const since = sim.state.selfHalt?.since ?? 0;
  t.same(sim.state.wake, { at: since + 2000, why: 'self-halt-hold' });
  t.same(halts(sim.feed({ type: 'wake' }, since + 1999 - sim.now)), [], 'not before');
  t.same(halts(sim.feed({ type: 'wake' }, 1)), ['unhalt-self'], 'at 2 s');
  t.equal(sim.state.app.status, 'stopping', 'the app had not exited');
  t.match(heldLog(sim), { fields: { released: 'held for its limit of 2000 ms' } });
});

t.test('a lock refused or not granted in time: the checks go on without it', async (t) => {
  const sim = runningReplica({ onPromotion: 'none' });
  sim.see(ok(9n), 1000);
  const why = 'a transaction held the write lock of sqlite.db for 1000 ms';
  const out = sim.feed({ type: 'self-halt-result', halt: { kind: 'skipped', why } }, 1000);
  t.match(
    out.find((a) => a.type === 'log' && a.event === 'halt.skipped'),
    { level: 'warn', fields: { check: 'S7' }, msg: new RegExp(why) },
  );
  t.equal(sim.state.selfHalt, undefined);
  t.same(halts(out), [], 'nothing to release');
  sim.answerPeers(report([peer({ txid: 9n })]));
  t.equal(sim.state.phase, 'running', 'the checks decided as before');
  t.same(halts(sim.actions), ['halt-self'], 'asked for once in the term');
});

t.test('a lock granted after the checks passed is released as its answer comes', async (t) => {
  const sim = runningReplica({ onPromotion: 'none' });
  sim.see(ok(9n), 1000);
  sim.answerPeers(report([peer({ txid: 9n })]), 5);
  t.equal(sim.state.phase, 'running');
  t.equal(sim.state.selfHalt?.status, 'asking');
  const out = sim.feed({ type: 'self-halt-result', halt: held }, 5);
  t.same(halts(out), ['unhalt-self']);
  t.equal(sim.state.selfHalt, undefined);
});

t.test('the lease lost during the checks releases it', async (t) => {
  const { sim } = promotedWhileRunning();
  const out = sim.see({ role: 'replica', lag: 0, dbs: [db({ txid: 9n })] }, 30);
  t.same(halts(out), ['unhalt-self']);
  t.equal(sim.state.selfHalt, undefined);
  t.match(heldLog(sim), { fields: { released: /the lease was lost/ } });
});

t.test('a stop signal during the checks releases it', async (t) => {
  const { sim } = promotedWhileRunning();
  const out = sim.feed({ type: 'signal', signal: 'SIGTERM' }, 30);
  t.same(halts(out), ['unhalt-self']);
  t.equal(sim.state.selfHalt, undefined);
  t.match(heldLog(sim), { fields: { released: 'the supervisor is stopping' } });
});

t.test('no halt when the app is not running (S2 before it starts)', async (t) => {
  const sim = new Sim(testConfig({ peers: PEERS }));
  sim.loadHwm(undefined);
  sim.see(ok(9n));
  t.equal(sim.state.phase, 'checking');
  sim.answerPeers(report([peer({ txid: 9n })]));
  t.same(halts(sim.actions), []);
  t.equal(sim.state.selfHalt, undefined);
});

t.test('no halt in --standalone (no LiteFS halt API)', async (t) => {
  const sim = new Sim(testConfig({ standalone: true, onPromotion: 'none' }));
  sim.loadHwm(undefined);
  sim.see({ role: 'replica', lag: 0, dbs: [db({ txid: 9n })] });
  sim.feed({ type: 'app-started', pid: 10 });
  sim.see(ok(9n), 1000);
  t.same(halts(sim.actions), []);
});

t.test('a failed release is a warning', async (t) => {
  const { sim } = promotedWhileRunning({ onPromotion: 'none' });
  sim.answerPeers(report([peer({ txid: 9n })]), 20);
  const out = sim.feed({ type: 'self-unhalt-result', error: 'connection refused' });
  t.match(
    out.find((a) => a.type === 'log' && a.event === 'halt.release-fail'),
    { level: 'warn', fields: { check: 'S7' } },
  );
});
