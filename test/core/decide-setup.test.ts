// --setup (docs/design.md section 6): every node runs its --setup commands one at a time when
// the supervisor starts, before anything else: before waiting for LiteFS or a primary, before a
// migration, a --before command or the app. A failure ends the run with exit 3.
import t from 'tap';
import type { Action } from '../../src/core/state.js';
import { Sim, testConfig } from '../helpers/builders.js';

const runs = (list: Action[]) =>
  list.flatMap((a) => (a.type === 'run-command' ? [`${a.kind}:${a.command}`] : []));

t.test('allows: the setup commands run first, in order, then the usual path', async (t) => {
  for (const role of ['primary', 'replica'] as const) {
    t.test(role, async (t) => {
      const sim = new Sim(testConfig({ setup: ['s1', 's2'], before: ['b1'] }));
      // Indices: s1 0, s2 1, migration 2, b1 3.
      t.same(runs(sim.see({ role })), ['setup:s1'], 'the first input starts s1');
      t.equal(sim.state.phase, 'starting');
      t.match(sim.state.reason, /--setup command 1/);
      t.same(runs(sim.see({ role }, 10)), [], 'one at a time: s1 still runs');
      t.same(runs(sim.commandExit(0)), ['setup:s2'], 's2 after s1');
      sim.commandExit(1);
      if (role === 'primary') {
        t.ok(sim.lastToken(), 'then the migration is confirmed (S1)');
        sim.see({ role }, 10, sim.lastToken());
        t.same(runs(sim.actions).at(-1), 'migrate:npx prisma migrate deploy');
        sim.commandExit(2);
      } else {
        sim.see({ role }, 10);
      }
      t.same(runs(sim.actions).at(-1), 'before:b1', '--before after the setup');
      sim.commandExit(3);
      t.equal(sim.types().at(-1), 'start-app');
      t.same(
        sim.events().filter((e) => e.startsWith('setup.')),
        ['setup.begin', 'setup.start', 'setup.done', 'setup.begin', 'setup.start', 'setup.done'],
      );
    });
  }

  t.test('before the first observation, and whatever LiteFS shows meanwhile', async (t) => {
    const sim = new Sim(testConfig({ setup: ['s1'] }));
    t.same(runs(sim.loadHwm({ 'sqlite.db': 5n })), ['setup:s1'], 'the state file is enough');
    sim.see({ role: 'down' }, 10);
    sim.see({ role: 'unknown' }, 10);
    t.equal(sim.state.waitingSince, undefined, 'no wait for LiteFS has begun');
    t.equal(sim.state.phase, 'starting');
    t.notOk(sim.types().includes('observe'), 'no migration is confirmed meanwhile');
  });

  t.test('--standalone: setup, then the migrations', async (t) => {
    const sim = new Sim(testConfig({ setup: ['s1'], standalone: true }));
    t.same(runs(sim.see({ role: 'primary' })), ['setup:s1']);
    sim.commandExit(0);
    t.ok(sim.lastToken(), 'then the migration');
  });
});

t.test('refuses: nothing else while a setup command runs', async (t) => {
  const sim = new Sim(testConfig({ setup: ['s1'], syncTimeout: 10_000 }));
  sim.see({ role: 'primary' });
  for (let i = 0; i < 5; i++) sim.see({ role: 'primary' }, 5000);
  t.same(runs(sim.actions), ['setup:s1'], 'no migration while it runs');
  t.notOk(sim.types().includes('start-app'), 'no app');
  t.equal(sim.state.exited, undefined, 'its time does not count against --sync-timeout');
  t.notOk(sim.types().includes('observe'));

  t.test('the wait for LiteFS begins after it', async (t) => {
    const s = new Sim(testConfig({ setup: ['s1'], syncTimeout: 10_000 }));
    s.see({ role: 'down' });
    s.see({ role: 'down' }, 20_000);
    s.commandExit(0);
    t.equal(s.state.phase, 'waiting-for-litefs');
    s.see({ role: 'down' }, 5000);
    t.equal(s.state.exited, undefined, '5 s of waiting is within --sync-timeout');
    s.see({ role: 'down' }, 6000);
    t.equal(s.state.exited, 5, 'then it ends as any wait does');
  });
});

t.test('a failed setup command exits 3; nothing after it runs', async (t) => {
  for (const r of [
    { name: 'non-zero exit', exitCode: 1, timedOut: false, spawnError: undefined },
    { name: 'timeout', exitCode: 143, timedOut: true, spawnError: undefined },
    { name: 'could not spawn', exitCode: 127, timedOut: false, spawnError: 'ENOENT' },
  ]) {
    t.test(r.name, async (t) => {
      const sim = new Sim(testConfig({ setup: ['s1', 's2'], migrateRetries: 3 }));
      sim.see({ role: 'primary' });
      sim.feed({ type: 'command-exit', index: 0, signal: undefined, durationMs: 1, ...r });
      t.equal(sim.state.exited, 3);
      t.same(runs(sim.actions), ['setup:s1'], 's2 and the migration never run (no retries)');
      t.notOk(sim.types().includes('start-app'));
      t.ok(sim.events().includes('setup.fail'));
    });
  }
});

t.test('S10: a stop signal during a setup command', async (t) => {
  const sim = new Sim(testConfig({ setup: ['s1'] }));
  sim.see({ role: 'replica', lag: 0 });
  const out = sim.feed({ type: 'signal', signal: 'SIGTERM' });
  t.same(
    out.filter((a) => a.type === 'stop-command'),
    [{ type: 'stop-command', signal: 'SIGTERM' }],
    'forwarded to the command',
  );
  sim.commandExit(0, 143, { signal: 'SIGTERM' });
  t.equal(sim.state.exited, 143);
  t.ok(sim.events().includes('setup.stopped'));
  t.notOk(sim.types().includes('start-app'));
});

t.test('no --setup: the first input goes on as before', async (t) => {
  const sim = new Sim(testConfig());
  sim.see({ role: 'primary' });
  t.ok(sim.lastToken(), 'the migration is confirmed at once');
  t.notOk(sim.events().some((e) => e.startsWith('setup.')));
});
