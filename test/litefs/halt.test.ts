// Writes halted across a lease move (docs/design.md section 4): the lock is taken before the
// move, held until the halted node no longer says it is primary, and released in every outcome;
// a lock that cannot be had in time lets the move go ahead and is released when it comes.

import t from 'tap';
import type { LitefsResult } from '../../src/litefs/client.js';
import { type HaltNode, litefsHaltNode, withWritesHalted } from '../../src/litefs/halt.js';
import { FakeLitefs } from '../../testkit/fake-litefs.js';

const ok = <T>(value: T): LitefsResult<T> => ({ ok: true, value });

/** A scripted node: every call is recorded in order; answers come from the script. */
function scripted(script: {
  primary?: boolean[];
  dbs?: string[];
  halt?: (name: string) => Promise<LitefsResult<undefined>>;
  unhalt?: LitefsResult<undefined>;
}) {
  const calls: string[] = [];
  const primary = [...(script.primary ?? [true, false])];
  const node: HaltNode = {
    url: 'http://primary:20202',
    isPrimary: async () => {
      calls.push('info');
      return ok(primary.length > 1 ? (primary.shift() as boolean) : (primary[0] ?? false));
    },
    dbNames: async () => {
      calls.push('dbs');
      return ok(script.dbs ?? ['app.db', 'cache.db']);
    },
    halt: (name) => {
      calls.push(`halt ${name}`);
      return script.halt ? script.halt(name) : Promise.resolve(ok(undefined));
    },
    unhalt: async (name) => {
      calls.push(`unhalt ${name}`);
      return script.unhalt ?? ok(undefined);
    },
  };
  return { node, calls };
}

/** A move that succeeds, recorded among the node's calls. */
const moved = (calls: string[]) => async () => {
  calls.push('move');
  return { ok: true };
};

/** A clock that moves only when slept on, so bounds are reached without waiting. */
function clock() {
  let now = 1000;
  return {
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
  };
}

t.test(
  'the lock is taken before the move and released once the node is no longer primary',
  async (t) => {
    const { node, calls } = scripted({ primary: [true, true, true, false] });
    const c = clock();
    const r = await withWritesHalted({
      node,
      move: moved(calls),
      lockId: 7n,
      waitMs: 300,
      ...c,
      // A real wait would race the locks; here they are granted at once, before any sleep ends.
      sleep: async (ms) => {
        await new Promise((resolve) => setImmediate(resolve));
        await c.sleep(ms);
      },
    });
    t.same(calls, [
      'info',
      'dbs',
      'halt app.db',
      'halt cache.db',
      'move',
      'info',
      'info',
      'info',
      'unhalt app.db',
      'unhalt cache.db',
    ]);
    t.equal(r.ok, true);
    t.equal(r.halt.kind, 'held');
    if (r.halt.kind === 'held') {
      t.same(r.halt.dbs, ['app.db', 'cache.db']);
      t.equal(r.halt.releaseError, undefined);
    }
  },
);

t.test(
  'a lock not granted in time: the move goes ahead, and the late lock is released',
  async (t) => {
    let grant: (r: LitefsResult<undefined>) => void = () => {};
    const { node, calls } = scripted({
      dbs: ['app.db'],
      halt: () => new Promise((resolve) => (grant = resolve)),
    });
    const r = await withWritesHalted({
      node,
      move: moved(calls),
      lockId: 7n,
      waitMs: 300,
      ...clock(),
    });
    t.same(r.halt, {
      kind: 'skipped',
      why: 'a transaction held the write lock of app.db for 300 ms',
    });
    t.same(calls, ['info', 'dbs', 'halt app.db', 'move']);
    grant(ok(undefined));
    await new Promise((resolve) => setImmediate(resolve));
    t.same(calls.slice(4), ['unhalt app.db'], 'released as soon as LiteFS granted it');
  },
);

t.test(
  'a refused lock (a LiteFS without /halt): the move goes ahead, the others are released',
  async (t) => {
    const { node, calls } = scripted({
      halt: async (name) =>
        name === 'cache.db'
          ? { ok: false, status: 404, error: 'POST /halt: HTTP 404: 404 page not found' }
          : ok(undefined),
    });
    const r = await withWritesHalted({
      node,
      move: async () => ({ ok: true }),
      lockId: 7n,
      waitMs: 300,
      ...clock(),
    });
    t.same(r.halt, { kind: 'skipped', why: 'POST /halt: HTTP 404: 404 page not found' });
    await new Promise((resolve) => setImmediate(resolve));
    t.ok(calls.includes('unhalt app.db'));
    t.notOk(calls.includes('unhalt cache.db'), 'nothing to release where no lock was granted');
  },
);

t.test('a node that is not the primary is not halted', async (t) => {
  const { node, calls } = scripted({ primary: [false] });
  const r = await withWritesHalted({
    node,
    move: async () => ({ ok: true }),
    lockId: 7n,
    waitMs: 300,
    ...clock(),
  });
  t.same(r.halt, { kind: 'skipped', why: 'http://primary:20202 is not the primary' });
  t.same(calls, ['info']);
});

t.test('a failed move releases at once; a move that never comes is bounded', async (t) => {
  const failed = scripted({ dbs: ['app.db'], primary: [true] });
  const r = await withWritesHalted({
    node: failed.node,
    move: async () => ({ ok: false }),
    lockId: 7n,
    waitMs: 300,
    ...clock(),
  });
  t.equal(r.halt.kind, 'held');
  t.same(failed.calls, ['info', 'dbs', 'halt app.db', 'unhalt app.db'], 'no polling');

  const stuck = scripted({ dbs: ['app.db'], primary: [true] });
  const c = clock();
  const s = await withWritesHalted({
    node: stuck.node,
    move: async () => ({ ok: true }),
    lockId: 7n,
    waitMs: 300,
    ...c,
    holdMs: 100,
    pollMs: 10,
  });
  t.equal(s.halt.kind === 'held' && s.halt.heldMs, 100, 'released at the bound');
  t.equal(stuck.calls.at(-1), 'unhalt app.db');
});

t.test('a move that throws still releases, and a release that fails is reported', async (t) => {
  const thrown = scripted({ dbs: ['app.db'] });
  await t.rejects(
    withWritesHalted({
      node: thrown.node,
      move: async () => {
        throw new Error('boom');
      },
      lockId: 7n,
      waitMs: 300,
      ...clock(),
    }),
    /boom/,
  );
  t.equal(thrown.calls.at(-1), 'unhalt app.db');

  const unreleased = scripted({
    dbs: ['app.db'],
    unhalt: { ok: false, error: 'DELETE /halt: connect ECONNREFUSED' },
  });
  const r = await withWritesHalted({
    node: unreleased.node,
    move: async () => ({ ok: true }),
    lockId: 7n,
    waitMs: 300,
    ...clock(),
  });
  t.equal(r.halt.kind === 'held' && r.halt.releaseError, 'DELETE /halt: connect ECONNREFUSED');
});

t.test(
  'on the fake LiteFS: a handoff with the lock held, the demotion waits for its release',
  async (t) => {
    const old = await FakeLitefs.start({ role: 'primary', dbs: ['app.db'] });
    const target = await FakeLitefs.start({ role: { replicaOf: old.hostname } });
    old.connectReplica(target.nodeId, target.hostname);
    const node = litefsHaltNode(old.url);
    t.teardown(async () => {
      await node.close();
      await old.close();
      await target.close();
    });
    let heldDuringMove: ReadonlyMap<string, string> = new Map();
    const r = await withWritesHalted({
      node,
      move: async () => {
        heldDuringMove = old.halts;
        const res = await fetch(`${old.url}/handoff?nodeID=${target.nodeId}`, { method: 'POST' });
        await res.arrayBuffer();
        return { ok: res.status === 200 };
      },
      lockId: 42n,
      waitMs: 1000,
      now: Date.now,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    });
    t.same([...heldDuringMove], [['app.db', '42']], 'the lock was held when the move was asked');
    t.equal(r.halt.kind, 'held');
    t.same([...old.halts], [], 'released');
    const paths = old.requests.map((q) => `${q.method} ${q.path}`);
    t.ok(
      paths.indexOf('POST /halt') < paths.indexOf('POST /handoff') &&
        paths.indexOf('POST /handoff') < paths.indexOf('DELETE /halt'),
      `halt, handoff, release in that order (${paths.join(', ')})`,
    );
  },
);
