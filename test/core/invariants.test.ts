// checkInvariants (src/core/invariants.ts): each invariant holds on a sound state and is
// reported on a state that breaks it. The decide tests run it after every decision (Sim.feed in
// test/helpers/builders.ts), the runner tests after every dispatch (test/helpers/harness.ts).
import t from 'tap';
import { checkInvariants } from '../../src/core/invariants.js';
import { initialState, type SupervisorState } from '../../src/core/state.js';

const fresh = (): SupervisorState =>
  initialState(0, [
    { kind: 'migrate', command: 'm' },
    { kind: 'before', command: 'b' },
  ]);
const fence = {
  since: 0,
  why: 'x',
  action: 'y',
  fencedBy: undefined,
  usedToken: undefined,
  attempts: 0,
  lastAttemptAt: undefined,
  handedTo: undefined,
};

t.test('a fresh state keeps them all', async (t) => {
  t.same(checkInvariants(fresh()), []);
  t.same(checkInvariants(fresh(), fresh()), []);
});

t.test('a fence implies phase fenced or stopping (or an exit)', async (t) => {
  const s = fresh();
  s.fence = fence;
  s.wake = { at: 60_000, why: 'fence-timeout' };
  s.phase = 'migrating';
  t.match(checkInvariants(s), [/fence set .* phase is migrating/]);
  for (const phase of ['fenced', 'stopping'] as const) {
    s.phase = phase;
    t.same(checkInvariants(s), [], phase);
  }
});

t.test('no app running while fenced', async (t) => {
  const s = fresh();
  s.fence = fence;
  s.wake = { at: 60_000, why: 'fence-timeout' };
  s.phase = 'fenced';
  s.app.status = 'running';
  t.match(checkInvariants(s), [/app running while fenced/]);
  s.app.status = 'stopping';
  t.same(checkInvariants(s), []);
});

t.test('at most one command running, and current names it', async (t) => {
  const s = fresh();
  s.phase = 'migrating';
  for (const c of s.commands) c.status = 'running';
  s.current = { index: 0, confirmToken: undefined, stopRequested: false };
  s.role = 'primary';
  t.same(checkInvariants(s), ['2 commands running: 0, 1']);
  const one = fresh();
  one.commands[1]!.status = 'running';
  t.match(checkInvariants(one), [/command 1 running but current is undefined/]);
  one.current = { index: 1, confirmToken: undefined, stopRequested: false };
  t.same(checkInvariants(one), []);
  one.current = { index: 7, confirmToken: undefined, stopRequested: false };
  t.match(checkInvariants(one).join(';'), /current points at no command \(7\)/);
});

t.test('exited implies phase stopping', async (t) => {
  const s = fresh();
  s.exited = 3;
  s.phase = 'migrating';
  t.match(checkInvariants(s), [/exited 3 but phase is migrating/]);
  s.phase = 'stopping';
  t.same(checkInvariants(s), []);
});

t.test('S1: a migration starts only on a primary', async (t) => {
  const prev = fresh();
  const next = fresh();
  next.commands[0]!.status = 'running';
  next.current = { index: 0, confirmToken: undefined, stopRequested: false };
  next.role = 'replica';
  t.match(checkInvariants(next, prev), [/migration 0 started with role replica/]);
  next.role = 'primary';
  t.same(checkInvariants(next, prev), []);
  // A --before command is not a migration: any role may run it.
  const before = fresh();
  before.commands[1]!.status = 'running';
  before.current = { index: 1, confirmToken: undefined, stopRequested: false };
  before.role = 'replica';
  t.same(checkInvariants(before, prev), []);
});

t.test('phase running implies the app runs', async (t) => {
  const s = fresh();
  s.phase = 'running';
  s.app.status = 'exited';
  t.match(checkInvariants(s), [/phase running but app is exited/]);
  s.app.status = 'running';
  t.same(checkInvariants(s), []);
});

t.test('a handover only with a shutdown; a backup pending or taken, not both', async (t) => {
  const s = fresh();
  s.handover = { since: 0, signal: 'SIGTERM', target: undefined, accepted: false, until: 1000 };
  s.wake = { at: 1000, why: 'handover-timeout' };
  t.match(checkInvariants(s), [/handover without a shutdown/]);
  s.shutdown = { signal: 'SIGTERM', exitCode: 143 };
  s.phase = 'stopping';
  t.same(checkInvariants(s), []);
  const b = fresh();
  b.backupsPending = ['a.db'];
  b.term.backedUp = ['a.db'];
  t.match(checkInvariants(b), [/a.db both pending and taken/]);
});

t.test(
  'one way to wait: a wait for a time has a wake, and a due deadline was acted on',
  async (t) => {
    const s = fresh();
    s.phase = 'restarting';
    s.app.status = 'exited';
    s.app.restartAt = 2000;
    t.match(checkInvariants(s), [/restart backoff ends at 2000 but the wake is none/]);
    s.wake = { at: 3000, why: 'sync-timeout' };
    t.match(checkInvariants(s), [/restart backoff ends at 2000 but the wake is sync-timeout/]);
    s.wake = { at: 2000, why: 'restart' };
    t.same(checkInvariants(s, undefined, 1000), []);
    t.match(checkInvariants(s, undefined, 2000), [
      /restart backoff ended at 2000 \(now 2000\) but the app was not restarted/,
      /wake \(restart\) at 2000 is not after the decision/,
    ]);
    s.app.restartAt = undefined;
    t.match(checkInvariants(s, undefined, 1000), [/restarting without a restart time/]);

    const f = fresh();
    f.phase = 'fenced';
    f.fence = fence;
    t.match(checkInvariants(f), [/fenced without a wake/]);
    f.wake = { at: 60_000, why: 'fence-timeout' };
    t.same(checkInvariants(f, undefined, 0), []);

    const h = fresh();
    h.phase = 'stopping';
    h.shutdown = { signal: 'SIGTERM', exitCode: 143 };
    h.handover = { since: 0, signal: 'SIGTERM', target: undefined, accepted: false, until: 1000 };
    t.match(checkInvariants(h, undefined, 500), [/handover ends at 1000 but the wake is none/]);
    h.wake = { at: 1000, why: 'handover-timeout' };
    t.same(checkInvariants(h, undefined, 500), []);
    t.match(checkInvariants(h, undefined, 1000), [
      /handover timed out at 1000 \(now 1000\) but goes on/,
      /wake \(handover-timeout\) at 1000 is not after the decision/,
    ]);

    const x = fresh();
    x.phase = 'stopping';
    x.exited = 3;
    x.wake = { at: 1000, why: 'migrate-retry' };
    t.match(checkInvariants(x), [/exited but wants a wake \(migrate-retry\)/]);
  },
);
