// One way to wait: every deadline decide waits for sets `state.wake` (the earliest
// one ahead, and why); a `wake` input at that time acts as a poll at that time would (the
// restart happens, the handover times out, a retry fires, --sync-timeout exits 5,
// --fence-timeout exits 4), and a wake before it does nothing. Each kind, allowing (on time)
// and refusing (early). The invariant check runs after every decision (Sim.feed).

import t from 'tap';
import type { Config } from '../../src/config/types.js';
import type { PeerAnswer } from '../../src/core/peer-types.js';
import { db, peer, report, Sim, silent, testConfig } from '../helpers/builders.js';

const PEERS = 'myapp.internal';
const wake = { type: 'wake' } as const;

/** Feed a wake `ms` after the last input; the actions other than logs and state-file writes. */
const wakeAfter = (sim: Sim, ms: number) => sim.types(sim.feed(wake, ms));

t.test('restart backoff: the app restarts at the end of the backoff, not before', async (t) => {
  const sim = new Sim(testConfig({ restart: 'always', migrate: [] }));
  sim.see({ role: 'replica', lag: 0 });
  sim.feed({ type: 'app-started', pid: 1 });
  sim.feed({ type: 'app-exit', exitCode: 1, signal: undefined });
  t.equal(sim.state.phase, 'restarting');
  t.same(sim.state.wake, { at: sim.now + 1000, why: 'restart' });
  t.same(wakeAfter(sim, 999), [], 'an early wake does nothing');
  t.equal(sim.state.phase, 'restarting');
  t.same(sim.state.wake, { at: sim.now + 1, why: 'restart' }, 'the wake stays');
  t.same(wakeAfter(sim, 1), ['start-app']);
  t.equal(sim.state.app.restarts, 1);
  t.equal(sim.state.wake, undefined, 'nothing left to wait for');
});

t.test('a poll after the backoff restarts the app as the wake would', async (t) => {
  const sim = new Sim(testConfig({ restart: 'always', migrate: [] }));
  sim.see({ role: 'replica', lag: 0 });
  sim.feed({ type: 'app-started', pid: 1 });
  sim.feed({ type: 'app-exit', exitCode: 1, signal: undefined });
  t.same(sim.types(sim.see({ role: 'replica', lag: 0 }, 1500)), ['start-app']);
});

/** A peer whose supervisor answers /status: synced, following this node ('self'). */
function sup(nodeId = 'BBBBBBBBBBBBBBBB'): PeerAnswer {
  const p = peer({ txid: 5n, nodeId });
  if (!p.ok) return p;
  return { ...p, evidence: 'supervisor', primaryHostname: 'self', synced: true, lagMs: 15 };
}

t.test('handover: --handoff-timeout stops the app at its time, not before', async (t) => {
  const sim = new Sim(
    testConfig({ peers: PEERS, handoffTimeout: 1000, migrate: [], maxLag: 10_000 }),
  );
  sim.loadHwm(undefined);
  sim.see({ role: 'primary' });
  sim.answerPeers(report([sup()]));
  sim.feed({ type: 'app-started', pid: 42 });
  const start = sim.now;
  sim.feed({ type: 'signal', signal: 'SIGTERM' });
  t.same(sim.state.wake, { at: start + 1000, why: 'handover-timeout' });
  sim.answerPeers(report([sup()]), 100);
  sim.feed({ type: 'handoff-result', nodeId: 'BBBBBBBBBBBBBBBB', ok: true, error: undefined });
  t.same(wakeAfter(sim, 899), [], 'an early wake does nothing');
  t.equal(sim.state.app.status, 'running');
  t.same(wakeAfter(sim, 1), ['stop-app']);
  t.ok(sim.events().includes('handover.timeout'));
  t.equal(sim.state.wake, undefined);
});

/** A primary behind its high-water mark (S2): fenced. */
function fenced(cfg: Partial<Config> = {}) {
  const sim = new Sim(testConfig({ migrate: [], ...cfg }));
  sim.loadHwm({ 'sqlite.db': 100n });
  sim.see({ role: 'primary', dbs: [db({ txid: 9n })] });
  if (cfg.peers !== undefined) {
    // The checks' answer fences it; the fence asks afresh and hands the lease to the peer.
    sim.answerPeers(report([peer({ txid: 100n })]), 10);
    sim.answerPeers(report([peer({ txid: 100n })]), 10);
  }
  return sim;
}

t.test('fenced: the handoff is retried at its time, not before', async (t) => {
  const sim = fenced({ peers: PEERS });
  t.equal(sim.state.phase, 'fenced');
  // The peer has the data this node lacks: the lease is handed to it.
  t.same(sim.types().slice(-1), ['handoff']);
  sim.feed({ type: 'handoff-result', nodeId: 'BBBBBBBBBBBBBBBB', ok: false, error: 'nope' });
  t.same(sim.state.wake, { at: sim.now + 3000, why: 'handoff-retry' });
  t.same(wakeAfter(sim, 2999), [], 'an early wake does nothing');
  t.same(wakeAfter(sim, 1), ['ask-peers'], 'the next try asks the peers afresh');
});

t.test('fenced: --fence-timeout exits 4 at its time, not before', async (t) => {
  const sim = fenced({ fenceTimeout: 60_000 });
  t.equal(sim.state.phase, 'fenced');
  t.same(sim.state.wake, { at: sim.now + 60_000, why: 'fence-timeout' });
  t.same(wakeAfter(sim, 59_999), []);
  t.equal(sim.state.exited, undefined);
  t.same(wakeAfter(sim, 1), ['exit']);
  t.equal(sim.state.exited, 4);
  t.equal(sim.state.wake, undefined);
});

t.test('S3: silent peers are asked again, and --peer-wait ends, at their times', async (t) => {
  const sim = new Sim(testConfig({ peers: PEERS, peerWait: 10_000 }));
  sim.loadHwm(undefined);
  sim.see({ role: 'primary', dbs: [db({ txid: 0n, size: 0, exists: false })] });
  sim.answerPeers(report([silent()]));
  t.equal(sim.state.phase, 'checking');
  t.same(sim.state.wake, { at: sim.now + 3000, why: 'peer-retry' });
  t.same(wakeAfter(sim, 2999), [], 'an early wake does nothing');
  t.same(wakeAfter(sim, 1), ['ask-peers']);
  for (let i = 0; i < 2; i++) {
    sim.answerPeers(report([silent()]));
    t.same(wakeAfter(sim, 3000), ['ask-peers']);
  }
  sim.answerPeers(report([silent()]));
  t.same(sim.state.wake, { at: sim.now + 1000, why: 'peer-wait' }, '--peer-wait is sooner');
  wakeAfter(sim, 1000);
  t.equal(sim.state.phase, 'fenced', 'fenced once --peer-wait is over');
  t.match(sim.state.fence?.why, /not every peer answered within --peer-wait/);
});

t.test('S5: the next promotion request is made at its time, not before', async (t) => {
  const sim = new Sim(testConfig({ promote: true, promoteTimeout: 30_000, migrate: [] }));
  sim.loadHwm(undefined);
  sim.see({ role: 'replica', lag: 0 });
  t.same(sim.types(), ['promote']);
  t.same(sim.state.wake, { at: sim.now + 30_000, why: 'promote-retry' });
  t.same(wakeAfter(sim, 29_999), []);
  t.same(wakeAfter(sim, 1), ['promote']);
  t.equal(sim.state.promote.attempts, 2);
});

t.test('S1: a failed migration is tried again at its time, not before', async (t) => {
  const sim = new Sim(testConfig({ migrate: ['m1'] }));
  sim.loadHwm(undefined);
  sim.see({ role: 'primary', dbs: [db({ txid: 9n })] });
  sim.see({ role: 'primary', dbs: [db({ txid: 9n })] }, 10, sim.lastToken());
  sim.commandExit(0, 5);
  t.same(sim.state.wake, { at: sim.now + 1000, why: 'migrate-retry' });
  t.same(wakeAfter(sim, 999), []);
  t.same(wakeAfter(sim, 1), ['observe'], 'the retry asks for its S1 confirmation');
  t.equal(sim.state.phase, 'migrating');
});

t.test('--sync-timeout exits 5 at its time, not before', async (t) => {
  const sim = new Sim(testConfig({ syncTimeout: 60_000 }));
  sim.see({ role: 'replica', lag: 'unsynced' });
  t.equal(sim.state.phase, 'syncing');
  t.same(sim.state.wake, { at: sim.now + 60_000, why: 'sync-timeout' });
  t.same(wakeAfter(sim, 59_999), []);
  t.equal(sim.state.exited, undefined);
  t.same(wakeAfter(sim, 1), ['exit']);
  t.equal(sim.state.exited, 5);
  t.ok(sim.events().includes('sync.timeout'));
});

t.test('--sync-timeout 0 waits forever: no wake', async (t) => {
  const sim = new Sim(testConfig({ syncTimeout: 0 }));
  sim.see({ role: 'replica', lag: 'unsynced' });
  t.equal(sim.state.phase, 'syncing');
  t.equal(sim.state.wake, undefined);
});

t.test('the earliest deadline wins; a stop leaves only the handover to wait for', async (t) => {
  // Fenced with peers: the handoff retry (3 s) comes before --fence-timeout (60 s).
  const sim = fenced({ peers: PEERS });
  sim.feed({ type: 'handoff-result', nodeId: 'BBBBBBBBBBBBBBBB', ok: false, error: 'nope' });
  t.equal(sim.state.wake?.why, 'handoff-retry');
  sim.feed({ type: 'signal', signal: 'SIGTERM' });
  t.equal(sim.state.exited, 143);
  t.equal(sim.state.wake, undefined, 'nothing to wake for after the exit');
});
