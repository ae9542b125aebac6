// The nemesis (testkit/nemesis/runner.ts, `npm run nemesis`) on one fixed seed with the
// supervisor: three nodes on real LiteFS 0.5.11 behind LiteFS's proxy, uniquely keyed writes
// through the proxies, and seed 1058's four steps: a fresh node joins (the seed thread's
// `fly scale count 2`), a replica's database removed and the node restarted, kill -9 of a
// replica's supervisor, a replica's whole volume wiped. Safety only: no acknowledged write lost,
// no node's acknowledged keys shrank, never two writers; availability figures are the
// campaign's (bench/results/nemesis-*.json), not asserted here.

import t from 'tap';
import { runNemesis, summaryLine } from '../../testkit/nemesis/runner.js';
import { drawSchedule } from '../../testkit/nemesis/schedule.js';
import { skipUnlessReal } from './harness.js';

const SEED = 1058;
const STEPS = 4;

if (!skipUnlessReal(t)) {
  t.setTimeout(300_000);

  t.test(`seed ${SEED}: no acknowledged write lost with the supervisor`, async (t) => {
    t.same(
      drawSchedule(SEED, STEPS, 3).ops.map((o) => `${o.kind} ${o.role ?? ''}`.trim()),
      ['scale-out', 'rm-db replica', 'kill-exec replica', 'wipe-volume replica'],
      'the schedule this test was written for',
    );
    const r = await runNemesis(
      { seed: SEED, steps: STEPS, nodes: 3, setup: 'supervisor', fenceTimeout: '20s' },
      t,
    );
    t.comment(summaryLine(r));
    t.ok(r.acked > 100, `writes were acknowledged throughout (${r.acked})`);
    t.same(
      r.operations.filter((o) => o.skipped).map((o) => `${o.kind}: ${o.skipped}`),
      [],
      'every operation ran',
    );
    t.equal(
      r.lostAcked,
      0,
      `no acknowledged write missing from the final primary (${r.finalReference})`,
    );
    t.same(r.lostDetail, []);
    t.equal(r.emptied, 0, "no node's acknowledged keys shrank");
    t.same(r.emptiedDetail, []);
    t.equal(r.twoWriters, 0, 'never two nodes acknowledging writes at once');
    t.ok(r.liveness.ok, `every node serves again: ${JSON.stringify(r.liveness.nodes)}`);
  });
}
