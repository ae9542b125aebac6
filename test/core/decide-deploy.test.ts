// Deploys without a write gap (handover on stop, S5 --promote-when), through decide: a primary
// asked to stop hands the lease to the most advanced synced candidate before it stops its app (and
// stops as before when there is none, the handoff fails or --handoff-timeout passes); a replica
// stops as before; with --promote-when new-version a synced candidate asks for the lease only when
// the primary runs another app version. Each rule allowing and refusing.

import t from 'tap';
import type { Config } from '../../src/config/types.js';
import type { PeerAnswer } from '../../src/core/peer-types.js';
import { db, peer, report, Sim, silent, testConfig } from '../helpers/builders.js';

const PEERS = 'myapp.internal';

/** A peer whose supervisor answers /status: synced, following this node ('self'). */
function sup(
  o: Parameters<typeof peer>[0] & {
    synced?: boolean;
    lagMs?: number;
    appVersion?: string;
    follows?: string;
  } = {},
): PeerAnswer {
  const p = peer({ txid: 5n, ...o });
  if (!p.ok) return p;
  return {
    ...p,
    evidence: 'supervisor',
    primaryHostname: o.follows ?? (o.isPrimary ? 'node-a' : 'self'),
    synced: o.synced ?? true,
    lagMs: o.lagMs ?? 15,
    appVersion: o.appVersion,
  };
}

/** A primary whose app runs (no migrations), with --peers and --handoff-timeout 1s. */
function runningPrimary(cfg: Partial<Config> = {}) {
  const sim = new Sim(
    testConfig({ peers: PEERS, handoffTimeout: 1000, migrate: [], maxLag: 10_000, ...cfg }),
  );
  sim.loadHwm(undefined);
  sim.see({ role: 'primary' });
  if (cfg.peers !== undefined || !('peers' in cfg)) sim.answerPeers(report([sup()]));
  sim.feed({ type: 'app-started', pid: 42 });
  if (sim.state.phase !== 'running') throw new Error(`not running: ${sim.state.phase}`);
  sim.actions.length = 0;
  return sim;
}

const stops = (sim: Sim) => sim.actions.filter((a) => a.type === 'stop-app');
const handoffs = (sim: Sim) => sim.actions.filter((a) => a.type === 'handoff');

t.test('handover on stop: a primary with a synced candidate', async (t) => {
  t.test('allows: hands the lease over, waits for LiteFS to show it, then stops', async (t) => {
    const sim = runningPrimary();
    sim.feed({ type: 'signal', signal: 'SIGTERM' });
    t.same(sim.types(), ['ask-peers'], 'the app is not stopped yet');
    t.same(sim.state.wake, { at: sim.now + 1000, why: 'handover-timeout' });
    t.equal(sim.state.phase, 'stopping');
    t.equal(sim.state.app.status, 'running', 'the app keeps serving while the lease moves');
    sim.answerPeers(report([sup({ nodeId: 'BBBBBBBBBBBBBBBB' })]), 40);
    t.match(handoffs(sim), [{ nodeId: 'BBBBBBBBBBBBBBBB' }]);
    t.same(stops(sim), [], 'asked, not moved: still running');
    sim.feed({ type: 'handoff-result', nodeId: 'BBBBBBBBBBBBBBBB', ok: true, error: undefined }, 5);
    t.same(stops(sim), [], 'a 200 from /handoff is not the move (docs/litefs-facts.md)');
    sim.see({ role: 'primary' }, 5);
    t.same(stops(sim), [], 'still primary per /info: still waiting');
    sim.see({ role: 'replica', primary: 'node-b' }, 15);
    t.match(stops(sim), [{ signal: 'SIGTERM' }], 'LiteFS shows the move: the app is stopped');
    t.ok(sim.events().includes('handover.done'));
    t.match(
      sim.actions.find((a) => a.type === 'log' && a.event === 'handover.done'),
      { fields: { nodeId: 'BBBBBBBBBBBBBBBB', durationMs: 65 } },
    );
    sim.feed({ type: 'app-exit', exitCode: 143, signal: undefined });
    t.match(sim.last('exit'), { code: 143 }, 'ends as docs/design.md section 9 says');
  });

  t.test('the transient after a handoff (own hostname as primary) counts as moved', async (t) => {
    const sim = runningPrimary();
    sim.feed({ type: 'signal', signal: 'SIGINT' });
    sim.answerPeers(report([sup()]));
    sim.see({ role: 'replica', primary: 'self' });
    t.equal(sim.state.role, 'unknown');
    t.match(stops(sim), [{ signal: 'SIGINT' }]);
  });

  t.test('picks the most advanced eligible candidate', async (t) => {
    const sim = runningPrimary();
    sim.feed({ type: 'signal', signal: 'SIGTERM' });
    sim.answerPeers(
      report([
        sup({ nodeId: '1111111111111111', txid: 5n, pages: 3 }),
        sup({ nodeId: '2222222222222222', txid: 5n, pages: 4 }),
        sup({ nodeId: '3333333333333333', txid: 9n, candidate: false }),
        sup({ nodeId: '4444444444444444', txid: 9n, synced: false }),
        sup({ nodeId: '5555555555555555', txid: 9n, lagMs: 20_000 }),
        sup({ nodeId: '6666666666666666', txid: 9n, follows: 'node-z' }),
        peer({ nodeId: '7777777777777777', txid: 0n, pages: 1 }),
        silent(),
      ]),
    );
    t.match(handoffs(sim), [{ nodeId: '2222222222222222' }], 'data, then TXID, then pages');
  });

  t.test(
    'a LiteFS-only peer that follows this node is eligible (LiteFS checks the connection)',
    async (t) => {
      const sim = runningPrimary();
      sim.feed({ type: 'signal', signal: 'SIGTERM' });
      sim.answerPeers(report([peer({ txid: 4n, nodeId: 'CCCCCCCCCCCCCCCC' })]));
      t.match(
        handoffs(sim),
        [{ nodeId: 'CCCCCCCCCCCCCCCC' }],
        'a TXID behind is fine: LiteFS streams it first',
      );
    },
  );

  t.test('refuses: no eligible candidate: stops at once, as before', async (t) => {
    const cases: [string, PeerAnswer[]][] = [
      ['no peer answered', [silent()]],
      ['no peer at all', []],
      ['only a non-candidate', [sup({ candidate: false })]],
      ['only an unsynced one', [sup({ synced: false })]],
      ['only one without data', [peer({ txid: 0n, pages: 1 })]],
      ['only one following another primary', [sup({ follows: 'node-z' })]],
      ['only one of another cluster', [sup({ clusterId: 'LFSC0000000000000099' })]],
    ];
    for (const [name, answers] of cases) {
      const sim = runningPrimary();
      sim.feed({ type: 'signal', signal: 'SIGTERM' });
      sim.answerPeers(report(answers));
      t.same(handoffs(sim), [], `${name}: no handoff`);
      t.match(stops(sim), [{ signal: 'SIGTERM' }], `${name}: the app is stopped at once`);
      t.ok(sim.events().includes('handover.none'), name);
    }
  });

  t.test('refuses: the handoff fails: stops', async (t) => {
    const sim = runningPrimary();
    sim.feed({ type: 'signal', signal: 'SIGTERM' });
    sim.answerPeers(report([sup()]));
    sim.feed({
      type: 'handoff-result',
      nodeId: 'BBBBBBBBBBBBBBBB',
      ok: false,
      error: 'target node is not currently connected',
    });
    t.match(stops(sim), [{ signal: 'SIGTERM' }]);
    t.ok(sim.events().includes('handover.fail'));
  });

  t.test('refuses: the lease does not move within --handoff-timeout: stops', async (t) => {
    const sim = runningPrimary();
    sim.feed({ type: 'signal', signal: 'SIGTERM' });
    sim.answerPeers(report([sup()]), 100);
    sim.feed({ type: 'handoff-result', nodeId: 'BBBBBBBBBBBBBBBB', ok: true, error: undefined });
    sim.see({ role: 'primary' }, 500);
    t.same(stops(sim), []);
    sim.feed({ type: 'wake' }, 400);
    t.match(stops(sim), [{ signal: 'SIGTERM' }]);
    t.ok(sim.events().includes('handover.timeout'));
  });

  t.test('refuses: the peers do not answer within --handoff-timeout: stops', async (t) => {
    const sim = runningPrimary();
    sim.feed({ type: 'signal', signal: 'SIGTERM' });
    sim.see({ role: 'primary' }, 1000);
    t.match(stops(sim), [{ signal: 'SIGTERM' }], 'an observation after the deadline ends it too');
    sim.answerPeers(report([sup()]));
    t.same(handoffs(sim), [], 'a late answer moves nothing');
  });

  t.test('a second signal stops the app at once', async (t) => {
    const sim = runningPrimary();
    sim.feed({ type: 'signal', signal: 'SIGTERM' });
    sim.feed({ type: 'signal', signal: 'SIGTERM' });
    t.match(stops(sim), [{ signal: 'SIGTERM' }]);
    t.ok(sim.events().includes('handover.abandon'));
    sim.answerPeers(report([sup()]));
    t.same(handoffs(sim), []);
  });

  t.test('the app exits by itself during the handover: its code ends the run', async (t) => {
    const sim = runningPrimary();
    sim.feed({ type: 'signal', signal: 'SIGTERM' });
    sim.feed({ type: 'app-exit', exitCode: 1, signal: undefined });
    t.match(sim.last('exit'), { code: 1 });
    t.same(stops(sim), []);
  });
});

t.test('no handover: stops as before', async (t) => {
  t.test('a replica', async (t) => {
    const sim = new Sim(testConfig({ peers: PEERS, handoffTimeout: 1000, migrate: [] }));
    sim.loadHwm(undefined);
    sim.see({ role: 'replica' });
    sim.feed({ type: 'app-started', pid: 42 });
    sim.actions.length = 0;
    sim.feed({ type: 'signal', signal: 'SIGTERM' });
    t.same(sim.types(), ['stop-app']);
  });
  t.test('--handoff-timeout 0', async (t) => {
    const sim = runningPrimary({ handoffTimeout: 0 });
    sim.feed({ type: 'signal', signal: 'SIGTERM' });
    t.same(sim.types(), ['stop-app']);
  });
  t.test('no --peers', async (t) => {
    const sim = runningPrimary({ peers: undefined });
    sim.feed({ type: 'signal', signal: 'SIGINT' });
    t.same(sim.types(), ['stop-app']);
  });
  t.test('a signal that is not a stop (SIGHUP) is forwarded, no handover', async (t) => {
    const sim = runningPrimary();
    sim.feed({ type: 'signal', signal: 'SIGHUP' });
    t.same(sim.types(), ['signal-app']);
  });
});

/** A synced candidate replica with --promote, app version `appVersion`. */
function candidate(cfg: Partial<Config> = {}) {
  const sim = new Sim(
    testConfig({
      peers: PEERS,
      promote: true,
      promoteWhen: 'new-version',
      appVersion: 'v2',
      migrate: [],
      ...cfg,
    }),
  );
  sim.loadHwm(undefined);
  sim.see({ role: 'replica', dbs: [db({ txid: 5n })] });
  return sim;
}

t.test('--promote-when new-version: the lease moves once per new version', async (t) => {
  t.test('allows: the primary runs another version', async (t) => {
    const sim = candidate();
    t.same(sim.types(), ['ask-peers'], 'asks the primary first');
    const primary = sup({ isPrimary: true, appVersion: 'v1', nodeId: 'AB' });
    sim.answerPeers(report([primary]));
    t.same(sim.types().slice(1), ['promote']);
    t.match(sim.actions.at(-1), { haltAt: primary.url }, "the primary's writes halted (section 4)");
    t.ok(sim.events().includes('promote.new-version'));
    t.equal(sim.state.phase, 'promoting');
  });
  t.test(
    'allows: the primary reports no version (LiteFS alone, or an older supervisor)',
    async (t) => {
      for (const primary of [peer({ isPrimary: true, txid: 5n }), sup({ isPrimary: true })]) {
        const sim = candidate();
        sim.answerPeers(report([primary]));
        t.same(sim.types().slice(1), ['promote'], primary.ok ? primary.evidence : '');
      }
    },
  );
  t.test('refuses: a restart of the same version never moves the lease', async (t) => {
    const sim = candidate();
    sim.answerPeers(report([sup({ isPrimary: true, appVersion: 'v2' })]));
    t.notOk(sim.types().includes('promote'));
    t.same(sim.types().slice(1), ['start-app'], 'starts its app as a replica');
    t.match(
      sim.actions.find((a) => a.type === 'log' && a.event === 'promote.skip'),
      { msg: /already runs this version \(v2\)/ },
    );
  });
  t.test("as before when this version or the primary's is unknown", async (t) => {
    const noVersion = candidate({ appVersion: undefined });
    t.same(noVersion.types(), ['ask-peers'], 'FLY_IMAGE_REF unset: asks which node is primary');
    noVersion.answerPeers(report([sup({ isPrimary: true, appVersion: 'v2' })]));
    t.same(noVersion.types().slice(1), ['promote'], 'then asks for the lease whatever it runs');
    const silentPrimary = candidate();
    silentPrimary.answerPeers(report([silent(), sup({ appVersion: 'v2' })]));
    t.same(silentPrimary.types().slice(1), ['promote'], 'no answering primary');
    t.match(silentPrimary.actions.at(-1), { type: 'promote', haltAt: undefined }, 'no halt');
    const noPeers = candidate({ peers: undefined });
    t.same(noPeers.types(), ['promote'], 'no --peers: asks at once');
  });
  t.test('--promote-when always: every start asks, the primary named first', async (t) => {
    const sim = candidate({ promoteWhen: 'always' });
    t.same(sim.types(), ['ask-peers'], 'which node is primary: its writes are halted');
    const primary = sup({ isPrimary: true, appVersion: 'v2' });
    sim.answerPeers(report([primary]));
    t.same(sim.types().slice(1), ['promote'], 'the same version: asks anyway');
    t.match(
      sim.actions.at(-1),
      { type: 'promote', haltAt: primary.url },
      "the primary's LiteFS is named for the halt (section 4)",
    );
  });
});

t.test('writes halted across a lease move: each outcome is logged (section 4)', async (t) => {
  const moved = (halt: Parameters<Sim['feed']>[0] & { type: 'handoff-result' }) => {
    const sim = runningPrimary();
    sim.feed({ type: 'signal', signal: 'SIGTERM' });
    sim.answerPeers(report([sup({ nodeId: 'BBBBBBBBBBBBBBBB' })]));
    sim.feed(halt, 5);
    return sim.actions.filter((a) => a.type === 'log' && a.event.startsWith('halt.'));
  };
  const base = { type: 'handoff-result' as const, nodeId: 'BBBBBBBBBBBBBBBB', error: undefined };
  t.match(
    moved({ ...base, ok: true, halt: { kind: 'held', dbs: ['app.db'], waitedMs: 3, heldMs: 12 } }),
    [{ level: 'info', event: 'halt.held', fields: { dbs: 'app.db', waitedMs: 3, heldMs: 12 } }],
  );
  t.match(
    moved({
      ...base,
      ok: true,
      halt: { kind: 'held', dbs: ['app.db'], waitedMs: 3, heldMs: 12, releaseError: 'ECONNRESET' },
    }),
    [{ event: 'halt.held' }, { level: 'warn', event: 'halt.release-fail', msg: /ECONNRESET/ }],
  );
  t.match(moved({ ...base, ok: true, halt: { kind: 'skipped', why: 'HTTP 404' } }), [
    { level: 'warn', event: 'halt.skipped', msg: /without halting .*HTTP 404.*can be lost/ },
  ]);
  t.same(moved({ ...base, ok: true }), [], 'no halt attempted: nothing to say');
});
