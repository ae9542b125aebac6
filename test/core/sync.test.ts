// "synced" (docs/design.md section 3): `.lag` within --max-lag is not enough. Real LiteFS 0.5.11
// sends heartbeats while the primary has no db yet, so a replica with no copy at all reads a
// small `.lag`; its app started 2.4 s before the primary created the db and /health said 200
// (seen on real LiteFS, test/real). Synced also needs every gated db here with a replicated
// (non-zero) position.

import t from 'tap';
import { syncOf } from '../../src/core/derive.js';
import { db, obs, Sim, testConfig } from '../helpers/builders.js';

const MAX_LAG = 10_000;

t.test('syncOf, table', async (t) => {
  const cases: [string, Parameters<typeof obs>[0], boolean, RegExp][] = [
    ['lag small, db replicated', { role: 'replica', lag: 20 }, true, /lag 20ms within/],
    [
      'lag small, db missing (the primary has not created it yet)',
      { role: 'replica', lag: 20, dbs: [db({ exists: false, txid: 'absent' })] },
      false,
      /sqlite\.db does not exist here yet/,
    ],
    [
      'lag small, db file there but TXID 0 (nothing received: not the primary copy)',
      { role: 'replica', lag: 20, dbs: [db({ txid: 0n })] },
      false,
      /sqlite\.db has no replicated TXID yet/,
    ],
    [
      'lag small, db without -pos',
      { role: 'replica', lag: 20, dbs: [db({ txid: 'absent' })] },
      false,
      /sqlite\.db has no -pos file/,
    ],
    [
      'lag small, db unreadable',
      { role: 'replica', lag: 20, dbs: [db({ error: 'EIO' })] },
      false,
      /sqlite\.db is unreadable \(EIO\)/,
    ],
    [
      'two dbs, one not replicated: not synced, and it is named',
      {
        role: 'replica',
        lag: 20,
        dbs: [db({ name: 'a.db' }), db({ name: 'b.db', exists: false, txid: 'absent' })],
      },
      false,
      /^lag 20ms, but not every db is replicated here: b\.db does not exist/,
    ],
    ['lag above --max-lag', { role: 'replica', lag: 10_001 }, false, /above --max-lag/],
    ['initial replication not finished', { role: 'replica', lag: 'unsynced' }, false, /initial/],
    [
      'no .lag (older LiteFS), TXID replicated',
      { role: 'replica', lag: 'absent', dbs: [db({ txid: 7n })] },
      true,
      /no \.lag file; every db has a replicated TXID/,
    ],
    [
      'no .lag, db missing',
      { role: 'replica', lag: 'absent', dbs: [db({ exists: false, txid: 'absent' })] },
      false,
      /no \.lag file, and not every db is replicated here: sqlite\.db does not exist/,
    ],
  ];
  for (const [name, spec, synced, detail] of cases) {
    const view = syncOf(obs(spec), MAX_LAG);
    t.equal(view.synced, synced, `${name}: synced=${synced}`);
    t.match(view.detail, detail, `${name}: detail`);
  }
  t.equal(syncOf(obs({ role: 'replica', lag: 20 }), MAX_LAG).lagMs, 20, 'lag is reported');
  t.equal(
    syncOf(obs({ role: 'replica', lag: 20, dbs: [db({ exists: false })] }), MAX_LAG).lagMs,
    20,
    'lag is reported when a db is missing too (for /status)',
  );
});

t.test('decide: a replica does not start its app before the db has arrived', async (t) => {
  const sim = new Sim(testConfig());
  const out = sim.see({ role: 'replica', lag: 15, dbs: [db({ exists: false, txid: 'absent' })] });
  t.same(sim.types(out), [], 'nothing started');
  t.equal(sim.state.phase, 'syncing');
  t.match(sim.state.reason, /does not exist here yet/, 'the reason names the missing db');
  const later = sim.see({ role: 'replica', lag: 15, dbs: [db({ txid: 1n })] }, 500);
  t.same(sim.types(later), ['start-app'], 'the db arrived: the app starts');
});

t.test('decide: --promote waits for the db too (S5 asks only once synced)', async (t) => {
  const sim = new Sim(testConfig({ promote: true }));
  const out = sim.see({ role: 'replica', lag: 15, dbs: [db({ exists: false, txid: 'absent' })] });
  t.notOk(sim.types(out).includes('promote'), 'no /promote while the db is missing');
  t.equal(sim.state.phase, 'syncing');
});
