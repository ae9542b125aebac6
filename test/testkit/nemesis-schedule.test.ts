// The nemesis's schedule (testkit/nemesis/schedule.ts): the same seed gives the same operations,
// and every drawn operation is possible in the membership it meets (never the last running node
// stopped, data destroyed only while another node runs, two nodes kept).

import t from 'tap';
import {
  applyOp,
  DESTRUCTIVE,
  describeOp,
  drawSchedule,
  incidentSchedule,
  type Membership,
  prng,
  rolesFor,
} from '../../testkit/nemesis/schedule.js';

t.test('prng: the same sequence for a seed, floats in [0, 1)', async (t) => {
  const a = prng(42);
  const b = prng(42);
  const xs = Array.from({ length: 1000 }, () => a());
  t.same(
    xs,
    Array.from({ length: 1000 }, () => b()),
  );
  t.ok(xs.every((x) => x >= 0 && x < 1));
  t.not(prng(43)(), xs[0], 'another seed, another sequence');
});

t.test('drawSchedule: deterministic for a seed', async (t) => {
  t.same(drawSchedule(7, 30, 3), drawSchedule(7, 30, 3));
  t.not(JSON.stringify(drawSchedule(7, 30, 3)), JSON.stringify(drawSchedule(8, 30, 3)));
  t.equal(drawSchedule(7, 12, 3).ops.length, 12);
});

t.test('every drawn operation is possible in the membership it meets', async (t) => {
  const seen = new Set<string>();
  const problems: string[] = [];
  for (let seed = 1; seed <= 300; seed++) {
    for (const nodes of [2, 3]) {
      const s = drawSchedule(seed, 25, nodes);
      let m: Membership = { running: nodes, stopped: 0, existing: nodes, maxNodes: nodes + 2 };
      for (const op of s.ops) {
        seen.add(op.kind);
        const at = `seed ${seed}, ${nodes} nodes: ${describeOp(op)} in ${JSON.stringify(m)}`;
        if (!rolesFor(op.kind, m).includes(op.role)) problems.push(`${at}: not possible`);
        if (op.kind === 'stop' && m.running < 2) problems.push(`${at}: the last running node`);
        if (DESTRUCTIVE.has(op.kind) && op.role !== 'stopped' && m.running < 2) {
          problems.push(`${at}: destroys data with no other node running`);
        }
        if (op.kind === 'wipe-volume' && op.role === 'primary') problems.push(`${at}: the primary`);
        m = applyOp(m, op.kind, op.role);
        if (m.running < 1 || m.existing < 2 || m.existing > m.maxNodes) {
          problems.push(`${at}: leaves ${JSON.stringify(m)}`);
        }
        if (m.running + m.stopped !== m.existing) problems.push(`${at}: miscounts`);
      }
      if (s.scaleOuts !== s.ops.filter((o) => o.kind === 'scale-out').length) {
        problems.push(`seed ${seed}: scaleOuts ${s.scaleOuts}`);
      }
    }
  }
  t.same(problems, [], 'no drawn operation breaks a membership rule');
  t.equal(seen.size, 16, 'every kind of operation is drawn by some seed');
});

t.test('kills carry a down time, outages a duration, and nothing else does', async (t) => {
  const problems: string[] = [];
  for (let seed = 1; seed <= 50; seed++) {
    for (const op of drawSchedule(seed, 20, 3).ops) {
      const kill = op.kind === 'kill-litefs' || op.kind === 'kill-exec';
      const outage = op.kind === 'consul-outage';
      if (kill !== (op.downMs !== undefined) || (kill && (op.downMs! < 500 || op.downMs! > 3000))) {
        problems.push(`seed ${seed}: ${describeOp(op)}`);
      }
      if (
        outage !== (op.durationMs !== undefined) ||
        (outage && (op.durationMs! < 3000 || op.durationMs! > 10_000))
      ) {
        problems.push(`seed ${seed}: ${describeOp(op)}`);
      }
    }
  }
  t.same(problems, []);
});

t.test(
  'the incident schedule: the holder restarted alone, LTX gone, an emptied node joins',
  async (t) => {
    t.same(incidentSchedule(3).ops.map(describeOp), [
      '0 stop replica',
      '1 stop replica',
      '2 rm-ltx primary',
      '3 rm-db stopped',
      '4 start stopped',
    ]);
    t.same(incidentSchedule(2).ops.map(describeOp), [
      '0 stop replica',
      '1 rm-ltx primary',
      '2 rm-db stopped',
      '3 start stopped',
    ]);
  },
);
