// S7's own write lock (src/litefs/halt.ts selfWriteLock) on the fake LiteFS: taken at once on
// the dbs decide names, released by `release` (idempotent, and after a take still under way)
// and on its own after `holdMs` at the latest; one not granted in time is not held. And what
// the fence's handoff meets while it is held: LiteFS grants another lock ID only once ours is
// released (db.go AcquireHaltLock waits for the write lock), so decide releases ours first.

import t from 'tap';
import { selfWriteLock } from '../../src/litefs/halt.js';
import { FakeLitefs } from '../../testkit/fake-litefs.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await sleep(10);
  if (!cond()) throw new Error(`never: ${what}`);
}

t.test('taken on the dbs at once, released once, a second release does nothing', async (t) => {
  const fake = await FakeLitefs.start({ role: 'primary', dbs: ['app.db', 'cache.db'] });
  t.teardown(() => fake.close());
  const lock = selfWriteLock({ url: fake.url, now: Date.now });
  const taken = await lock.take(['app.db', 'cache.db'], 1000);
  t.match(taken, { kind: 'held', dbs: ['app.db', 'cache.db'] });
  t.same(
    fake.requests.map((q) => `${q.method} ${q.path}`),
    ['POST /halt', 'POST /halt'],
    'asked for at once, nothing read first',
  );
  t.same([...fake.halts.keys()].sort(), ['app.db', 'cache.db'], 'both dbs halted');
  const ids = new Set(fake.halts.values());
  t.equal(ids.size, 1, 'one lock ID for all');
  t.match([...ids][0], /^[1-9]\d*$/, 'a positive lock ID');
  t.same(await lock.release(), { error: undefined });
  t.same([...fake.halts], [], 'released');
  t.same(await lock.release(), { error: undefined }, 'nothing left to release');
  t.equal(
    fake.requests.filter((q) => q.method === 'DELETE' && q.path === '/halt').length,
    2,
    'one DELETE per db, none for the second release',
  );
});

t.test('only the dbs decide names are halted', async (t) => {
  const fake = await FakeLitefs.start({ role: 'primary', dbs: ['app.db', 'cache.db'] });
  t.teardown(() => fake.close());
  const lock = selfWriteLock({ url: fake.url, now: Date.now });
  t.match(await lock.take(['app.db'], 1000), { kind: 'held', dbs: ['app.db'] });
  t.same([...fake.halts.keys()], ['app.db']);
  await lock.release();
});

t.test('released on its own after holdMs when nobody releases it', async (t) => {
  const fake = await FakeLitefs.start({ role: 'primary', dbs: ['app.db'] });
  t.teardown(() => fake.close());
  const lock = selfWriteLock({ url: fake.url, now: Date.now, holdMs: 50 });
  t.equal((await lock.take(['app.db'], 1000)).kind, 'held');
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
  const taking = lock.take(['app.db'], 1000);
  const released = lock.release();
  t.equal((await taking).kind, 'held');
  t.same(await released, { error: undefined });
  t.same([...fake.halts], [], 'not left held');
  t.notOk(lock.held());
});

t.test('a lock not granted in time: none held, and the late one released', async (t) => {
  const fake = await FakeLitefs.start({ role: 'primary', dbs: ['app.db'] });
  t.teardown(() => fake.close());
  fake.haltDelayMs = 300;
  const lock = selfWriteLock({ url: fake.url, now: Date.now });
  t.match(await lock.take(['app.db'], 20), {
    kind: 'skipped',
    why: /held the write lock of app.db for 20 ms/,
  });
  t.notOk(lock.held());
  await until(
    () => fake.requests.some((q) => q.method === 'DELETE' && q.path === '/halt'),
    'the late lock released',
  );
  t.same([...fake.halts], [], 'nothing held');
});

t.test(
  'another lock ID (a handoff halting this node) is granted only once ours is released',
  async (t) => {
    const fake = await FakeLitefs.start({ role: 'primary', dbs: ['app.db'] });
    t.teardown(() => fake.close());
    const lock = selfWriteLock({ url: fake.url, now: Date.now });
    t.equal((await lock.take(['app.db'], 1000)).kind, 'held');
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
