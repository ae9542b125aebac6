// decide and the cluster record (src/core/decide/steps/record.ts, record-cluster.ts): a primary
// that passed its checks asks for one `write-record` of the dbs it holds data in that the last
// read did not list; none while one is in flight, none when fenced, a replica, not cleared,
// shutting down or with the record off; a write that did not land is tried again at
// RECORD_RETRY_MS through the state's wake, never before. The Sim checks the invariants
// (src/core/invariants.ts) after every decision and throws on the first one broken.

import t from 'tap';
import type { RecordRead } from '../../src/core/cluster-record.js';
import { HANDOFF_RETRY_MS } from '../../src/core/decide/deadlines.js';
import { RECORD_RETRY_MS } from '../../src/core/decide/record-cluster.js';
import type { PeerAnswer, PeerReport } from '../../src/core/peer-types.js';
import type { Action, RecordWriteResult } from '../../src/core/state.js';
import {
  CLUSTER,
  type DbSpec,
  db,
  type ObsSpec,
  peer,
  Sim,
  testConfig,
} from '../helpers/builders.js';

const KEY = 'litefs-supervisor/my-app';
const SINCE = '2026-01-02T03:04:05.000Z';
const ABSENT: RecordRead = { kind: 'absent' };

const listing = (...names: string[]): Extract<RecordRead, { kind: 'present' }> => ({
  kind: 'present',
  index: 42,
  record: {
    version: 1,
    clusterId: CLUSTER,
    dbs: Object.fromEntries(names.map((n) => [n, { since: SINCE, node: 'self' }])),
  },
});
const reportWith = (record: RecordRead | undefined, answers: PeerAnswer[] = []): PeerReport => ({
  at: 0,
  answers,
  discoveryError: undefined,
  ...(record === undefined ? {} : { record }),
});

const writes = (list: Action[]) =>
  list.filter((a): a is Extract<Action, { type: 'write-record' }> => a.type === 'write-record');
const logsOf = (sim: Sim, event: string) =>
  sim.actions.filter((a) => a.type === 'log' && a.event === event);

/** Three gated dbs: two with data, one fresh (1 page, TXID 0). */
const DBS = ['sqlite.db', 'jobs.db', 'empty.db'];
const dbsOf = (over: Record<string, DbSpec> = {}) => [
  db({ name: 'sqlite.db', txid: 5n, ...over['sqlite.db'] }),
  db({ name: 'jobs.db', txid: 3n, ...over['jobs.db'] }),
  db({ name: 'empty.db', txid: 0n, size: 4096, ...over['empty.db'] }),
];
const primary = (over: Record<string, DbSpec> = {}): ObsSpec => ({
  role: 'primary',
  dbs: dbsOf(over),
});

function recordSim(over: Parameters<typeof testConfig>[0] = {}) {
  const sim = new Sim(testConfig({ db: DBS, clusterRecord: KEY, ...over }));
  sim.loadHwm(undefined);
  return sim;
}

/** A primary that became primary, read the record (and peers) and passed its checks. */
function cleared(record: RecordRead, over: Parameters<typeof testConfig>[0] = {}) {
  const sim = recordSim(over);
  sim.see(primary());
  sim.answerPeers(reportWith(record));
  if (!sim.state.term.cleared) throw new Error(`not cleared: ${sim.state.reason}`);
  return sim;
}

/** Answer the write in flight. */
function answerWrite(sim: Sim, result: RecordWriteResult, advanceMs = 0): Action[] {
  const w = writes(sim.actions).at(-1);
  if (!w) throw new Error('no write-record to answer');
  return sim.feed({ type: 'record-written', token: w.token, result }, advanceMs);
}

t.test('a cleared primary with data writes once what the last read did not list', async (t) => {
  const sim = cleared(listing('jobs.db'));
  t.same(writes(sim.actions), [], 'not in the decision that cleared it (the step runs before)');
  const out = sim.see(primary(), 10, sim.lastToken()); // the S1 confirmation
  t.match(writes(out), [
    { type: 'write-record', dbs: ['sqlite.db'], clusterId: CLUSTER, node: 'self' },
  ]);
  t.ok(sim.types(out).includes('run-command'), 'the migration is not held up by the write');
  t.equal(sim.state.record.writing, writes(out)[0]?.token);

  // None while it is in flight, whatever comes in.
  sim.commandExit(0);
  sim.feed({ type: 'app-started', pid: 42 });
  for (let i = 0; i < 5; i++) sim.see(primary(), 1000);
  sim.feed({
    type: 'litefs-event',
    event: {
      type: 'tx',
      db: 'sqlite.db',
      txid: 6n,
      checksum: 'a1b2c3d4e5f60718',
      pageSize: 4096,
      commit: 2,
      timestamp: 'x',
    },
  });
  t.equal(sim.state.phase, 'running');
  t.equal(writes(sim.actions).length, 1, 'one write while it is in flight');

  // Written: the record lists them now; nothing more to write.
  answerWrite(sim, {
    kind: 'written',
    read: listing('jobs.db', 'sqlite.db'),
    gained: ['sqlite.db'],
  });
  t.equal(sim.state.record.writing, undefined);
  t.equal(sim.state.record.writes, 1);
  t.match(logsOf(sim, 'record.write'), [
    { level: 'info', fields: { key: KEY, record: /sqlite\.db has data since/ } },
  ]);
  for (let i = 0; i < 20; i++) sim.see(primary(), 10_000);
  t.equal(writes(sim.actions).length, 1, 'no further writes');
  t.equal(sim.state.wake, undefined, 'nothing to wake for');
});

t.test('the write lists every db with data when the record is absent', async (t) => {
  const sim = cleared(ABSENT);
  const out = sim.see(primary(), 10, sim.lastToken());
  t.match(writes(out), [{ dbs: ['sqlite.db', 'jobs.db'] }], 'not the empty db');
});

t.test('nothing to write when the record lists every db with data', async (t) => {
  const sim = cleared(listing('sqlite.db', 'jobs.db'));
  sim.see(primary(), 10, sim.lastToken());
  sim.commandExit(0);
  for (let i = 0; i < 5; i++) sim.see(primary(), 1000);
  t.same(writes(sim.actions), []);
});

t.test('an `unchanged` answer (another node recorded it first) ends the writes', async (t) => {
  const sim = cleared(ABSENT);
  sim.see(primary(), 10, sim.lastToken());
  answerWrite(sim, { kind: 'unchanged', read: listing('sqlite.db', 'jobs.db') });
  for (let i = 0; i < 5; i++) sim.see(primary(), 10_000);
  t.equal(writes(sim.actions).length, 1);
  t.equal(sim.state.record.writes, 0, 'counted as no gain');
});

t.test('an answer to an older write is ignored', async (t) => {
  const sim = cleared(ABSENT);
  sim.see(primary(), 10, sim.lastToken());
  const w = writes(sim.actions)[0];
  if (!w) throw new Error('no write');
  sim.feed({
    type: 'record-written',
    token: w.token + 100,
    result: { kind: 'failed', error: 'x' },
  });
  t.equal(sim.state.record.writing, w.token, 'still waiting for its own answer');
  t.equal(sim.state.record.retryAt, undefined);
});

for (const [what, result, message] of [
  ['failed', { kind: 'failed', error: 'PUT k on Consul at http://c:8500: HTTP 500' }, /HTTP 500/],
  ['not-holder', { kind: 'not-holder', holder: 'node-b' }, /lease names node-b, not this node/],
] as const) {
  t.test(
    `a write that ${what}: record.write-fail, tried again at +10 s and not before`,
    async (t) => {
      const sim = cleared(ABSENT);
      sim.see(primary(), 10, sim.lastToken());
      sim.commandExit(0);
      sim.feed({ type: 'app-started', pid: 42 });
      const failedAt = sim.now + 500;
      answerWrite(sim, result, 500);
      t.match(logsOf(sim, 'record.write-fail'), [
        { level: 'warn', msg: message, fields: { key: KEY, retryInMs: RECORD_RETRY_MS } },
      ]);
      t.equal(RECORD_RETRY_MS, 10_000);
      t.same(sim.state.wake, { at: failedAt + RECORD_RETRY_MS, why: 'record-retry' });
      // Inputs before the retry time write nothing.
      sim.see(primary(), 4_000);
      sim.see(primary(), 5_999);
      t.equal(sim.now, failedAt + RECORD_RETRY_MS - 1);
      t.equal(writes(sim.actions).length, 1, 'not before +10 s');
      t.same(sim.state.wake, { at: failedAt + RECORD_RETRY_MS, why: 'record-retry' });
      // The wake at its time writes again.
      const out = sim.feed({ type: 'wake' }, 1);
      t.match(writes(out), [{ dbs: ['sqlite.db', 'jobs.db'] }]);
      t.equal(sim.state.record.retryAt, undefined);
      t.equal(sim.state.wake, undefined, 'no wake while the retry is in flight');
      answerWrite(sim, {
        kind: 'written',
        read: listing('sqlite.db', 'jobs.db'),
        gained: ['sqlite.db', 'jobs.db'],
      });
      sim.see(primary(), RECORD_RETRY_MS * 3);
      t.equal(writes(sim.actions).length, 2, 'and not again once written');
    },
  );
}

t.test('no write when the primary is not allowed to write', async (t) => {
  t.test('fenced: an empty primary against a record that lists its db', async (t) => {
    const sim = recordSim();
    sim.see(primary({ 'sqlite.db': { txid: 0n, size: 4096 } }));
    sim.answerPeers(reportWith(listing('sqlite.db')));
    t.equal(sim.state.phase, 'fenced');
    for (let i = 0; i < 5; i++) sim.see(primary({ 'sqlite.db': { txid: 0n, size: 4096 } }), 1000);
    t.same(writes(sim.actions), [], 'jobs.db has data here, but a fenced node records nothing');
  });
  t.test('fenced: a primary with data, behind its high-water mark', async (t) => {
    const sim = new Sim(testConfig({ db: DBS, clusterRecord: KEY }));
    sim.loadHwm({ 'sqlite.db': 9n });
    sim.see(primary());
    sim.answerPeers(reportWith(ABSENT));
    t.equal(sim.state.phase, 'fenced');
    for (let i = 0; i < 5; i++) sim.see(primary(), 1000);
    t.same(writes(sim.actions), []);
  });
  t.test('a new term fenced (a peer ahead) after a cleared one: no write', async (t) => {
    const sim = cleared(ABSENT, { peers: 'myapp.internal' });
    sim.see({ role: 'replica', primary: 'node-b', dbs: dbsOf() }, 10);
    sim.see(primary(), 10);
    sim.answerPeers(reportWith(ABSENT, [peer({ txid: 50n })]));
    t.equal(sim.state.phase, 'fenced');
    sim.see(primary(), 10);
    t.same(writes(sim.actions), []);
  });
  t.test('a replica with data', async (t) => {
    const sim = recordSim();
    for (let i = 0; i < 5; i++) sim.see({ role: 'replica', primary: 'node-b', dbs: dbsOf() }, 1000);
    t.equal(sim.state.role, 'replica');
    t.same(writes(sim.actions), []);
  });
  t.test('not cleared: the read has not come back yet', async (t) => {
    const sim = recordSim();
    sim.see(primary());
    for (let i = 0; i < 5; i++) sim.see(primary(), 500);
    t.equal(sim.state.phase, 'checking');
    t.same(writes(sim.actions), []);
    sim.answerPeers(reportWith(ABSENT));
    sim.see(primary(), 10, sim.lastToken());
    t.equal(writes(sim.actions).length, 1, 'and once cleared, it writes');
  });
  t.test('shutting down: a retry that comes due while the app stops is not made', async (t) => {
    const sim = cleared(ABSENT);
    sim.see(primary(), 10, sim.lastToken());
    sim.commandExit(0);
    sim.feed({ type: 'app-started', pid: 42 });
    answerWrite(sim, { kind: 'failed', error: 'HTTP 500' });
    sim.feed({ type: 'signal', signal: 'SIGTERM' }, 1000);
    t.ok(sim.state.shutdown);
    t.equal(sim.state.phase, 'stopping');
    t.not(sim.state.wake?.why, 'record-retry', 'no wake for a write while stopping');
    sim.see(primary(), RECORD_RETRY_MS);
    sim.see(primary(), 1000);
    t.equal(writes(sim.actions).length, 1, 'only the write before the signal');
    sim.feed({ type: 'app-exit', exitCode: 143, signal: undefined });
    t.equal(writes(sim.actions).length, 1);
  });
  t.test('the record off: no write, and no read (no peers asked)', async (t) => {
    const sim = new Sim(testConfig({ db: DBS }));
    sim.loadHwm(undefined);
    sim.see(primary());
    sim.see(primary(), 10, sim.lastToken());
    sim.commandExit(0);
    sim.feed({ type: 'app-started', pid: 42 });
    for (let i = 0; i < 5; i++) sim.see(primary(), 1000);
    t.equal(sim.state.phase, 'running');
    t.same(writes(sim.actions), []);
    t.equal(sim.last('ask-peers'), undefined);
  });
  t.test('the record off with --peers: asks the peers, writes nothing', async (t) => {
    const sim = new Sim(testConfig({ db: DBS, peers: 'myapp.internal' }));
    sim.loadHwm(undefined);
    sim.see(primary());
    sim.answerPeers(reportWith(undefined, [peer({ txid: 1n })]));
    sim.see(primary(), 10, sim.lastToken());
    sim.commandExit(0);
    for (let i = 0; i < 5; i++) sim.see(primary(), 1000);
    t.ok(sim.state.term.cleared);
    t.same(writes(sim.actions), []);
  });
  t.test('--standalone: never, whatever --cluster-record says', async (t) => {
    const sim = new Sim(testConfig({ db: DBS, clusterRecord: KEY, standalone: true }));
    sim.see(primary());
    sim.see(primary(), 10, sim.lastToken());
    sim.commandExit(0);
    for (let i = 0; i < 5; i++) sim.see(primary(), 1000);
    t.same(writes(sim.actions), []);
    t.equal(sim.last('ask-peers'), undefined);
  });
});

t.test('a bootstrap primary writes once its migrations gave it data', async (t) => {
  const sim = new Sim(testConfig({ clusterRecord: KEY }));
  sim.loadHwm(undefined);
  const empty = { role: 'primary' as const, dbs: [db({ txid: 0n, size: 4096 })] };
  sim.see(empty);
  sim.answerPeers(reportWith(ABSENT));
  t.ok(sim.state.term.bootstrap, 'a new cluster');
  t.same(logsOf(sim, 'record.absent'), [], 'no data anywhere: an absent record is expected');
  sim.see(empty, 10, sim.lastToken());
  t.ok(sim.types().includes('run-command'), 'bootstrapping migration runs');
  for (let i = 0; i < 3; i++) sim.see(empty, 1000);
  t.same(writes(sim.actions), [], 'nothing while the db is empty');
  // The migration's first commit arrives on /events before any poll.
  const out = sim.feed({
    type: 'litefs-event',
    event: {
      type: 'tx',
      db: 'sqlite.db',
      txid: 1n,
      checksum: 'a1b2c3d4e5f60718',
      pageSize: 4096,
      commit: 3,
      timestamp: 'x',
    },
  });
  t.match(writes(out), [{ type: 'write-record', dbs: ['sqlite.db'] }], 'TXID 1: data, recorded');
  sim.commandExit(0);
  sim.see({ role: 'primary', dbs: [db({ txid: 2n })] }, 1000);
  t.equal(writes(sim.actions).length, 1);
});

t.test('a bootstrap primary: an observation with data also triggers the write', async (t) => {
  const sim = new Sim(testConfig({ clusterRecord: KEY }));
  sim.loadHwm(undefined);
  const empty = { role: 'primary' as const, dbs: [db({ txid: 0n, size: 4096 })] };
  sim.see(empty);
  sim.answerPeers(reportWith(ABSENT));
  sim.see(empty, 10, sim.lastToken());
  sim.commandExit(0);
  sim.feed({ type: 'app-started', pid: 42 });
  sim.see(empty, 1000);
  t.same(writes(sim.actions), []);
  const out = sim.see({ role: 'primary', dbs: [db({ txid: 4n })] }, 1000);
  t.match(writes(out), [{ dbs: ['sqlite.db'] }]);
});

t.test('record.absent: warned once a run, and only when data exists', async (t) => {
  t.test('warns: data here and no record; once across terms', async (t) => {
    const sim = cleared(ABSENT);
    t.match(logsOf(sim, 'record.absent'), [
      { level: 'warn', fields: { key: KEY, dataHere: 'sqlite.db,jobs.db' } },
    ]);
    // The lease goes and comes back: a new term reads the record again, still absent.
    sim.see({ role: 'replica', primary: 'node-b', dbs: dbsOf() }, 10);
    sim.see(primary(), 10);
    sim.answerPeers(reportWith(ABSENT));
    t.equal(sim.state.term.cleared, true);
    t.equal(logsOf(sim, 'record.absent').length, 1, 'once a run');
  });
  t.test('warns: empty here but a peer has data', async (t) => {
    const sim = recordSim({ db: ['sqlite.db'], peers: 'myapp.internal' });
    sim.see({ role: 'primary', dbs: [db({ txid: 0n, size: 4096 })] });
    sim.answerPeers(reportWith(ABSENT, [peer({ txid: 7n })]));
    t.match(logsOf(sim, 'record.absent'), [
      { fields: { dataHere: undefined, dataOnPeers: 'http://[fdaa::2]:20202' } },
    ]);
    t.equal(sim.state.phase, 'fenced', 'S2 by the peer, as without the record');
  });
  t.test(
    "warns: a peer's db is gone but its high-water mark says the cluster held data",
    async (t) => {
      const sim = recordSim({ db: ['sqlite.db'], peers: 'myapp.internal' });
      sim.see({ role: 'primary', dbs: [db({ txid: 0n, size: 4096 })] });
      sim.answerPeers(reportWith(ABSENT, [peer({ txid: 0n, pages: 1, hwm: 7n })]));
      t.match(logsOf(sim, 'record.absent'), [
        { fields: { dataOnPeers: 'http://[fdaa::2]:20202' } },
      ]);
      t.equal(sim.state.phase, 'fenced', "S2 by the peer's mark");
    },
  );
  t.test('silent: a present record, or no data anywhere', async (t) => {
    const sim = cleared(listing('sqlite.db'));
    t.same(logsOf(sim, 'record.absent'), []);
    const fresh = recordSim({ db: ['sqlite.db'] });
    fresh.see({ role: 'primary', dbs: [db({ txid: 0n, size: 4096 })] });
    fresh.answerPeers(reportWith(ABSENT));
    t.same(logsOf(fresh, 'record.absent'), []);
  });
});

t.test('decide reads the record through the peers report', async (t) => {
  t.test('record on without --peers: a primary still asks (the record alone)', async (t) => {
    const sim = recordSim();
    const out = sim.see(primary());
    t.match(sim.types(out), ['ask-peers']);
    t.equal(sim.state.phase, 'checking');
  });
  t.test('an empty primary fenced by the record (S2) through decide', async (t) => {
    const sim = recordSim({ db: ['sqlite.db'] });
    sim.see({ role: 'primary', dbs: [db({ txid: 0n, size: 4096 })] });
    sim.answerPeers(reportWith(listing('sqlite.db')));
    t.equal(sim.state.phase, 'fenced');
    t.match(sim.state.fence?.why, `the cluster record in Consul (${KEY})`);
    t.same(
      sim.actions.filter((a) => a.type === 'run-command'),
      [],
    );
  });
  t.test('an unreadable record: waits within --peer-wait, asks again, then fenced', async (t) => {
    const sim = recordSim({ db: ['sqlite.db'], peerWait: 30_000 });
    const empty = { role: 'primary' as const, dbs: [db({ txid: 0n, size: 4096 })] };
    const unreadable: RecordRead = { kind: 'unreadable', error: 'no answer within 2000 ms' };
    sim.see(empty);
    sim.answerPeers(reportWith(unreadable));
    t.equal(sim.state.phase, 'checking');
    t.match(sim.state.wake, { why: 'peer-retry' });
    const asks = () => sim.actions.filter((a) => a.type === 'ask-peers').length;
    sim.see(empty, 3000);
    t.equal(asks(), 2, 'asked again after the retry interval');
    sim.answerPeers(reportWith(unreadable));
    for (let i = 0; i < 10 && sim.state.phase === 'checking'; i++) {
      sim.see(empty, 3000);
      if (sim.state.peers?.report === undefined) sim.answerPeers(reportWith(unreadable));
    }
    t.equal(sim.state.phase, 'fenced');
    t.ok(sim.now - 1_000_000 >= 30_000, 'not before --peer-wait');
    t.same(
      sim.actions.filter((a) => a.type === 'run-command'),
      [],
    );
  });
});

t.test(
  'reads while fenced: at most one per HANDOFF_RETRY_MS, with or without --peers',
  async (t) => {
    const empty = { role: 'primary' as const, dbs: [db({ txid: 0n, size: 4096 })] };
    const asks = (sim: Sim) => sim.actions.filter((a) => a.type === 'ask-peers').length;
    /** Runs a fenced primary until it exits 4 at --fence-timeout, answering every ask. */
    const fencedRun = (sim: Sim) => {
      sim.see(empty);
      sim.answerPeers(reportWith(listing('sqlite.db'), [peer({ txid: 0n, pages: 1 })]));
      for (let i = 0; i < 200 && sim.state.exited === undefined; i++) {
        sim.see(empty, 1000);
        if (sim.state.peers?.report === undefined && sim.last('ask-peers')) {
          sim.answerPeers(reportWith(listing('sqlite.db'), [peer({ txid: 0n, pages: 1 })]));
        }
      }
    };
    t.test('with --peers: at most one read per HANDOFF_RETRY_MS until exit 4', async (t) => {
      const sim = recordSim({ db: ['sqlite.db'], peers: 'myapp.internal', fenceTimeout: 60_000 });
      fencedRun(sim);
      t.equal(sim.state.exited, 4);
      const n = asks(sim);
      t.ok(
        n >= 2 && n <= 60_000 / HANDOFF_RETRY_MS + 1,
        `${n} reads over the 60 s --fence-timeout`,
      );
      t.comment(`fenced with --peers: ${n} record reads before exit 4 at --fence-timeout 60 s`);
    });
    t.test(
      'the record alone: no one to hand off to, but it is read again on the same schedule (a reset, or a peer with data in it, ends the fence)',
      async (t) => {
        const sim = recordSim({ db: ['sqlite.db'], fenceTimeout: 60_000 });
        fencedRun(sim);
        t.equal(sim.state.exited, 4);
        const n = asks(sim);
        t.ok(
          n >= 2 && n <= 60_000 / HANDOFF_RETRY_MS + 1,
          `${n} reads over the 60 s --fence-timeout`,
        );
      },
    );
    t.test(
      'the record reset while fenced: the next read ends the fence, and it bootstraps',
      async (t) => {
        const sim = recordSim({ db: ['sqlite.db'], fenceTimeout: 60_000 });
        sim.see(empty);
        sim.answerPeers(reportWith(listing('sqlite.db')));
        t.equal(sim.state.phase, 'fenced');
        sim.see(empty, 1000);
        t.equal(sim.state.phase, 'fenced', 'no fresh read yet: still fenced');
        sim.see(empty, HANDOFF_RETRY_MS);
        sim.answerPeers(reportWith(ABSENT));
        t.ok(sim.events().includes('fence.leave'), 'the fence ends on the fresh read');
        sim.see(empty, 10);
        sim.answerPeers(reportWith(ABSENT));
        t.ok(sim.state.term.bootstrap, 'then its checks bootstrap');
      },
    );
  },
);

t.test(
  'record.other-cluster: warned once a run when the record names another cluster ID',
  async (t) => {
    const other = listing('sqlite.db', 'jobs.db');
    other.record.clusterId = 'LFSC00000000000000FF';
    const sim = cleared(other);
    t.match(logsOf(sim, 'record.other-cluster'), [
      { level: 'warn', fields: { key: KEY, record: /^present: sqlite\.db has data/ } },
    ]);
    sim.see({ role: 'replica', primary: 'node-b', dbs: dbsOf() }, 10);
    sim.see(primary(), 10);
    sim.answerPeers(reportWith(other));
    t.equal(logsOf(sim, 'record.other-cluster').length, 1, 'once a run, however often it is read');
    t.equal(
      logsOf(cleared(listing('sqlite.db', 'jobs.db')), 'record.other-cluster').length,
      0,
      'same cluster: no warning',
    );
  },
);
