// decide on evidence, not only TXIDs (docs/design.md sections 3 and 4; docs/litefs-facts.md "What a TXID does
// not tell you"): S2 and S3 with peers' pages and high-water marks, S4 handing off only to a
// peer with at least this node's evidence and counting fenced time across flaps, S11 on an empty
// primary, S13 lost history, and the mark never lowered on a transient. Each rule is shown
// allowing and refusing, through decide.

import t from 'tap';
import { statusSnapshot } from '../../src/core/health.js';
import { parseEvidence } from '../../src/core/parse.js';
import { CLUSTER, db, obs, peer, report, Sim, silent, testConfig } from '../helpers/builders.js';

const PEERS = 'myapp.internal';
const runs = (sim: Sim) => sim.actions.filter((a) => a.type === 'run-command');
const handoffs = (sim: Sim) => sim.actions.filter((a) => a.type === 'handoff');
/** A fresh volume: LiteFS created the db, 1 page, TXID 0. */
const fresh = { role: 'primary' as const, dbs: [db({ txid: 0n, size: 4096 })] };
/** The seed's data holder: every row, no LTX history (TXID 0, 9 pages). */
const holderDb = () => db({ txid: 0n, size: 9 * 4096, pages: 9 });
/** The data holder as a peer sees it through LiteFS alone. */
const holder = (o: { nodeId?: string; candidate?: boolean } = {}) =>
  peer({ txid: 0n, pages: 9, ...o });

function withPeers(cfg = {}, hwm?: Record<string, bigint>) {
  const sim = new Sim(testConfig({ peers: PEERS, fenceTimeout: 60_000, ...cfg }));
  sim.loadHwm(hwm);
  return sim;
}

t.test('S2 on evidence: empty here while a peer has data at TXID 0', async (t) => {
  t.test('refuses: the seed (fresh volume, data holder at TXID 0, no state file)', async (t) => {
    const sim = withPeers();
    sim.see(fresh);
    sim.answerPeers(report([holder()]));
    t.equal(sim.state.phase, 'fenced');
    t.same(runs(sim), [], 'no migration: its TXID 1 snapshot would replace the holder');
    t.notOk(sim.types().includes('start-app'));
    t.match(
      sim.state.fence?.why,
      /sqlite\.db is empty here \(1 page \(no table\) at TXID 0\) but peer http:\/\/\[fdaa::2\]:20202 \(node BBBBBBBBBBBBBBBB\) has data \(TXID 0000000000000000, 9 page\(s\)\)/,
    );
  });
  t.test('allows: every peer answered and none has data (a genuinely new cluster)', async (t) => {
    const sim = withPeers();
    sim.see(fresh);
    sim.answerPeers(report([peer({ txid: 0n, pages: 1 }), peer({ noCopy: true, nodeId: 'CC' })]));
    t.equal(sim.state.phase, 'migrating');
    t.ok(sim.state.term.bootstrap, 'bootstraps');
  });
  t.test("refuses: a peer supervisor's high-water mark is above this TXID", async (t) => {
    const sim = withPeers();
    sim.see({ role: 'primary', dbs: [db({ txid: 3n })] });
    sim.answerPeers(report([peer({ txid: 0n, pages: 1, hwm: 7n })]));
    t.equal(sim.state.phase, 'fenced');
    t.match(sim.state.fence?.why, /has seen TXID 0000000000000007 in this cluster/);
  });
  t.test("allows: at the peer supervisor's high-water mark", async (t) => {
    const sim = withPeers();
    sim.see({ role: 'primary', dbs: [db({ txid: 7n })] });
    sim.answerPeers(report([peer({ txid: 7n, hwm: 7n })]));
    t.equal(sim.state.phase, 'migrating');
    t.notOk(sim.state.term.bootstrap);
  });
});

t.test('S3 on evidence: a peer whose evidence cannot be read is not empty', async (t) => {
  t.test('refuses: waits --peer-wait, then fenced, never bootstraps', async (t) => {
    const sim = withPeers({ peerWait: 30_000 });
    sim.see(fresh);
    sim.answerPeers(
      report([{ url: 'http://[fdaa::3]:20202', ok: false, error: 'GET /export: hangs' }]),
    );
    t.equal(sim.state.phase, 'checking', 'waits');
    sim.see(fresh, 31_000);
    sim.answerPeers(report([silent()]));
    t.equal(sim.state.phase, 'fenced');
    t.same(runs(sim), []);
  });
  t.test('allows: once it answers with no data', async (t) => {
    const sim = withPeers({ peerWait: 30_000 });
    sim.see(fresh);
    sim.answerPeers(report([silent()]));
    sim.see(fresh, 3_000);
    sim.answerPeers(report([peer({ txid: 0n, pages: 1 })]));
    t.equal(sim.state.phase, 'migrating');
    t.ok(sim.state.term.bootstrap);
  });
});

t.test("S4 hands off only to a peer with at least this node's evidence", async (t) => {
  t.test('refuses: never to an empty peer (the fenced holder and the fresh node)', async (t) => {
    // The data holder, fenced by its mark (S2) or its lost history (S13), with a fresh peer.
    const sim = withPeers({}, { 'sqlite.db': 2n });
    sim.see({ role: 'primary', dbs: [holderDb()] });
    sim.answerPeers(report([peer({ txid: 0n, pages: 1 })]));
    t.equal(sim.state.phase, 'fenced');
    sim.see({ role: 'primary', dbs: [holderDb()] }, 10);
    sim.answerPeers(report([peer({ txid: 0n, pages: 1 })]));
    t.same(handoffs(sim), [], 'no handoff to the empty node');
    t.ok(sim.events().includes('handoff.none'));
  });
  t.test(
    'refuses: never to an emptied peer whose state file kept its high-water mark',
    async (t) => {
      // The history-lost holder (S13) and a node whose dbs/<db> was removed while its state
      // file survived: its supervisor reports 1 page at TXID 0 with a mark. Not data (S4).
      const sim = withPeers();
      const emptied = () => peer({ txid: 0n, pages: 1, hwm: 0x4en, nodeId: 'BF3C' });
      sim.see({ role: 'primary', dbs: [holderDb()] });
      sim.answerPeers(report([emptied()]));
      t.equal(sim.state.phase, 'fenced', 'S13');
      sim.see({ role: 'primary', dbs: [holderDb()] }, 10);
      sim.answerPeers(report([emptied()]));
      sim.see({ role: 'primary', dbs: [holderDb()] }, 3_100);
      sim.answerPeers(report([emptied()]));
      t.same(handoffs(sim), [], 'no handoff to the emptied node');
      t.ok(sim.events().includes('handoff.none'));
    },
  );
  t.test('allows: to a peer with data and a mark, before an emptied one', async (t) => {
    const sim = withPeers();
    const peers = () =>
      report([
        peer({ txid: 0n, pages: 1, hwm: 0xdcn, nodeId: 'AA' }),
        peer({ txid: 0x7an, pages: 16, hwm: 0x7an, nodeId: 'BB', url: 'http://[fdaa::3]:20202' }),
      ]);
    sim.see({ role: 'primary', dbs: [holderDb()] });
    sim.answerPeers(peers());
    t.equal(sim.state.phase, 'fenced', 'S13');
    sim.see({ role: 'primary', dbs: [holderDb()] }, 10);
    sim.answerPeers(peers());
    t.same(handoffs(sim), [{ type: 'handoff', nodeId: 'BB', haltWaitMs: 300 }]);
  });
  t.test('allows: to the peer that holds the data', async (t) => {
    const sim = withPeers();
    sim.see(fresh);
    sim.answerPeers(report([holder({ nodeId: 'D4' })]));
    sim.see(fresh, 10);
    sim.answerPeers(report([peer({ txid: 0n, pages: 1, nodeId: 'C3' }), holder({ nodeId: 'D4' })]));
    t.same(handoffs(sim), [{ type: 'handoff', nodeId: 'D4', haltWaitMs: 300 }]);
  });
  t.test('fenced time adds up across lease flaps: exit 4', async (t) => {
    const sim = withPeers({ fenceTimeout: 20_000 });
    // Between spells it is a replica still syncing (so its app does not start here).
    const replica = {
      role: 'replica' as const,
      primary: 'node-b',
      lag: 'unsynced' as const,
      dbs: [db({ txid: 0n })],
    };
    // Two fenced nodes pass the lease back and forth: 4 s fenced, 1 s away, six times.
    for (let i = 0; i < 6; i++) {
      sim.see(fresh, 1000);
      if (sim.state.phase !== 'fenced') sim.answerPeers(report([holder()]));
      sim.see(fresh, 4000);
      if (sim.state.exited !== undefined) break;
      sim.see(replica, 0);
    }
    t.equal(
      sim.state.exited,
      4,
      'exits once 20 s of fenced time add up, though no spell lasted 20 s',
    );
    const exit = sim.actions.find((a) => a.type === 'log' && a.event === 'fence.exit');
    t.match(exit, { fields: { spells: 5 } });
    t.same(runs(sim), []);
  });
  t.test('the handoff interval holds across spells: no ping-pong faster than 3 s', async (t) => {
    const sim = withPeers();
    const unsynced = { role: 'replica' as const, primary: 'node-b', lag: 'unsynced' as const };
    sim.see(fresh);
    sim.answerPeers(report([holder({ nodeId: 'D4' })]));
    sim.see(fresh, 10);
    sim.answerPeers(report([holder({ nodeId: 'D4' })]));
    t.equal(handoffs(sim).length, 1, 'hands off at once the first time');
    sim.see({ ...unsynced, dbs: [db({ txid: 0n })] }, 100); // the lease moved
    sim.see(fresh, 100); // and came straight back
    if (sim.state.phase !== 'fenced') sim.answerPeers(report([holder({ nodeId: 'D4' })]));
    sim.see(fresh, 100);
    if (sim.last('ask-peers')) sim.answerPeers(report([holder({ nodeId: 'D4' })]));
    t.equal(handoffs(sim).length, 1, 'not again within 3 s of the last handoff');
    sim.see(fresh, 3000);
    sim.answerPeers(report([holder({ nodeId: 'D4' })]));
    t.equal(handoffs(sim).length, 2, 'again once 3 s have passed');
  });
  t.test(
    'the app stopped by a fence that ended before it exited is not restarted as its own exit',
    async (t) => {
      // Seen while two fenced nodes passed the lease back and forth: the fence asked the app to
      // stop, the lease moved on, then the app's exit (143) arrived: that is not the app ending
      // the run, so the supervisor must not exit 143.
      const sim = withPeers();
      sim.see({ role: 'replica', primary: 'node-b', lag: 5, dbs: [db({ txid: 3n })] });
      sim.feed({ type: 'app-started', pid: 10 });
      sim.see({ role: 'primary', dbs: [db({ txid: 3n })] }, 100);
      sim.answerPeers(report([peer({ txid: 9n, nodeId: 'D4' })]));
      t.equal(sim.state.phase, 'fenced');
      t.equal(sim.last('stop-app')?.type, 'stop-app');
      sim.see({ role: 'replica', primary: 'node-b', lag: 5, dbs: [db({ txid: 3n })] }, 100);
      t.ok(sim.events().includes('fence.leave'));
      sim.feed({ type: 'app-exit', exitCode: 143, signal: 'SIGTERM' }, 10);
      t.equal(sim.state.exited, undefined, 'no exit 143');
      sim.see({ role: 'replica', primary: 'node-b', lag: 5, dbs: [db({ txid: 3n })] }, 100);
      t.equal(sim.types().filter((x) => x === 'start-app').length, 2, 'started again as a replica');
    },
  );
  t.test('an app that finishes starting after the fence began is stopped, not run', async (t) => {
    const sim = withPeers();
    sim.see({ role: 'replica', primary: 'node-b', lag: 5, dbs: [db({ txid: 3n })] });
    t.equal(sim.last('start-app')?.type, 'start-app');
    sim.see({ role: 'primary', dbs: [db({ txid: 3n })] }, 100);
    sim.feed({ type: 'app-started', pid: 11 });
    sim.answerPeers(report([peer({ txid: 9n, nodeId: 'D4' })]));
    t.equal(sim.state.phase, 'fenced');
    t.equal(sim.types().filter((x) => x === 'stop-app').length, 1, 'stopped');
    t.not(sim.state.phase, 'running');
  });
  t.test('allows: spells older than 10 minutes no longer count', async (t) => {
    const sim = withPeers({ fenceTimeout: 20_000 });
    const replica = {
      role: 'replica' as const,
      primary: 'node-b',
      lag: 'unsynced' as const,
      dbs: [db({ txid: 0n })],
    };
    for (let i = 0; i < 3; i++) {
      sim.see(fresh, 11 * 60_000);
      if (sim.state.phase !== 'fenced') sim.answerPeers(report([holder()]));
      sim.see(fresh, 15_000);
      sim.see(replica, 0);
    }
    t.equal(sim.state.fences, 3, 'fenced three times');
    t.equal(sim.state.exited, undefined, 'each 15 s spell alone stays under --fence-timeout');
  });
});

t.test('S13 lost history', async (t) => {
  t.test('refuses: a primary with data at TXID 0 is fenced, logged with the repair', async (t) => {
    const sim = new Sim(testConfig());
    sim.loadHwm(undefined);
    sim.see({ role: 'primary', dbs: [holderDb()] });
    t.equal(sim.state.phase, 'fenced');
    t.same(runs(sim), []);
    t.notOk(sim.types().includes('start-app'));
    const lost = sim.actions.find((a) => a.type === 'log' && a.event === 'db.history-lost');
    t.match(lost, {
      level: 'error',
      fields: { db: 'sqlite.db', pages: 9, hint: /litefs export.*litefs import/ },
    });
    t.match(sim.state.fence?.why, /9 pages at TXID 0.*S13/);
  });
  t.test('allows: the same pages with a position', async (t) => {
    const sim = new Sim(testConfig());
    sim.loadHwm(undefined);
    sim.see({ role: 'primary', dbs: [db({ txid: 4n, size: 9 * 4096, pages: 9 })] });
    t.equal(sim.state.phase, 'migrating');
    t.notOk(sim.events().includes('db.history-lost'));
  });
  t.test('on a replica: reported once; nothing replicated here yet, so it waits', async (t) => {
    const sim = new Sim(testConfig());
    sim.loadHwm(undefined);
    const seen = { role: 'replica' as const, lag: 5, dbs: [holderDb()] };
    sim.see(seen);
    sim.see(seen, 1000);
    t.equal(sim.events().filter((e) => e === 'db.history-lost').length, 1, 'logged once');
    t.equal(sim.state.phase, 'syncing', 'a copy at TXID 0 came from no primary');
    t.notOk(sim.types().includes('start-app'));
  });
  t.test(
    'the repair is not fenced by the old history: the mark is retired on a primary',
    async (t) => {
      const sim = new Sim(testConfig());
      sim.loadHwm({ 'sqlite.db': 4n });
      sim.see({ role: 'primary', dbs: [holderDb()] });
      t.equal(sim.state.phase, 'fenced', 'S13 fences the history-lost primary');
      t.equal(sim.state.hwm.dbs['sqlite.db'], 0n, 'the old history no longer orders anything');
      t.match(
        sim.actions.find((a) => a.type === 'log' && a.event === 'hwm.retired'),
        {
          level: 'warn',
          fields: { db: 'sqlite.db', hwm: '0000000000000004' },
        },
      );
      sim.see({ role: 'primary', dbs: [holderDb()] }, 6000);
      t.equal(sim.events().filter((e) => e === 'hwm.retired').length, 1, 'logged once');
      const written = sim.last('persist-hwm');
      t.same(written?.file.dbs['sqlite.db']?.txid, 0n, 'and the state file says so');
      // After `litefs import` the db starts a new history at TXID 1; a restarted supervisor
      // loads the retired mark and clears its checks.
      const after = new Sim(testConfig());
      after.loadHwm({ 'sqlite.db': 0n });
      after.see({ role: 'primary', dbs: [db({ txid: 1n, size: 9 * 4096, pages: 9 })] });
      t.equal(after.state.phase, 'migrating', 'the repaired node migrates and serves');
    },
  );
  t.test('the S13 fence ends by itself once the import gave the db a new history', async (t) => {
    const sim = new Sim(testConfig());
    sim.loadHwm({ 'sqlite.db': 4n });
    sim.see({ role: 'primary', dbs: [holderDb()] });
    t.equal(sim.state.phase, 'fenced');
    sim.see({ role: 'primary', dbs: [holderDb()] }, 1000);
    t.equal(sim.state.phase, 'fenced', 'still lost: still fenced');
    sim.see({ role: 'primary', dbs: [db({ error: 'EIO' })] }, 1000);
    t.equal(sim.state.phase, 'fenced', 'a db that cannot be read is not a repaired one');
    sim.see({ role: 'primary', dbs: [db({ txid: 1n, size: 9 * 4096, pages: 9 })] }, 1000);
    t.ok(sim.events().includes('fence.leave'), 'the fence is left');
    t.equal(sim.state.phase, 'migrating', 'checked again and cleared: the migrations run');
  });
  t.test('refuses: a fence for another cause is not left when no history is lost', async (t) => {
    const sim = new Sim(testConfig());
    sim.loadHwm({ 'sqlite.db': 9n });
    sim.see({ role: 'primary', dbs: [db({ txid: 4n, size: 9 * 4096, pages: 9 })] });
    t.equal(sim.state.phase, 'fenced', 'S2: below the mark');
    sim.see({ role: 'primary', dbs: [db({ txid: 5n, size: 9 * 4096, pages: 9 })] }, 1000);
    t.equal(sim.state.phase, 'fenced', 'still fenced');
    t.notOk(sim.events().includes('fence.leave'));
  });
  t.test('refuses: the mark is kept where the history is not lost, or on a replica', async (t) => {
    const behind = new Sim(testConfig());
    behind.loadHwm({ 'sqlite.db': 4n });
    behind.see({ role: 'primary', dbs: [db({ txid: 1n, size: 9 * 4096, pages: 9 })] });
    t.equal(behind.state.phase, 'fenced', 'TXID 1 with a history below the mark: S2');
    t.equal(behind.state.hwm.dbs['sqlite.db'], 4n);
    const replica = new Sim(testConfig());
    replica.loadHwm({ 'sqlite.db': 4n });
    replica.see({ role: 'replica', lag: 5, dbs: [holderDb()] });
    t.equal(replica.state.hwm.dbs['sqlite.db'], 4n, 'a replica at TXID 0 keeps its mark');
    t.notOk(replica.events().includes('hwm.retired'));
  });
  t.test('S5: a history-lost replica is never synced, so never asks for the lease', async (t) => {
    const sim = new Sim(testConfig({ promote: true }));
    sim.loadHwm(undefined);
    sim.see({ role: 'replica', lag: 5, dbs: [holderDb()] });
    sim.see({ role: 'replica', lag: 5, dbs: [holderDb()] }, 1000);
    t.notOk(sim.types().includes('promote'));
    t.equal(sim.state.phase, 'syncing');
  });
});

t.test("S13's retired mark still orders the cluster for its peers (S2)", async (t) => {
  /** The history-lost holder of docs/nemesis.md finding 1: mark 0xdc, 11 pages at TXID 0. */
  const lost = () => db({ txid: 0n, size: 11 * 4096, pages: 11 });
  const markOf = (sim: Sim) =>
    statusSnapshot(sim.state, sim.config, 't', sim.now).dbs.find((x) => x.name === 'sqlite.db')
      ?.hwm;
  /** What a peer reads from the holder's /status, through the evidence parser. */
  const asPeer = (sim: Sim, nodeId: string) => {
    const body = JSON.parse(JSON.stringify(statusSnapshot(sim.state, sim.config, 't', sim.now)));
    const e = parseEvidence(body);
    if (!e.ok) throw new Error(e.error);
    const d = e.value.dbs['sqlite.db'];
    if (!d) throw new Error('no sqlite.db');
    return peer({ txid: d.txid, pages: d.pageCount ?? 0, hwm: d.hwm, nodeId });
  };
  const holder = () => {
    const sim = new Sim(testConfig());
    sim.loadHwm({ 'sqlite.db': 0xdcn });
    sim.see({ role: 'primary', dbs: [lost()] });
    return sim;
  };

  t.test('the holder keeps reporting the retired mark, across a restart', async (t) => {
    const c = holder();
    t.equal(c.state.phase, 'fenced', 'S13');
    t.equal(c.state.hwm.dbs['sqlite.db'], 0n, "retired for the holder's own checks");
    t.equal(markOf(c), '00000000000000dc', "its /status still shows what it saw (peers' S2)");
    const written = c.last('persist-hwm');
    t.match(written?.file.dbs['sqlite.db'], { txid: 0n, retired: 0xdcn }, 'in the state file');
    // Exit 4, started again (as Fly does): the file brings the retired mark back.
    const again = new Sim(testConfig());
    again.feed({ type: 'hwm-loaded', load: { kind: 'ok', file: written!.file } });
    again.see({ role: 'replica', primary: 'node-b', lag: 5, dbs: [lost()] });
    t.equal(markOf(again), '00000000000000dc', 'after a restart, as a replica too');
  });

  t.test('refuses: a stale node below the retired mark is behind (S2)', async (t) => {
    const c = holder();
    const b = withPeers({}, { 'sqlite.db': 0x7an });
    b.see({ role: 'primary', dbs: [db({ txid: 0x7an, size: 16 * 4096, pages: 16 })] });
    b.answerPeers(report([asPeer(c, 'CC')]));
    t.equal(b.state.phase, 'fenced', 'the stale node does not write over the holder');
    t.match(b.state.fence?.why, /has seen TXID 00000000000000dc in this cluster/);
    t.same(runs(b), []);
  });

  t.test(
    'S4: the holder hands the lease only to a peer at or above its retired mark',
    async (t) => {
      const c = new Sim(testConfig({ peers: PEERS, fenceTimeout: 60_000 }));
      c.loadHwm({ 'sqlite.db': 0xdcn });
      const stale = () => peer({ txid: 0x7an, pages: 16, nodeId: 'BB' });
      c.see({ role: 'primary', dbs: [lost()] });
      c.answerPeers(report([stale()]));
      t.equal(c.state.phase, 'fenced');
      c.see({ role: 'primary', dbs: [lost()] }, 10);
      c.answerPeers(report([stale()]));
      t.same(handoffs(c), [], 'refuses: the stale node would replace the rows here');
      c.see({ role: 'primary', dbs: [lost()] }, 3_100);
      c.answerPeers(
        report([
          stale(),
          peer({ txid: 0xdcn, pages: 11, nodeId: 'AA', url: 'http://[fdaa::3]:20202' }),
        ]),
      );
      t.same(
        handoffs(c),
        [{ type: 'handoff', nodeId: 'AA', haltWaitMs: 300 }],
        'allows: a replica that has it all',
      );
    },
  );

  t.test(
    'the holder keeps the lease past --fence-timeout; without a mark it exits 4',
    async (t) => {
      const keeps = new Sim(testConfig({ fenceTimeout: 20_000 }));
      keeps.loadHwm({ 'sqlite.db': 0xdcn });
      keeps.see({ role: 'primary', dbs: [lost()] });
      t.match(
        keeps.actions.find((a) => a.type === 'log' && a.event === 'fence.enter'),
        { fields: { fenceTimeout: /none: keeps the lease/ } },
      );
      for (let i = 0; i < 10; i++) keeps.see({ role: 'primary', dbs: [lost()] }, 10_000);
      t.equal(keeps.state.phase, 'fenced', 'still fenced after 100 s, holding the lease');
      t.notOk(keeps.types().includes('exit'), 'no exit 4: no older copy gets the lease');
      t.equal(keeps.state.wake?.why === 'fence-timeout', false, 'no fence-timeout wake');
      // The same holder with no mark (no state file): nothing known to be newer, exit 4 as before.
      const exits = new Sim(testConfig({ fenceTimeout: 20_000 }));
      exits.loadHwm(undefined);
      exits.see({ role: 'primary', dbs: [lost()] });
      exits.see({ role: 'primary', dbs: [lost()] }, 21_000);
      t.match(exits.last('exit'), { code: 4 }, 'exit 4 (refuses to hold the lease for nothing)');
    },
  );

  t.test('allows: once repaired (a new history), the mark is dropped everywhere', async (t) => {
    const c = holder();
    // `litefs import`: TXID 1, a new history. The holder's own checks pass (not behind for
    // ever), and it no longer reports the old mark.
    c.see({ role: 'primary', dbs: [db({ txid: 1n, size: 11 * 4096, pages: 11 })] }, 1000);
    t.equal(c.state.phase, 'migrating', 'the repaired holder serves');
    t.equal(c.state.hwm.retired['sqlite.db'], undefined);
    t.equal(markOf(c), '0000000000000001');
    c.see({ role: 'primary', dbs: [db({ txid: 1n, size: 11 * 4096, pages: 11 })] }, 6000);
    t.same(c.last('persist-hwm')?.file.dbs['sqlite.db']?.retired, undefined, 'nor its file');
    // A stale node at TXID 0x7a is no longer held below the old history by it.
    const b = withPeers({}, { 'sqlite.db': 0x7an });
    b.see({ role: 'primary', dbs: [db({ txid: 0x7an, size: 16 * 4096, pages: 16 })] });
    b.answerPeers(report([asPeer(c, 'CC')]));
    t.equal(b.state.phase, 'migrating');
  });

  t.test(
    'allows: a restarted holder with a retired mark, repaired, is not behind it',
    async (t) => {
      const after = new Sim(testConfig());
      after.feed({
        type: 'hwm-loaded',
        load: {
          kind: 'ok',
          file: {
            version: 1,
            clusterId: CLUSTER,
            dbs: { 'sqlite.db': { txid: 0n, updatedAt: 'x', retired: 0xdcn } },
          },
        },
      });
      after.see({ role: 'primary', dbs: [db({ txid: 1n, size: 11 * 4096, pages: 11 })] });
      t.equal(after.state.phase, 'migrating', 'its own checks never read the retired mark');
    },
  );
});

t.test('S11 on evidence', async (t) => {
  function replicaWithNewPrimary(own: ReturnType<typeof db>, hwm?: Record<string, bigint>) {
    const sim = new Sim(testConfig({ peers: PEERS }));
    sim.loadHwm(hwm);
    sim.see({ role: 'replica', primary: 'node-a', lag: 5, dbs: [own] });
    sim.see({ role: 'replica', primary: 'node-b', lag: 5, dbs: [own] }, 1000);
    return sim;
  }
  t.test('refuses silence: the new primary is empty while this replica has data', async (t) => {
    const sim = replicaWithNewPrimary(holderDb());
    sim.answerPeers(report([peer({ isPrimary: true, txid: 0n, pages: 1 })]));
    const alarm = sim.actions.find((a) => a.type === 'log' && a.event === 'rewind.alarm');
    t.match(alarm, { level: 'error', msg: /has no data/ });
    t.equal(sim.state.rewindAlarms, 1);
  });
  t.test("refuses silence: the new primary is below this node's high-water mark", async (t) => {
    const sim = replicaWithNewPrimary(db({ txid: 0n }), { 'sqlite.db': 9n });
    sim.answerPeers(report([peer({ isPrimary: true, txid: 4n })]));
    t.equal(sim.state.rewindAlarms, 1);
  });
  t.test('allows: a new primary with data at or above this replica', async (t) => {
    const sim = replicaWithNewPrimary(db({ txid: 5n }), { 'sqlite.db': 5n });
    sim.answerPeers(report([peer({ isPrimary: true, txid: 6n })]));
    t.equal(sim.state.rewindAlarms, 0);
  });
});

t.test('the high-water mark is never lowered on a transient', async (t) => {
  t.test('a node that names itself as primary is unknown, not a synced replica', async (t) => {
    const sim = new Sim(testConfig());
    sim.loadHwm({ 'sqlite.db': 2n });
    sim.see({ role: 'primary', dbs: [db({ txid: 2n })] }); // learns its own name: 'self'
    // Right after a handoff: "existing primary found (self) ... cannot connect to self".
    sim.see({ role: 'replica', primary: 'self', lag: 5, dbs: [db({ txid: 0n })] }, 10);
    t.equal(sim.state.role, 'unknown');
    t.notOk(sim.events().includes('hwm.rewind'));
    t.equal(sim.state.hwm.dbs['sqlite.db'], 2n);
    t.notOk(sim.types().includes('start-app'));
  });
  t.test('the name from litefs.yml lease.hostname counts before it was ever primary', async (t) => {
    const sim = new Sim(testConfig({ hostname: 'node-a' }));
    sim.loadHwm({ 'sqlite.db': 2n });
    sim.see({ role: 'replica', primary: 'node-a', lag: 5, dbs: [db({ txid: 0n })] });
    t.equal(sim.state.role, 'unknown');
    t.equal(sim.state.hwm.dbs['sqlite.db'], 2n);
  });
  t.test('a synced replica at TXID 0 (a primary with no history) keeps the mark', async (t) => {
    const sim = new Sim(testConfig());
    sim.loadHwm({ 'sqlite.db': 2n });
    sim.see({ role: 'replica', primary: 'node-b', lag: 5, dbs: [holderDb()] });
    t.equal(sim.state.hwm.dbs['sqlite.db'], 2n);
    t.notOk(sim.events().includes('hwm.rewind'));
  });
  t.test('allows: a synced replica of another node follows it down, logged', async (t) => {
    const sim = new Sim(testConfig());
    sim.loadHwm({ 'sqlite.db': 9n }, CLUSTER);
    sim.see({ role: 'replica', primary: 'node-b', lag: 5, dbs: [db({ txid: 4n })] });
    t.equal(sim.state.hwm.dbs['sqlite.db'], 4n);
    t.ok(sim.events().includes('hwm.rewind'));
  });
});

t.test('/status gives the current reason for a wait, not the first one', async (t) => {
  const sim = new Sim(testConfig());
  sim.loadHwm(undefined);
  sim.see({ role: 'replica', lag: 'unsynced', dbs: [db({ txid: 0n })] });
  t.match(sim.state.reason, /initial replication not finished/);
  sim.see({ role: 'replica', lag: 5, dbs: [db({ exists: false, txid: 'absent' })] }, 1000);
  t.equal(sim.state.phase, 'syncing');
  t.match(sim.state.reason, /does not exist here yet/);
  t.equal(sim.events().filter((e) => e === 'sync.wait').length, 1, 'logged once, on entering');
});

t.test('a poll that began before an /events message does not undo it', async (t) => {
  // Seen on real LiteFS: a new primary wrote TXID 13 (the tx event raised the mark), then a poll
  // started before that write said 12, and S2 fenced a healthy primary as behind its mark.
  const tx = (txid: bigint) =>
    ({
      type: 'litefs-event',
      event: {
        type: 'tx',
        db: 'sqlite.db',
        txid,
        checksum: 'a1b2c3d4e5f60718',
        pageSize: 4096,
        commit: 2,
        timestamp: '',
      },
    }) as const;
  t.test('refuses the stale position: a position announced later wins', async (t) => {
    const sim = new Sim(testConfig({ peers: PEERS }));
    sim.loadHwm(undefined);
    sim.see({ role: 'replica', lag: 5, dbs: [db({ txid: 12n })] });
    sim.feed({ type: 'app-started', pid: 7 });
    t.equal(sim.state.hwm.dbs['sqlite.db'], 12n);
    // The lease arrives (S7: checks while the app runs; the peers are asked)...
    sim.feed(
      {
        type: 'litefs-event',
        event: { type: 'primaryChange', isPrimary: true, hostname: undefined },
      },
      5,
    );
    t.equal(sim.last('ask-peers')?.type, 'ask-peers');
    const startedAt = sim.now; // ...a poll begins...
    sim.feed(tx(13n), 5); // ...the app writes TXID 13 meanwhile...
    t.equal(sim.state.hwm.dbs['sqlite.db'], 13n);
    sim.feed(
      {
        type: 'observation',
        observation: obs({ role: 'primary', dbs: [db({ txid: 12n })], at: startedAt }),
      },
      5,
    ); // ...and arrives after it, saying 12
    sim.answerPeers(report([peer({ txid: 12n })]));
    t.notOk(sim.events().includes('fence.enter'), 'a healthy new primary is not fenced');
    t.ok(sim.events().includes('primary.cleared'));
  });
  t.test('allows a lower position read after the event (a real rewind)', async (t) => {
    const sim = new Sim(testConfig({ migrate: [] }));
    sim.loadHwm(undefined);
    sim.see({ role: 'replica', lag: 5, dbs: [db({ txid: 12n })] });
    sim.feed(tx(13n), 5);
    sim.see({ role: 'replica', lag: 5, dbs: [db({ txid: 4n })] }, 5); // taken after: it wins
    const pos = sim.state.observation?.dbs[0]?.pos;
    t.equal(pos?.kind === 'present' && pos.value.txid, 4n);
  });
  t.test('the role from a primaryChange is not undone by an older poll', async (t) => {
    const sim = new Sim(testConfig({ migrate: [] }));
    sim.loadHwm(undefined);
    sim.see({ role: 'replica', lag: 5, dbs: [db({ txid: 12n })] });
    const startedAt = sim.now;
    sim.feed(
      {
        type: 'litefs-event',
        event: { type: 'primaryChange', isPrimary: true, hostname: undefined },
      },
      5,
    );
    t.equal(sim.state.role, 'primary');
    sim.feed(
      {
        type: 'observation',
        observation: obs({ role: 'replica', lag: 5, dbs: [db({ txid: 12n })], at: startedAt }),
      },
      5,
    );
    t.equal(sim.state.role, 'primary', 'still primary');
    sim.see({ role: 'replica', lag: 5, dbs: [db({ txid: 12n })] }, 5);
    t.equal(sim.state.role, 'replica', 'a poll taken after the event is believed');
  });
});

t.test(
  'a fence ends when a fresh check passes (the peer ahead is not ahead any more)',
  async (t) => {
    const mine = { role: 'primary' as const, dbs: [db({ txid: 8n, size: 9 * 4096, pages: 9 })] };
    const ahead = () => report([peer({ txid: 9n, nodeId: 'BB', candidate: false })]);
    const level = () => report([peer({ txid: 8n, nodeId: 'BB', candidate: false })]);
    t.test(
      'refuses: the answer that fenced it, and a fresh one still ahead, keep the fence',
      async (t) => {
        const sim = new Sim(testConfig({ peers: PEERS, fenceTimeout: 60_000 }));
        sim.loadHwm(undefined);
        sim.see(mine);
        sim.answerPeers(ahead());
        t.equal(sim.state.phase, 'fenced');
        sim.see(mine, 1000);
        t.equal(sim.state.phase, 'fenced', 'the old answer does not end it');
        sim.see(mine, 3000);
        sim.answerPeers(ahead());
        t.equal(sim.state.phase, 'fenced', 'still ahead: still fenced');
        t.notOk(sim.events().includes('fence.leave'));
      },
    );
    t.test(
      'allows: LiteFS overwrote the peer that was ahead; the next retry ends the fence',
      async (t) => {
        const sim = new Sim(testConfig({ peers: PEERS, fenceTimeout: 60_000 }));
        sim.loadHwm(undefined);
        sim.see(mine);
        sim.answerPeers(ahead());
        t.equal(sim.state.phase, 'fenced');
        sim.see(mine, 3000);
        sim.answerPeers(level());
        t.ok(sim.events().includes('fence.leave'), 'left on the fresh answer');
        sim.see(mine, 10);
        sim.answerPeers(level());
        t.ok(sim.state.term.cleared, 'its checks pass from the start');
        t.notOk(sim.state.fence);
        t.equal(sim.state.exited, undefined);
      },
    );
  },
);
