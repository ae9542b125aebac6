// checkInvariants (src/core/invariants.ts): each invariant holds on a sound state and is
// reported on a state that breaks it. The decide tests run it after every decision (Sim.feed in
// test/helpers/builders.ts), the runner tests after every dispatch (test/helpers/harness.ts).
import t from 'tap';
import { checkInvariants } from '../../src/core/invariants.js';
import { initialState, type SupervisorState } from '../../src/core/state.js';
import { testConfig } from '../helpers/builders.js';

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
  'one way to wait: every wait that applies is covered by the wake, and a due one was acted on',
  async (t) => {
    const config = testConfig();
    const s = fresh();
    s.phase = 'restarting';
    s.app.status = 'exited';
    s.app.restartAt = 2000;
    t.match(checkInvariants(s, undefined, 1000, config), [
      /restart ends at 2000 but the wake is none/,
    ]);
    s.wake = { at: 3000, why: 'sync-timeout' };
    t.match(checkInvariants(s, undefined, 1000, config), [
      /restart ends at 2000 but the wake is sync-timeout at 3000/,
    ]);
    s.wake = { at: 2000, why: 'restart' };
    t.same(checkInvariants(s, undefined, 1000, config), []);
    t.match(checkInvariants(s, undefined, 2000, config), [
      /wake \(restart\) at 2000 is not after the decision/,
      /restart ended at 2000 \(now 2000\) but its step did not act/,
    ]);
    s.app.restartAt = undefined;
    t.match(checkInvariants(s, undefined, 1000, config), [/restarting without a restart time/]);

    const f = fresh();
    f.phase = 'fenced';
    f.fence = fence;
    t.match(checkInvariants(f), [/fenced without a wake/]);
    f.wake = { at: 60_000, why: 'fence-timeout' };
    t.same(checkInvariants(f, undefined, 0, testConfig({ fenceTimeout: 60_000 })), []);

    const h = fresh();
    h.phase = 'stopping';
    h.shutdown = { signal: 'SIGTERM', exitCode: 143 };
    h.handover = { since: 0, signal: 'SIGTERM', target: undefined, accepted: false, until: 1000 };
    t.match(checkInvariants(h, undefined, 500, config), [
      /handover-timeout ends at 1000 but the wake is none/,
    ]);
    h.wake = { at: 1000, why: 'handover-timeout' };
    t.same(checkInvariants(h, undefined, 500, config), []);
    t.match(checkInvariants(h, undefined, 1000, config), [
      /wake \(handover-timeout\) at 1000 is not after the decision/,
      /handover-timeout ended at 1000 \(now 1000\) but its step did not act/,
    ]);

    const x = fresh();
    x.phase = 'stopping';
    x.exited = 3;
    x.wake = { at: 1000, why: 'migrate-retry' };
    t.match(checkInvariants(x), [/exited but wants a wake \(migrate-retry\)/]);
  },
);

t.test(
  'a step and its declared deadline that disagree are caught after the decision',
  async (t) => {
    // A cleared primary whose failed migration's next try was due: a step that waited for a
    // later time than WAITS['migrate-retry'] declares (or not at all) leaves it due and unacted.
    const config = testConfig();
    const s = fresh();
    s.role = 'primary';
    s.phase = 'migrating';
    s.term.cleared = true;
    const cmd = s.commands[0]!;
    cmd.status = 'failed';
    cmd.failures = 1;
    cmd.retryAt = 5000;
    s.wake = { at: 5000, why: 'migrate-retry' };
    t.same(checkInvariants(s, undefined, 4000, config), [], 'before it: covered by the wake');
    s.wake = undefined;
    t.match(checkInvariants(s, undefined, 6000, config), [
      /migrate-retry ended at 5000 \(now 6000\) but its step did not act/,
    ]);
    s.current = { index: 0, confirmToken: 9, stopRequested: false };
    t.same(checkInvariants(s, undefined, 6000, config), [], 'acted: confirming the role (S1)');
  },
);

t.test('--setup first: nothing else starts before every --setup command succeeded', async (t) => {
  const s = initialState(0, [
    { kind: 'setup', command: 's' },
    { kind: 'migrate', command: 'm' },
    { kind: 'before', command: 'b' },
  ]);
  t.same(checkInvariants(s), [], 'all pending');
  s.commands[0]!.status = 'running';
  s.current = { index: 0, confirmToken: undefined, stopRequested: false };
  t.same(checkInvariants(s), [], 'the setup command runs');
  s.commands[1]!.status = 'running';
  s.commands[0]!.status = 'failed';
  s.current = { index: 1, confirmToken: undefined, stopRequested: false };
  s.role = 'primary';
  t.match(checkInvariants(s), [/--migrate command 1 started before --setup command 0 succeeded/]);
  s.commands[1]!.status = 'pending';
  s.current = undefined;
  s.app.status = 'starting';
  t.match(checkInvariants(s), [/app starting before --setup command 0 succeeded/]);
  s.commands[0]!.status = 'done';
  t.same(checkInvariants(s), [], 'once it succeeded');
});
