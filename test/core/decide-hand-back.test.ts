// S14 a serving primary, through decide: a primary whose app cannot serve writes (booting after
// its migrations, a failed migration between tries, a crashed app waiting to restart) hands the
// lease to a synced candidate whose app is ready and takes it back when it can serve; the node
// that gets it back runs no migration for it. Each case allowing and refusing.

import t from 'tap';
import type { Config } from '../../src/config/types.js';
import { statusSnapshot } from '../../src/core/health.js';
import { parseEvidence } from '../../src/core/parse.js';
import type { PeerAnswer } from '../../src/core/peer-types.js';
import { peer, report, Sim, silent, testConfig } from '../helpers/builders.js';

const TCP = 'tcp://localhost:8081';
const A = 'AAAAAAAAAAAAAAAA'; // this node (builders' obs)
const B = 'BBBBBBBBBBBBBBBB';
const C = 'CCCCCCCCCCCCCCCC';

/** A peer supervisor following this node, synced, with its app ready unless said otherwise. */
function sup(
  o: Parameters<typeof peer>[0] & {
    ready?: boolean;
    handingBackTo?: string;
    follows?: string;
  } = {},
): PeerAnswer {
  const p = peer({ txid: 5n, nodeId: B, ...o });
  if (!p.ok) return p;
  return {
    ...p,
    evidence: 'supervisor',
    primaryHostname: o.follows ?? 'self',
    synced: true,
    lagMs: 10,
    appReady: o.ready ?? true,
    handingBackTo: o.handingBackTo,
  };
}

function config(over: Partial<Config> = {}): Config {
  return testConfig({ peers: 'app.internal', appReady: TCP, appReadyTimeout: 60_000, ...over });
}

/**
 * A new version: a synced replica asks for the lease (S5), becomes primary, passes its checks,
 * migrates and starts its app, which is booting.
 */
function newVersionBooting(over: Partial<Config> = {}) {
  const sim = new Sim(config({ promote: true, ...over }));
  sim.loadHwm(undefined);
  sim.see({ role: 'replica', lag: 5 });
  // S5 asks the peers first: the answer names the primary whose writes are halted (section 4).
  sim.answerPeers(report([sup({ isPrimary: true, follows: 'self' })]));
  if (sim.last('promote') === undefined) throw new Error('no promote');
  sim.see({ role: 'primary' }, 20);
  sim.answerPeers(report([sup({ follows: 'self' })]));
  sim.see({ role: 'primary' }, 1, sim.lastToken());
  sim.commandExit(0, 0);
  sim.feed({ type: 'app-started', pid: 7 }, 300);
  return sim;
}

const handoffs = (sim: Sim) => sim.actions.filter((a) => a.type === 'handoff');
const log = (sim: Sim, event: string) =>
  [...sim.actions].reverse().find((a) => a.type === 'log' && a.event === event);

t.test(
  'boot: the lease goes to a ready peer while the new version boots, and comes back',
  async (t) => {
    const sim = newVersionBooting();
    t.equal(sim.state.handBack?.why, 'boot');
    t.match(sim.last('ask-peers'), { type: 'ask-peers' }, 'asks which peer has a ready app');
    sim.answerPeers(
      report([
        sup({ nodeId: C, txid: 6n, ready: false }),
        sup({ nodeId: B, txid: 5n, ready: true }),
        silent(),
      ]),
      5,
    );
    t.match(handoffs(sim), [{ nodeId: B }], 'the ready one, not the more advanced booting one');
    t.match(log(sim, 'handback.request'), { fields: { why: 'boot', nodeId: B } });
    t.match(statusSnapshot(sim.state, sim.config, 't', sim.now).handBack, { why: 'boot', to: B });
    const body = JSON.parse(JSON.stringify(statusSnapshot(sim.state, sim.config, 't', sim.now)));
    const read = parseEvidence({ ...body, evidence: 1 });
    t.match(read, { ok: true, value: { handingBackTo: B } }, 'a peer reads whom it hands to');

    sim.feed({ type: 'handoff-result', nodeId: B, ok: true, error: undefined }, 2);
    sim.see({ role: 'replica', primary: 'node-b', lag: 3 }, 10);
    t.ok(log(sim, 'handback.done'));
    t.equal(sim.state.phase, 'running', 'its app boots on as a replica');
    t.equal(
      sim.last('promote'),
      sim.actions.find((a) => a.type === 'promote'),
      'no reclaim yet',
    );
    const before = sim.actions.filter((a) => a.type === 'promote').length;
    sim.feed({ type: 'app-ready', pid: 7 }, 1700);
    t.equal(
      sim.actions.filter((a) => a.type === 'promote').length,
      before + 1,
      'ready: takes it back',
    );
    t.match(log(sim, 'handback.reclaim'), { fields: { why: 'boot' } });
    const ready = report([sup({ nodeId: B })]).answers[0]!;
    t.match(
      sim.last('promote'),
      { haltAt: ready.url },
      'the node handed to is named: its writes are halted while the lease comes back',
    );
    sim.see({ role: 'primary' }, 15);
    t.ok(log(sim, 'handback.reclaimed'));
    t.equal(sim.state.handBack, undefined);
    sim.answerPeers(report([sup({ follows: 'self' })]), 5);
    t.equal(
      sim.actions.filter((a) => a.type === 'run-command').length,
      1,
      'the migration ran once: taking the lease back migrates nothing',
    );
    t.equal(sim.state.phase, 'running');
    t.ok(sim.state.term.cleared, 'its checks ran again (S7)');
  },
);

t.test('boot: refusals keep the lease', async (t) => {
  t.test('no peer whose app is ready: keeps it, asks again 500 ms later', async (t) => {
    const sim = newVersionBooting();
    sim.answerPeers(report([sup({ ready: false }), sup({ nodeId: C, follows: 'node-z' })]));
    t.same(handoffs(sim), []);
    t.match(log(sim, 'handback.none'), { level: 'warn', fields: { why: 'boot' } });
    t.same(sim.state.wake, { at: sim.now + 500, why: 'handback-retry' });
    const asks = sim.actions.filter((a) => a.type === 'ask-peers').length;
    sim.feed({ type: 'wake' }, 500);
    t.equal(sim.actions.filter((a) => a.type === 'ask-peers').length, asks + 1);
    sim.answerPeers(report([sup({ ready: false })]));
    t.match(log(sim, 'handback.none'), { level: 'debug' }, 'warned once per hand-back');
    sim.feed({ type: 'wake' }, 500);
    sim.answerPeers(report([sup({ ready: true })]));
    t.match(handoffs(sim), [{ nodeId: B }], 'the peer became ready: handed then');
  });
  t.test('the app becomes ready first: keeps it, nothing moves', async (t) => {
    const sim = newVersionBooting();
    sim.feed({ type: 'app-ready', pid: 7 }, 50);
    sim.answerPeers(report([sup()]));
    t.same(handoffs(sim), []);
    t.equal(sim.state.handBack, undefined);
    t.ok(log(sim, 'handback.cancel'));
  });
  t.test('ready while a handoff is on its way: the lease moves, then comes back', async (t) => {
    // Real LiteFS moved the lease a few hundred ms after the request on a loaded machine: an
    // app that became ready meanwhile cancelled the hand-back, and the new version stayed a
    // replica with a ready app while the old one held the lease.
    const sim = newVersionBooting();
    sim.answerPeers(report([sup()]));
    t.match(handoffs(sim), [{ nodeId: B }]);
    sim.feed({ type: 'app-ready', pid: 7 }, 40);
    t.notOk(log(sim, 'handback.cancel'), 'not cancelled: LiteFS carries the handoff out');
    t.equal(sim.state.handBack?.target, B);
    const before = sim.actions.filter((a) => a.type === 'promote').length;
    sim.see({ role: 'replica', primary: 'node-b', lag: 3 }, 20);
    t.ok(log(sim, 'handback.done'));
    t.equal(
      sim.actions.filter((a) => a.type === 'promote').length,
      before + 1,
      'its app is ready: takes the lease back at once',
    );
    t.match(log(sim, 'handback.reclaim'), { fields: { why: 'boot' } });
  });
  t.test('ready while a handoff is on its way that LiteFS refuses: keeps the lease', async (t) => {
    const sim = newVersionBooting();
    sim.answerPeers(report([sup()]));
    sim.feed({ type: 'app-ready', pid: 7 }, 40);
    sim.feed({ type: 'handoff-result', nodeId: B, ok: false, error: 'POST /handoff: 400' }, 2);
    t.ok(log(sim, 'handback.cancel'));
    t.equal(sim.state.handBack, undefined);
    t.equal(handoffs(sim).length, 1);
  });
  t.test('ready while a handoff is on its way that never moves the lease: keeps it', async (t) => {
    const sim = newVersionBooting();
    sim.answerPeers(report([sup()]));
    sim.feed({ type: 'app-ready', pid: 7 }, 40);
    sim.feed({ type: 'handoff-result', nodeId: B, ok: true, error: undefined }, 2);
    t.equal(sim.state.wake?.why, 'handback-retry');
    sim.feed({ type: 'wake' }, 3000);
    t.ok(log(sim, 'handback.cancel'));
    t.equal(sim.state.handBack, undefined);
    t.equal(handoffs(sim).length, 1, 'no second handoff');
  });
  t.test('--hand-back off: the old order, the lease stays while the app boots', async (t) => {
    const sim = newVersionBooting({ handBack: 'off' });
    t.equal(sim.state.handBack, undefined);
    t.same(handoffs(sim), []);
    t.equal(sim.state.role, 'primary');
  });
  t.test('no --peers: nobody to hand it to', async (t) => {
    const sim = new Sim(config({ peers: undefined }));
    sim.loadHwm(undefined);
    sim.see({ role: 'primary' });
    sim.see({ role: 'primary' }, 1, sim.lastToken());
    sim.commandExit(0, 0);
    sim.feed({ type: 'app-started', pid: 7 }, 300);
    t.equal(sim.state.handBack, undefined);
    t.notOk(sim.types().includes('ask-peers'));
  });
  t.test('--app-ready none: ready at spawn, nothing to hand back', async (t) => {
    const sim = newVersionBooting({ appReady: 'none' });
    t.equal(sim.state.handBack, undefined);
  });
  t.test('a handoff LiteFS refuses is tried again after 500 ms', async (t) => {
    const sim = newVersionBooting();
    sim.answerPeers(report([sup()]));
    sim.feed({ type: 'handoff-result', nodeId: B, ok: false, error: 'POST /handoff: 400' }, 4);
    t.match(log(sim, 'handback.fail'), { level: 'warn' });
    t.same(sim.state.wake, { at: sim.now - 4 + 500, why: 'handback-retry' });
    sim.feed({ type: 'wake' }, 496);
    sim.answerPeers(report([sup()]));
    t.equal(handoffs(sim).length, 2);
  });
  t.test('a move that does not come: asked again 3 s after the handoff', async (t) => {
    const sim = newVersionBooting();
    sim.answerPeers(report([sup()]));
    sim.feed({ type: 'handoff-result', nodeId: B, ok: true, error: undefined }, 4);
    t.same(sim.state.wake?.why, 'handback-retry');
    const asks = sim.actions.filter((a) => a.type === 'ask-peers').length;
    sim.feed({ type: 'wake' }, 2996);
    t.equal(sim.actions.filter((a) => a.type === 'ask-peers').length, asks + 1);
  });
  t.test(
    'a peer that just lost the lease reads unsynced: caught up by position, it counts',
    async (t) => {
      const unsynced = (txid: bigint) => {
        const p = sup({ txid });
        return p.ok ? { ...p, synced: false, lagMs: undefined } : p;
      };
      const behind = newVersionBooting();
      behind.answerPeers(report([unsynced(4n)]));
      t.same(handoffs(behind), [], 'unsynced and behind this node (TXID 4 < 5): not a target');
      const caught = newVersionBooting();
      caught.answerPeers(report([unsynced(5n)]));
      t.match(handoffs(caught), [{ nodeId: B }], 'unsynced by its lag, at this TXID: a target');
    },
  );
});

t.test('boot without asking for the lease: no reclaim, a replica once ready', async (t) => {
  const sim = new Sim(config());
  sim.loadHwm(undefined);
  sim.see({ role: 'primary' });
  sim.answerPeers(report([sup()]));
  sim.see({ role: 'primary' }, 1, sim.lastToken());
  sim.commandExit(0, 0);
  sim.feed({ type: 'app-started', pid: 7 }, 300);
  sim.answerPeers(report([sup()]));
  t.match(handoffs(sim), [{ nodeId: B }]);
  sim.see({ role: 'replica', primary: 'node-b', lag: 3 }, 10);
  sim.feed({ type: 'app-ready', pid: 7 }, 1500);
  t.notOk(
    sim.types().includes('promote'),
    'this node did not ask for the lease: it stays a replica',
  );
  t.equal(sim.state.handBack, undefined);
  t.ok(log(sim, 'handback.end'));
});

/** A primary whose first migration fails (app not started), with a ready peer. */
function failingMigration(over: Partial<Config> = {}) {
  const sim = new Sim(config({ migrateRetries: 2, ...over }));
  sim.loadHwm(undefined);
  sim.see({ role: 'primary' });
  sim.answerPeers(report([sup()]));
  sim.see({ role: 'primary' }, 1, sim.lastToken());
  sim.commandExit(0, 1);
  return sim;
}

t.test('retry: the lease goes to a ready peer between tries and comes back for each', async (t) => {
  const sim = failingMigration();
  t.equal(sim.state.handBack?.why, 'retry');
  sim.answerPeers(report([sup()]), 5);
  t.match(handoffs(sim), [{ nodeId: B }]);
  sim.see({ role: 'replica', primary: 'node-b', lag: 2 }, 20);
  t.equal(sim.state.phase, 'migrating', 'waits for the next try, no app');
  t.notOk(sim.types().includes('start-app'), 'the app never starts on the unmigrated schema');
  t.equal(sim.state.commands[0]?.failures, 1, 'the count goes on across the hand-back');
  t.equal(sim.state.wake?.why, 'migrate-retry');
  sim.see({ role: 'replica', primary: 'node-b', lag: 2 }, 100);
  sim.see({ role: 'replica', primary: 'node-b', lag: 4 }, 100);
  t.equal(sim.events().filter((e) => e === 'handback.wait').length, 1, 'the wait is logged once');
  sim.feed({ type: 'wake' }, 775);
  t.equal(sim.last('promote')?.type, 'promote', 'the try is due: asks for the lease');
  t.match(log(sim, 'handback.reclaim'), { fields: { why: 'retry' } });
  sim.see({ role: 'primary' }, 10);
  sim.answerPeers(report([sup()]));
  sim.see({ role: 'primary' }, 1, sim.lastToken());
  t.equal(sim.actions.filter((a) => a.type === 'run-command').length, 2, 'the second try');
  sim.commandExit(0, 1);
  t.match(log(sim, 'migrate.fail'), { fields: { tries: 2 } });
  t.equal(sim.state.handBack?.why, 'retry', 'handed back again');
  sim.answerPeers(report([sup()]));
  sim.see({ role: 'replica', primary: 'node-b', lag: 2 }, 20);
  sim.feed({ type: 'wake' }, 2000);
  sim.see({ role: 'primary' }, 10);
  sim.answerPeers(report([sup()]));
  sim.see({ role: 'primary' }, 1, sim.lastToken());
  sim.commandExit(0, 0);
  t.ok(log(sim, 'migrate.complete'), 'the third try worked');
  t.equal(sim.state.handBack, undefined);
  t.equal(sim.last('start-app')?.type, 'start-app', 'then the app starts');
});

t.test('spent: the lease goes to a serving node for good; with none, exit 3', async (t) => {
  t.test('allows: a ready peer takes it; this node waits without its app', async (t) => {
    const sim = failingMigration({ migrateRetries: 0 });
    t.equal(sim.state.handBack?.why, 'spent');
    t.equal(sim.state.exited, undefined);
    sim.answerPeers(report([sup()]));
    t.match(handoffs(sim), [{ nodeId: B }]);
    sim.see({ role: 'replica', primary: 'node-b', lag: 2 }, 20);
    t.equal(sim.state.phase, 'migrating');
    t.match(sim.state.reason, /tries are spent/);
    sim.feed({ type: 'wake' }, 600_000);
    sim.see({ role: 'replica', primary: 'node-b', lag: 2 }, 5);
    t.notOk(sim.types().includes('promote'), 'never takes the lease from the serving node again');
    t.notOk(sim.types().includes('start-app'));
    t.equal(sim.state.exited, undefined);
  });
  t.test('refuses: no peer whose app is ready within 5 s: exit 3, as before', async (t) => {
    const sim = failingMigration({ migrateRetries: 0 });
    sim.answerPeers(report([sup({ ready: false }), silent()]));
    t.equal(sim.state.exited, undefined, 'a peer may not follow this node yet: asked again');
    t.equal(sim.state.wake?.why, 'handback-retry');
    for (let i = 0; i < 9; i++) {
      sim.feed({ type: 'wake' }, 500);
      sim.answerPeers(report([sup({ follows: '' })]));
    }
    t.equal(sim.state.exited, undefined, '4.5 s: still asking');
    sim.feed({ type: 'wake' }, 500);
    sim.answerPeers(report([sup({ follows: '' })]));
    t.equal(sim.state.exited, 3);
    t.match(log(sim, 'migrate.give-up'), { level: 'error' });
  });
  t.test('--hand-back off: exit 3 at once, as before', async (t) => {
    const sim = failingMigration({ migrateRetries: 0, handBack: 'off' });
    t.equal(sim.state.exited, 3);
  });
});

t.test('retry with no ready peer: keeps the lease and retries as before', async (t) => {
  const sim = failingMigration();
  sim.answerPeers(report([sup({ ready: false })]));
  t.same(handoffs(sim), []);
  sim.feed({ type: 'wake' }, 1000);
  sim.see({ role: 'primary' }, 0, sim.lastToken());
  t.equal(sim.actions.filter((a) => a.type === 'run-command').length, 2);
});

t.test('a failing migration beside a running app (S7) hands nothing back', async (t) => {
  const sim = new Sim(config({ appReady: 'none' }));
  sim.loadHwm(undefined);
  sim.see({ role: 'replica', lag: 5 });
  sim.feed({ type: 'app-started', pid: 3 });
  sim.see({ role: 'primary' }, 10);
  sim.answerPeers(report([sup()]));
  sim.see({ role: 'primary' }, 1, sim.lastToken());
  sim.commandExit(0, 1);
  t.equal(sim.state.handBack, undefined, 'the app serves');
});

t.test('crash: the lease goes to a ready peer while the app waits to restart', async (t) => {
  const sim = new Sim(config({ restart: 'on-failure', migrate: [] }));
  sim.loadHwm(undefined);
  sim.see({ role: 'primary' });
  sim.answerPeers(report([sup()]));
  sim.feed({ type: 'app-started', pid: 7 });
  sim.feed({ type: 'app-ready', pid: 7 }, 500);
  t.equal(sim.state.handBack, undefined, 'ready: it serves');
  sim.feed({ type: 'app-exit', exitCode: 1, signal: undefined }, 60_000);
  t.equal(sim.state.handBack?.why, 'crash');
  sim.answerPeers(report([sup({ nodeId: C, ready: false, txid: 9n }), sup()]));
  t.match(handoffs(sim), [{ nodeId: B }]);
  sim.see({ role: 'replica', primary: 'node-b', lag: 2 }, 10);
  sim.feed({ type: 'wake' }, 1000);
  t.equal(sim.last('start-app')?.type, 'start-app', 'restarts as a replica');
  sim.feed({ type: 'app-started', pid: 8 });
  sim.feed({ type: 'app-ready', pid: 8 }, 400);
  t.notOk(sim.types().includes('promote'), 'no reclaim after a crash');
  t.equal(sim.state.handBack, undefined);

  t.test('refuses: without a ready peer it keeps the lease and restarts as primary', async (t) => {
    const sim = new Sim(config({ restart: 'on-failure', migrate: [] }));
    sim.loadHwm(undefined);
    sim.see({ role: 'primary' });
    sim.answerPeers(report([sup()]));
    sim.feed({ type: 'app-started', pid: 7 });
    sim.feed({ type: 'app-exit', exitCode: 1, signal: undefined }, 60_000);
    sim.answerPeers(report([sup({ ready: false })]));
    t.same(handoffs(sim), []);
    sim.feed({ type: 'wake' }, 1000);
    t.equal(sim.last('start-app')?.type, 'start-app');
    t.equal(sim.state.role, 'primary');
  });
});

t.test('receiving a hand-back runs no migration; a promotion does (S7)', async (t) => {
  for (const [name, from, migrates] of [
    ['a peer hands the lease to this node', A, false],
    ['a peer hands it to another node', C, true],
    ['no peer hands anything', undefined, true],
  ] as const) {
    const sim = new Sim(config({ appReady: 'none' }));
    sim.loadHwm(undefined);
    sim.see({ role: 'replica', lag: 5 });
    sim.feed({ type: 'app-started', pid: 3 });
    sim.see({ role: 'primary' }, 10);
    sim.answerPeers(report([sup({ handingBackTo: from })]));
    const ran = sim.types().includes('observe');
    t.equal(ran, migrates, name);
    if (!migrates) {
      t.match(log(sim, 'migrate.skip'), { fields: { from: 'http://[fdaa::2]:20202' } }, name);
      t.equal(sim.state.phase, 'running', name);
      sim.see({ role: 'primary' }, 1000);
      t.equal(sim.events().filter((e) => e === 'migrate.skip').length, 1, 'logged once');
    }
  }
});

t.test('parseEvidence: handBack is optional, and checked when present', async (t) => {
  const base = { evidence: 1, nodeId: null, clusterId: null, dbs: [] };
  t.match(parseEvidence(base), { ok: true, value: { handingBackTo: undefined } });
  t.match(parseEvidence({ ...base, handBack: null }), {
    ok: true,
    value: { handingBackTo: undefined },
  });
  t.match(parseEvidence({ ...base, handBack: { to: 3 } }), { ok: false, error: /handBack.to/ });
  t.match(parseEvidence({ ...base, handBack: 'x' }), { ok: false, error: /"handBack"/ });
});
