// The runner's one timer for decide's wake, on a virtual clock: a migration retry
// happens at its time while the poll is idle (IDLE_POLL_MS, 10 s, with /events connected),
// not at the next poll; the timer follows the state's wake and is cleared at the end.

import t from 'tap';
import { IDLE_POLL_MS } from '../src/supervisor.js';
import { obs } from './helpers/builders.js';
import { Harness, settle } from './helpers/harness.js';

// Not 1000: the retry timer (1 s) must not be mistaken for a poll tick.
const POLL = 1500;

t.test('a migration retry runs at its time while polling is idle', async (t) => {
  const h = new Harness({ pollInterval: POLL, migrate: ['m1'], onPromotion: 'migrate' });
  h.deps.watchEvents = () => ({ close() {}, connected: () => true });
  const { sup, done } = await h.supervisor();
  await settle();
  const answer = async (role: 'primary' | 'replica') => {
    const o = h.observations.at(-1)!;
    o.answer(obs({ role, lag: 0, at: o.started }));
    await settle();
  };
  await answer('replica');
  t.equal(sup.current.phase, 'running', 'the replica runs its app');
  // S7: the lease comes to this node while its app runs; the migration is confirmed and runs.
  sup.dispatch({ type: 'observation', observation: obs({ role: 'primary', at: h.now }) });
  await answer('primary');
  t.equal(h.commands.length, 1, 'the migration runs beside the app');
  const failedAt = h.now;
  h.commands[0]!.done(1);
  await settle();
  t.equal(sup.current.phase, 'running', 'the app keeps serving');
  t.same(sup.current.wake, { at: failedAt + 1000, why: 'migrate-retry' });
  const observed = h.observations.length;
  await h.tick(999);
  t.equal(h.observations.length, observed, 'idle: no poll observes within the backoff');
  t.equal(h.commands.length, 1, 'not retried a millisecond early');
  await h.tick(1);
  t.equal(h.observations.length, observed + 1, 'the wake asks for the S1 confirmation');
  t.equal(h.observations.at(-1)!.started, failedAt + 1000, 'at the retry time');
  t.ok(failedAt + 1000 < failedAt + IDLE_POLL_MS / 2, 'long before the next idle poll');
  await answer('primary');
  t.equal(h.commands.length, 2, 'the second try runs at its time');
  const wakeTimers = h.timers.filter((x) => x.ms !== POLL);
  t.same(
    wakeTimers.map((x) => [x.ms, x.state]),
    [[1000, 'fired']],
    'one wake timer, for the retry',
  );
  h.commands[1]!.done(0);
  await settle();
  t.equal(sup.current.wake, undefined);
  sup.dispatch({ type: 'signal', signal: 'SIGTERM' });
  h.apps[0]!.exit({ exitCode: 143 });
  t.equal(await done, 143);
  t.same(
    h.pending().filter((x) => x.ms !== POLL),
    [],
    'no wake timer left',
  );
});

t.test('the wake timer follows the state: moved, cleared, set again', async (t) => {
  // A replica that never syncs: --sync-timeout is its one deadline.
  const h = new Harness({ pollInterval: 3_600_000, syncTimeout: 60_000, migrate: [] });
  const { sup, done } = await h.supervisor();
  await settle();
  h.observations[0]!.answer(obs({ role: 'replica', lag: 'unsynced' }));
  await settle();
  t.same(sup.current.wake, { at: 60_000, why: 'sync-timeout' });
  const timers = () => h.timers.filter((x) => x.ms !== 3_600_000);
  t.same(
    timers().map((x) => [x.at, x.state]),
    [[60_000, 'pending']],
  );
  // Synced: the wait is over, the timer is cleared.
  sup.dispatch({ type: 'observation', observation: obs({ role: 'replica', lag: 0, at: 10 }) });
  await settle();
  t.equal(sup.current.wake, undefined);
  t.same(
    timers().map((x) => x.state),
    ['cleared'],
  );
  h.apps[0]!.exit({ exitCode: 0 });
  t.equal(await done, 0);
});

t.test('--sync-timeout ends a wait with no input at all: exit 5 at its time', async (t) => {
  const h = new Harness({ pollInterval: 3_600_000, syncTimeout: 60_000, migrate: [] });
  const { done } = await h.supervisor();
  await settle();
  h.observations[0]!.answer(obs({ role: 'unknown' }));
  await settle();
  let code: number | undefined;
  void done.then((c) => {
    code = c;
  });
  await h.tick(59_999);
  t.equal(code, undefined);
  await h.tick(1);
  t.equal(await done, 5, 'exit 5 at the deadline, with no poll in between');
  t.match(h.logsOf('sync.timeout').at(-1), { waitedMs: 60_000 });
});
