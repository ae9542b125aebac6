// S7's own write lock (src/litefs/halt.ts selfWriteLock) on the fake LiteFS: taken on every db
// of this node, released by `release` (idempotent) and on its own after `holdMs` at the
// latest; a node that is not the primary is not halted. And what the fence's handoff meets
// while it is held: LiteFS grants another lock ID only once ours is released (db.go
// AcquireHaltLock waits for the write lock), so decide releases ours before it hands off.

import t from 'tap';
import { selfWriteLock } from '../../src/litefs/halt.js';
import { FakeLitefs } from '../../testkit/fake-litefs.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await sleep(10);
  if (!cond()) throw new Error(`never: ${what}`);
}

t.test('taken on every db, released once, and a second release does nothing', async (t) => {
  const fake = await FakeLitefs.start({ role: 'primary', dbs: ['app.db', 'cache.db'] });
  t.teardown(() => fake.close());
  const lock = selfWriteLock({ url: fake.url, now: Date.now });
  const taken = await lock.take(1000);
  t.match(taken, { kind: 'held', dbs: ['app.db', 'cache.db'] });
  t.same([...fake.halts.keys()].sort(), ['app.db', 'cache.db'], 'both dbs halted');
  const [id] = new Set(fake.halts.values());
  t.equal(new Set(fake.halts.values()).size, 1, 'one lock ID for all');
  t.ok(/^\d+$/.test(id ?? ''), 'a positive lock ID');
  t.same(await lock.release(), { error: undefined });
  t.same([...fake.halts], [], 'released');
  t.same(await lock.release(), { error: undefined }, 'nothing left to release');
  t.equal(
    fake.requests.filter((q) => q.method === 'DELETE' && q.path === '/halt').length,
    2,
    'one DELETE per db, none for the second release',
  );
});

t.test('released on its own after holdMs when nobody releases it', async (t) => {
  const fake = await FakeLitefs.start({ role: 'primary', dbs: ['app.db'] });
  t.teardown(() => fake.close());
  const lock = selfWriteLock({ url: fake.url, now: Date.now, holdMs: 50 });
  t.equal((await lock.take(1000)).kind, 'held');
  t.equal(fake.halts.size, 1);
  await until(() => fake.halts.size === 0, 'the lock released after holdMs');
  t.notOk(lock.held(), 'and forgotten');
  t.same(await lock.release(), { error: undefined });
});

t.test('a release asked for while the lock is being taken releases it once granted', async (t) => {
  const fake = await FakeLitefs.start({ role: 'primary', dbs: ['app.db'] });
  t.teardown(() => fake.close());
  fake.haltDelayMs = 100;
  const lock = selfWriteLock({ url: fake.url, now: Date.now });
  const taking = lock.take(1000);
  const released = lock.release();
  t.equal((await taking).kind, 'held');
  t.same(await released, { error: undefined });
  t.same([...fake.halts], [], 'not left held');
  t.notOk(lock.held());
});

t.test('not the primary: nothing is halted', async (t) => {
  const primary = await FakeLitefs.start({ role: 'primary', dbs: ['app.db'] });
  const replica = await FakeLitefs.start({ role: { replicaOf: primary.hostname } });
  t.teardown(async () => {
    await replica.close();
    await primary.close();
  });
  const lock = selfWriteLock({ url: replica.url, now: Date.now });
  const taken = await lock.take(1000);
  t.match(taken, { kind: 'skipped', why: /is not the primary/ });
  t.same([...replica.halts], []);
});

t.test(
  'another lock ID (a handoff halting this node) is granted only once ours is released',
  async (t) => {
    const fake = await FakeLitefs.start({ role: 'primary', dbs: ['app.db'] });
    t.teardown(() => fake.close());
    const lock = selfWriteLock({ url: fake.url, now: Date.now });
    t.equal((await lock.take(1000)).kind, 'held');
    let answered = false;
    const other = fetch(`${fake.url}/halt?name=app.db&id=7`, { method: 'POST' }).then(async (r) => {
      answered = true;
      await r.arrayBuffer();
      return r.status;
    });
    await sleep(100);
    t.notOk(answered, 'waits while ours is held');
    t.not(fake.halts.get('app.db'), '7');
    await lock.release();
    t.equal(await other, 200, 'granted after our release');
    t.equal(fake.halts.get('app.db'), '7');
  },
);
