// Idle polling (docs/performance.md, "Idle CPU"): while the app runs and LiteFS's /events stream is
// connected, the runner reads /info and the mount dir every IDLE_POLL_MS instead of every
// --poll-interval; in every other case (stream cut, not running, a failed read) at --poll-interval,
// as before. The routes that report `.lag` ask for a fresh observation (Supervisor.fresh), so what
// they say is never older than --poll-interval.

import t, { type Test } from 'tap';
import type { LitefsEvent } from '../src/core/litefs-types.js';
import { FRESH_WAIT_MS, IDLE_POLL_MS, Supervisor } from '../src/supervisor.js';
import { obs } from './helpers/builders.js';
import { Harness, settle } from './helpers/harness.js';

const POLL = 1000;

/** A harness whose /events stream can be connected and cut, and a supervisor running on it. */
async function runningReplica(t: Test) {
  const h = new Harness({ pollInterval: POLL });
  const stream = { connected: true, emit: (_ev: LitefsEvent) => {} };
  h.deps.watchEvents = (onEvent) => {
    stream.emit = onEvent;
    return { close() {}, connected: () => stream.connected };
  };
  const sup = new Supervisor(h.deps);
  const done = sup.run();
  await settle();
  // Answer every observation asked for until the app runs, each as a synced replica.
  for (let i = 0; i < 20 && sup.current.phase !== 'running'; i++) {
    const pending = h.observations.filter((o) => !('done' in o));
    for (const o of pending) {
      Object.assign(o, { done: true });
      o.answer(obs({ role: 'replica', at: h.now }));
    }
    await settle();
  }
  t.equal(sup.current.phase, 'running', 'the replica runs its app');
  /** Answer the observations not answered yet; returns how many there were. */
  const answerAll = async (spec: Parameters<typeof obs>[0] = { role: 'replica' }) => {
    const pending = h.observations.filter((o) => !('done' in o));
    for (const o of pending) {
      Object.assign(o, { done: true });
      o.answer(obs({ at: o.started, ...spec }));
    }
    await settle();
    return pending.length;
  };
  const stop = async () => {
    sup.dispatch({ type: 'signal', signal: 'SIGTERM' });
    h.apps.at(-1)?.exit({ exitCode: 143 });
    await answerAll();
    await done;
  };
  return { h, sup, stream, answerAll, stop };
}

/** Observations started in the virtual time window [from, to). */
const startedIn = (h: Harness, from: number, to: number) =>
  h.observations.filter((o) => o.started >= from && o.started < to).length;

t.test('running with /events connected: one observation per IDLE_POLL_MS', async (t) => {
  const { h, answerAll, stop } = await runningReplica(t);
  await answerAll();
  const from = h.now;
  for (let i = 0; i < 60; i++) {
    await h.tick(POLL);
    await answerAll();
  }
  const n = startedIn(h, from, h.now + 1);
  t.ok(n >= 60_000 / IDLE_POLL_MS - 1 && n <= 60_000 / IDLE_POLL_MS + 1, `${n} in 60 s`);
  t.ok(IDLE_POLL_MS > POLL);
  await stop();
});

t.test('a cut stream polls at --poll-interval again from the next tick', async (t) => {
  const { h, stream, answerAll, stop } = await runningReplica(t);
  for (let i = 0; i < 15; i++) {
    await h.tick(POLL);
    await answerAll();
  }
  stream.connected = false;
  const from = h.now;
  for (let i = 0; i < 10; i++) {
    await h.tick(POLL);
    await answerAll();
  }
  t.equal(startedIn(h, from, h.now + 1), 10, 'one per --poll-interval');
  stream.connected = true;
  const idleFrom = h.now;
  for (let i = 0; i < 20; i++) {
    await h.tick(POLL);
    await answerAll();
  }
  t.ok(startedIn(h, idleFrom, h.now + 1) <= 3, 'idle again once reconnected');
  await stop();
});

t.test('a failed read polls at --poll-interval until one succeeds', async (t) => {
  const { h, sup, answerAll, stop } = await runningReplica(t);
  await h.tick(IDLE_POLL_MS);
  await answerAll({ role: 'down' });
  const from = h.now + 1; // after the failed one
  for (let i = 0; i < 5; i++) {
    await h.tick(POLL);
    await answerAll({ role: 'down' });
  }
  t.equal(startedIn(h, from, h.now + 1), 5, 'every tick while /info fails');
  t.equal(sup.current.phase, 'running', 'the app is left alone');
  await h.tick(POLL);
  await answerAll();
  const after = h.now + 1; // after the clean one
  for (let i = 0; i < 5; i++) {
    await h.tick(POLL);
    await answerAll();
  }
  t.equal(startedIn(h, after, h.now + 1), 0, 'idle again after a clean read');
  await stop();
});

t.test('a lease change on /events is observed at once, also when idle', async (t) => {
  const { h, stream, answerAll, stop } = await runningReplica(t);
  await h.tick(3 * POLL);
  await answerAll();
  const before = h.observations.length;
  stream.emit({ type: 'primaryChange', isPrimary: false, hostname: 'node-c' });
  await settle();
  t.equal(h.observations.length, before + 1, 'an observation started with no tick');
  await answerAll({ role: 'replica', primary: 'node-c' });
  await stop();
});

t.test('fresh(): at once when recent, else after a new observation', async (t) => {
  const { h, sup, answerAll, stop } = await runningReplica(t);
  await answerAll();
  let resolved = false;
  await sup.fresh().then(() => {
    resolved = true;
  });
  t.ok(resolved, 'an observation started within --poll-interval is fresh enough');
  await h.tick(3 * POLL);
  await answerAll();
  const before = h.observations.length;
  resolved = false;
  const p = sup.fresh().then(() => {
    resolved = true;
  });
  await settle();
  t.equal(h.observations.length, before + 1, 'a stale state asks for an observation');
  t.notOk(resolved, 'and waits for it');
  await answerAll({ role: 'replica', lag: 30_000 });
  await p;
  t.ok(resolved);
  t.equal(sup.current.observation?.at, h.now, 'the state holds the new observation');
  // LiteFS slower than FRESH_WAIT_MS: answer with what there is.
  await h.tick(3 * POLL);
  resolved = false;
  const slow = sup.fresh().then(() => {
    resolved = true;
  });
  await settle();
  await h.tick(FRESH_WAIT_MS);
  await slow;
  t.ok(resolved, 'gives up waiting after FRESH_WAIT_MS');
  await answerAll();
  await stop();
});
