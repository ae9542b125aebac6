// What the cluster record costs in requests to Consul (src/consul/record.ts, read with the peers
// at decision points only, written only when it gains a db), measured on the runner with a
// virtual clock: a primary that clears, records once, then runs its app for an hour of LiteFS
// /events traffic. The ports are fakes that count calls; test/consul/record.test.ts measures
// what each call costs in HTTP requests against the Consul stand-in (a read: 1; a first write:
// 4, lease GET + record GET + PUT ?cas + GET back; an unchanged write: 2).

import t, { type Test } from 'tap';
import type { RecordRead } from '../src/core/cluster-record.js';
import type { LitefsEvent } from '../src/core/litefs-types.js';
import type { PeerReport } from '../src/core/peer-types.js';
import type { RecordWriteResult } from '../src/core/state.js';
import type { RecordWriteRequest } from '../src/ports.js';
import { IDLE_POLL_MS } from '../src/supervisor.js';
import { db, obs } from './helpers/builders.js';
import { Harness, settle } from './helpers/harness.js';

const KEY = 'litefs-supervisor/my-app';
const POLL = 1000;
const HOUR = 3_600_000;
/** HTTP requests per port call, as test/consul/record.test.ts counts them. */
const REQUESTS_PER_READ = 1;
const REQUESTS_PER_FIRST_WRITE = 4;

interface Counts {
  reads: number;
  writes: RecordWriteRequest[];
}

/**
 * A primary with data, running on the harness: /events connected, the record's ports faked and
 * counted. `write` answers each write (default: written). Resolves once its app runs.
 */
async function runningPrimary(
  t: Test,
  opts: { record: boolean; write?: (req: RecordWriteRequest) => RecordWriteResult },
) {
  const h = new Harness({ pollInterval: POLL, ...(opts.record ? { clusterRecord: KEY } : {}) });
  let txid = 5n;
  const stream = { emit: (_ev: LitefsEvent) => {} };
  h.deps.watchEvents = (onEvent) => {
    stream.emit = onEvent;
    return { close() {}, connected: () => true };
  };
  const counts: Counts = { reads: 0, writes: [] };
  let record: RecordRead = { kind: 'absent' };
  h.deps.askPeers = async (): Promise<PeerReport> => {
    counts.reads += 1;
    return { at: h.now, answers: [], discoveryError: undefined, record };
  };
  h.deps.writeRecord = async (req) => {
    counts.writes.push(req);
    const answer: RecordWriteResult = opts.write?.(req) ?? {
      kind: 'written',
      read: {
        kind: 'present',
        index: 10 + counts.writes.length,
        record: {
          version: 1,
          clusterId: req.clusterId,
          dbs: Object.fromEntries(req.dbs.map((d) => [d, { since: 'x', node: req.node }])),
        },
      },
      gained: req.dbs,
    };
    if (answer.kind === 'written') record = answer.read;
    return answer;
  };
  const { sup, done } = await h.supervisor();
  const answered = new Set<object>();
  /** Answer every observation not answered yet with this primary at its current TXID. */
  const answerAll = async () => {
    for (const o of h.observations) {
      if (answered.has(o)) continue;
      answered.add(o);
      o.answer(obs({ role: 'primary', at: o.started, dbs: [db({ txid })] }));
    }
    await settle();
  };
  const finished = new Set<object>();
  for (let i = 0; i < 30 && sup.current.phase !== 'running'; i++) {
    await answerAll();
    for (const c of h.commands) {
      if (finished.has(c)) continue;
      finished.add(c);
      c.done(0);
    }
    await settle();
    await h.tick(POLL);
  }
  t.equal(sup.current.phase, 'running', 'the primary runs its app');
  /** One LiteFS commit, as /events announces it. */
  const commit = () => {
    txid += 1n;
    stream.emit({
      type: 'tx',
      db: 'sqlite.db',
      txid,
      checksum: 'a1b2c3d4e5f60718',
      pageSize: 4096,
      commit: 2,
      timestamp: new Date(h.now).toISOString(),
    });
  };
  const stop = async () => {
    sup.dispatch({ type: 'signal', signal: 'SIGTERM' });
    h.apps.at(-1)?.exit({ exitCode: 143 });
    await answerAll();
    t.equal(await done, 143);
    t.same(h.violations, [], 'no invariant broken');
  };
  return { h, sup, counts, commit, answerAll, stop, txid: () => txid };
}

/**
 * Runs `ms` of virtual time, `perSecond` commits a second (each second's commits in a burst:
 * each is one decision, as an /events message is), polls answered as they come.
 */
async function traffic(
  p: Awaited<ReturnType<typeof runningPrimary>>,
  ms: number,
  perSecond: number,
): Promise<number> {
  let events = 0;
  for (let s = 0; s < ms / 1000; s++) {
    for (let i = 0; i < perSecond; i++) p.commit();
    events += perSecond;
    await p.h.tick(1000);
    await p.answerAll();
  }
  return events;
}

t.test('record on: one read and one write in an hour at 100 tx/s', async (t) => {
  const p = await runningPrimary(t, { record: true });
  // Clearing read the record once, with the (here: no) peers; the write followed.
  t.equal(p.counts.reads, 1, 'read once, when it became primary');
  t.equal(p.counts.writes.length, 1, 'written once, right after it cleared');
  t.match(p.counts.writes[0], { dbs: ['sqlite.db'], node: 'self' });
  t.equal(p.sup.current.record.writes, 1);
  const from = p.h.now;
  const polls = p.h.observations.length;
  // 100 commits a second for an hour of virtual time: 360,000 /events messages, each a decision.
  const events = await traffic(p, HOUR, 100);
  t.equal(events, 360_000);
  t.equal(p.h.now - from, HOUR);
  t.equal(p.counts.reads, 1, 'no read for a commit or a poll');
  t.equal(p.counts.writes.length, 1, 'no write once the record lists the db');
  const idlePolls = p.h.observations.length - polls;
  t.ok(Math.abs(idlePolls - HOUR / IDLE_POLL_MS) <= 2, `${idlePolls} polls in the hour`);
  const requests =
    p.counts.reads * REQUESTS_PER_READ + p.counts.writes.length * REQUESTS_PER_FIRST_WRITE;
  t.comment(
    `cluster record, primary at 100 tx/s for 1 h (${events} /events messages, ${idlePolls} polls): ` +
      `${p.counts.reads} read(s) + ${p.counts.writes.length} write(s) = ${requests} Consul requests, ` +
      'all at the start of the term; 0 requests per hour after it',
  );
  await p.stop();
});

t.test('record off: no read and no write', async (t) => {
  // Ten minutes of the same traffic, not an hour: with the record off nothing is read at the
  // start either, and no commit or poll leads to a port call, so zero here is zero an hour.
  const p = await runningPrimary(t, { record: false });
  const events = await traffic(p, HOUR / 6, 100);
  t.equal(p.counts.reads, 0, 'no peers and no record: nothing asked');
  t.same(p.counts.writes, []);
  t.comment(`record off, 100 tx/s for 10 min (${events} /events messages): 0 Consul requests`);
  await p.stop();
});

t.test('a write that keeps failing is tried every 10 s, whatever the traffic', async (t) => {
  // Consul failing (or the lease naming another node) for the whole hour: the retry interval,
  // not the commit rate, bounds the attempts. Each attempt is 1-2 requests before it fails.
  const p = await runningPrimary(t, {
    record: true,
    write: () => ({ kind: 'failed', error: 'GET k on Consul at http://c:8500: HTTP 500' }),
  });
  const first = p.counts.writes.length;
  t.equal(first, 1);
  await traffic(p, HOUR, 10);
  const attempts = p.counts.writes.length - first;
  t.ok(attempts >= 355 && attempts <= 361, `${attempts} attempts in the hour (one per 10 s)`);
  t.equal(p.counts.reads, 1, 'a failed write asks for no read');
  t.comment(`failing Consul: ${attempts} write attempts per hour (1-2 requests each)`);
  await p.stop();
});
