// decide, table by table: every rule in scope (S1, S3's bootstrap, S6, S10, S12) shown
// allowing and refusing, plus the waits, exits and restarts of docs/design.md sections 5 and 9.

import t from 'tap';
import { decide } from '../../src/core/decide/index.js';
import { type Action, initialState } from '../../src/core/state.js';
import { db, Sim, testConfig } from '../helpers/builders.js';

const runs = (list: Action[]) => list.filter((a) => a.type === 'run-command');

/** Bring a primary to the point where its first migration is running. */
function primaryMigrating(sim: Sim) {
  sim.see({ role: 'primary' });
  const token = sim.lastToken();
  sim.see({ role: 'primary' }, 10, token);
  return token;
}

t.test('S1 primary-only migrations', async (t) => {
  t.test(
    'allows: a primary runs each migration only after a fresh /info confirms it',
    async (t) => {
      const sim = new Sim(testConfig({ migrate: ['m1', 'm2'] }));
      const first = sim.see({ role: 'primary' });
      t.same(sim.types(first), ['observe'], 'asks for a fresh observation, runs nothing yet');
      t.equal(sim.state.phase, 'migrating');
      const token = sim.lastToken();
      t.same(runs(sim.see({ role: 'primary' }, 5)), [], 'an ordinary poll is not the confirmation');
      const confirmed = sim.see({ role: 'primary' }, 5, token);
      t.same(
        runs(confirmed).map((a) => a.type === 'run-command' && a.command),
        ['m1'],
      );
      sim.commandExit(0);
      t.same(runs(sim.actions).length, 1, 'm2 waits for its own confirmation');
      sim.see({ role: 'primary' }, 5, sim.lastToken());
      t.same(
        runs(sim.actions).map((a) => a.type === 'run-command' && a.command),
        ['m1', 'm2'],
      );
      sim.commandExit(1);
      t.ok(sim.state.migrationsDone);
      t.same(
        sim.types().filter((x) => x === 'start-app'),
        ['start-app'],
        'then the app starts',
      );
      t.ok(sim.events().includes('migrate.complete'));
    },
  );

  const refusals: [string, Parameters<Sim['see']>[0]][] = [
    ['a synced replica', { role: 'replica', lag: 0 }],
    ['an unsynced replica', { role: 'replica', lag: 'unsynced' }],
    [
      'an unknown role (no .primary and not primary: never inferred as primary)',
      { role: 'unknown' },
    ],
    ['LiteFS unreachable', { role: 'down' }],
  ];
  for (const [name, spec] of refusals) {
    t.test(`refuses: ${name} never migrates`, async (t) => {
      const sim = new Sim(testConfig());
      for (let i = 0; i < 5; i++) sim.see(spec, 1000);
      t.same(runs(sim.actions), []);
      t.notOk(
        sim.actions.some((a) => a.type === 'observe'),
        'not even a confirmation is asked',
      );
    });
  }

  t.test('refuses: the confirmation shows the lease moved', async (t) => {
    const sim = new Sim(testConfig());
    sim.see({ role: 'primary' });
    const token = sim.lastToken();
    const after = sim.see({ role: 'replica', lag: 0 }, 5, token);
    t.same(runs(after), []);
    t.ok(sim.events(after).includes('migrate.skip'));
    t.same(sim.types(after), ['start-app'], 'carries on as a synced replica');
    t.equal(sim.state.commands[0]?.status, 'pending');
  });

  t.test('refuses: a stale confirmation token does not count', async (t) => {
    const sim = new Sim(testConfig());
    sim.see({ role: 'primary' });
    const token = sim.lastToken()!;
    t.same(runs(sim.see({ role: 'primary' }, 5, token + 1)), []);
  });
});

t.test('S6 lease lost mid-migration', async (t) => {
  t.test('refuses to let it finish: the migration is stopped and recorded aborted', async (t) => {
    const sim = new Sim(testConfig());
    primaryMigrating(sim);
    const lost = sim.see({ role: 'replica', lag: 'unsynced' }, 100);
    t.same(
      lost.filter((a) => a.type === 'stop-command'),
      [{ type: 'stop-command', signal: 'SIGTERM' }],
    );
    t.ok(sim.events(lost).includes('migrate.abort'));
    t.same(
      sim.see({ role: 'replica', lag: 'unsynced' }, 100).filter((a) => a.type === 'stop-command'),
      [],
      'asked once',
    );
    sim.commandExit(0, 143, { signal: 'SIGTERM' });
    t.equal(sim.state.commands[0]?.status, 'aborted');
    t.equal(sim.state.phase, 'syncing', 're-decides as a replica');
    const synced = sim.see({ role: 'replica', lag: 5 }, 100);
    t.same(sim.types(synced), ['start-app'], 'and starts the app once synced');
    t.notOk(sim.state.shutdown);
  });

  t.test('also stops it when the role becomes unknown (the lease cannot be shown)', async (t) => {
    const sim = new Sim(testConfig());
    primaryMigrating(sim);
    t.same(sim.types(sim.see({ role: 'unknown' }, 100)), ['stop-command']);
  });

  t.test('allows: a primary that stays primary is not interrupted', async (t) => {
    const sim = new Sim(testConfig());
    primaryMigrating(sim);
    for (let i = 0; i < 5; i++) t.same(sim.types(sim.see({ role: 'primary' }, 1000)), []);
  });

  t.test('a lease change from /events stops it without waiting for a poll', async (t) => {
    const sim = new Sim(testConfig());
    primaryMigrating(sim);
    const out = sim.feed({
      type: 'litefs-event',
      event: { type: 'primaryChange', isPrimary: false, hostname: 'node-b' },
    });
    t.same(sim.types(out), ['stop-command']);
    t.equal(sim.state.role, 'replica');
  });
});

t.test('S3 bootstrap (the part in scope: an empty primary)', async (t) => {
  const empties: [string, ReturnType<typeof db>][] = [
    ['missing', db({ exists: false, txid: 'absent' })],
    ['zero bytes', db({ size: 0, txid: 'absent' })],
    ['no SQLite header', db({ header: false, txid: 0n })],
    ['TXID 0', db({ txid: 0n })],
  ];
  for (const [name, d] of empties) {
    t.test(
      `allows with --bootstrap auto (${name}): migrations get LITEFS_SUPERVISOR_BOOTSTRAP=1`,
      async (t) => {
        const sim = new Sim(testConfig());
        sim.see({ role: 'primary', dbs: [d] });
        const out = sim.see({ role: 'primary', dbs: [d] }, 5, sim.lastToken());
        const run = runs(out)[0];
        t.ok(run && run.type === 'run-command' && run.env.LITEFS_SUPERVISOR_BOOTSTRAP === '1');
      },
    );
    t.test(
      `refuses with --bootstrap never (${name}): fenced, nothing runs, exit 4 after --fence-timeout`,
      async (t) => {
        const sim = new Sim(testConfig({ bootstrap: 'never', fenceTimeout: 60_000 }));
        sim.see({ role: 'primary', dbs: [d] });
        t.equal(sim.state.phase, 'fenced');
        t.ok(sim.events().includes('fence.enter'));
        sim.see({ role: 'primary', dbs: [d] }, 30_000);
        t.same(sim.types(), [], 'no migration, no app, no exit yet');
        sim.see({ role: 'primary', dbs: [d] }, 30_000);
        t.same(sim.types(), ['exit']);
        t.equal(sim.state.exited, 4);
      },
    );
  }
  t.test(
    'an unreadable db is not empty: the primary waits, then goes on once it reads',
    async (t) => {
      const sim = new Sim(testConfig({ syncTimeout: 10_000 }));
      const broken = db({ exists: false, txid: 'absent', error: 'EIO: i/o error' });
      sim.see({ role: 'primary', dbs: [broken] });
      sim.see({ role: 'primary', dbs: [broken] }, 1000);
      t.equal(sim.state.phase, 'checking');
      t.same(sim.types(), [], 'no migration, no app');
      t.ok(sim.events().includes('primary.wait-db'));
      sim.see({ role: 'primary' }, 1000);
      t.equal(sim.state.phase, 'migrating');
      t.same(sim.types(), ['observe']);
    },
  );
  t.test('an unreadable db for longer than --sync-timeout exits 5', async (t) => {
    const sim = new Sim(testConfig({ syncTimeout: 10_000 }));
    const broken = db({ error: 'EIO' });
    sim.see({ role: 'primary', dbs: [broken] });
    sim.see({ role: 'primary', dbs: [broken] }, 10_000);
    t.equal(sim.state.exited, 5);
  });
  t.test('a non-empty primary is not a bootstrap', async (t) => {
    const sim = new Sim(testConfig());
    primaryMigrating(sim);
    const run = runs(sim.actions)[0];
    t.ok(run && run.type === 'run-command' && run.env.LITEFS_SUPERVISOR_BOOTSTRAP === undefined);
  });
  t.test('standalone: an empty file is a new database, never fenced', async (t) => {
    const sim = new Sim(testConfig({ standalone: true, bootstrap: 'never' }));
    sim.see({ role: 'primary', dbs: [db({ exists: false, txid: 'absent' })] });
    t.equal(sim.state.phase, 'migrating');
  });
});

t.test('syncing: a replica starts the app only once synced', async (t) => {
  const cases: [string, Parameters<Sim['see']>[0], boolean][] = [
    ['lag within --max-lag', { role: 'replica', lag: 9_999 }, true],
    ['lag at --max-lag', { role: 'replica', lag: 10_000 }, true],
    ['lag above --max-lag', { role: 'replica', lag: 10_001 }, false],
    ['initial replication not finished', { role: 'replica', lag: 'unsynced' }, false],
    [
      'no .lag (older LiteFS), TXID replicated',
      { role: 'replica', lag: 'absent', dbs: [db({ txid: 7n })] },
      true,
    ],
    ['no .lag, TXID 0', { role: 'replica', lag: 'absent', dbs: [db({ txid: 0n })] }, false],
    ['no .lag, no -pos', { role: 'replica', lag: 'absent', dbs: [db({ txid: 'absent' })] }, false],
  ];
  for (const [name, spec, starts] of cases) {
    t.test(name, async (t) => {
      const sim = new Sim(testConfig());
      const out = sim.see(spec);
      t.same(sim.types(out), starts ? ['start-app'] : []);
      t.equal(sim.state.phase, starts ? 'starting-app' : 'syncing');
      t.same(runs(sim.actions), [], 'a replica never migrates');
    });
  }
  t.test('syncing then synced logs sync.wait then sync.done', async (t) => {
    const sim = new Sim(testConfig());
    sim.see({ role: 'replica', lag: 'unsynced' });
    sim.see({ role: 'replica', lag: 'unsynced' }, 1000);
    sim.see({ role: 'replica', lag: 3 }, 1000);
    t.same(
      sim.events().filter((e) => e.startsWith('sync.')),
      ['sync.wait', 'sync.done'],
    );
  });
});

t.test('waiting and --sync-timeout (exit 5)', async (t) => {
  const waits: [string, Parameters<Sim['see']>[0], string][] = [
    ['LiteFS unreachable', { role: 'down' }, 'waiting-for-litefs'],
    ['no primary known', { role: 'unknown' }, 'waiting-for-primary'],
    ['replica not synced', { role: 'replica', lag: 'unsynced' }, 'syncing'],
  ];
  for (const [name, spec, phase] of waits) {
    t.test(name, async (t) => {
      const sim = new Sim(testConfig({ syncTimeout: 10_000 }));
      sim.see(spec);
      t.equal(sim.state.phase, phase);
      sim.see(spec, 9_999);
      t.equal(sim.state.exited, undefined, 'still waiting before the timeout');
      sim.see(spec, 1);
      t.equal(sim.state.exited, 5);
      t.ok(sim.events().includes('sync.timeout'));
    });
  }
  t.test('the timeout covers the whole wait, across waiting states', async (t) => {
    const sim = new Sim(testConfig({ syncTimeout: 10_000 }));
    sim.see({ role: 'down' });
    sim.see({ role: 'unknown' }, 6_000);
    sim.see({ role: 'replica', lag: 'unsynced' }, 4_000);
    t.equal(sim.state.exited, 5);
  });
  t.test('0 waits forever', async (t) => {
    const sim = new Sim(testConfig({ syncTimeout: 0 }));
    for (let i = 0; i < 10; i++) sim.see({ role: 'down' }, 3_600_000);
    t.equal(sim.state.exited, undefined);
  });
  t.test('unreachable then reachable carries on', async (t) => {
    const sim = new Sim(testConfig());
    sim.see({ role: 'down' });
    sim.see({ role: 'down' }, 1000);
    sim.see({ role: 'replica', lag: 1 }, 1000);
    t.same(sim.types(), ['start-app']);
    t.same(
      sim.events().filter((e) => e === 'litefs.unreachable' || e === 'litefs.connected'),
      ['litefs.unreachable', 'litefs.connected'],
    );
  });
});

t.test('failed commands exit 3 and never start the app', async (t) => {
  const results = [
    { name: 'non-zero exit', exitCode: 1, timedOut: false, spawnError: undefined },
    { name: 'timeout', exitCode: 143, timedOut: true, spawnError: undefined },
    { name: 'could not spawn', exitCode: 127, timedOut: false, spawnError: 'ENOENT' },
  ];
  for (const r of results) {
    t.test(`--migrate: ${r.name}`, async (t) => {
      // No retries: the give-up path at once (retries: test/core/decide-retry.test.ts).
      const sim = new Sim(testConfig({ migrate: ['m1', 'm2'], migrateRetries: 0 }));
      primaryMigrating(sim);
      sim.feed({ type: 'command-exit', index: 0, signal: undefined, durationMs: 1, ...r });
      t.equal(sim.state.exited, 3);
      t.notOk(sim.types().includes('start-app'));
      t.equal(runs(sim.actions).length, 1, 'm2 never runs');
      t.ok(sim.events().includes('migrate.fail'));
    });
  }
  t.test('--before on a replica', async (t) => {
    const sim = new Sim(testConfig({ before: ['b1'] }));
    const out = sim.see({ role: 'replica', lag: 0 });
    t.same(
      runs(out).map((a) => a.type === 'run-command' && a.kind),
      ['before'],
    );
    sim.commandExit(1, 2);
    t.equal(sim.state.exited, 3);
    t.notOk(sim.types().includes('start-app'));
  });
  t.test('--before runs after the migrations on a primary', async (t) => {
    const sim = new Sim(testConfig({ before: ['b1'] }));
    primaryMigrating(sim);
    sim.commandExit(0);
    sim.commandExit(1);
    t.same(
      runs(sim.actions).map((a) => a.type === 'run-command' && a.command),
      ['npx prisma migrate deploy', 'b1'],
    );
    t.equal(sim.types().at(-1), 'start-app');
  });
});

t.test('S10 signals', async (t) => {
  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    t.test(
      `${signal} during a migration is forwarded; the app never starts; exit ${code}`,
      async (t) => {
        const sim = new Sim(testConfig());
        primaryMigrating(sim);
        const out = sim.feed({ type: 'signal', signal });
        t.same(
          out.filter((a) => a.type === 'stop-command'),
          [{ type: 'stop-command', signal }],
        );
        sim.commandExit(0);
        t.equal(sim.state.exited, code, 'even when the command then succeeds');
        t.notOk(sim.types().includes('start-app'));
      },
    );
    t.test(`${signal} while waiting exits ${code} at once`, async (t) => {
      const sim = new Sim(testConfig());
      sim.see({ role: 'replica', lag: 'unsynced' });
      sim.feed({ type: 'signal', signal });
      t.equal(sim.state.exited, code);
    });
    t.test(
      `${signal} with the app running is forwarded; the app's code is the exit code`,
      async (t) => {
        const sim = new Sim(testConfig());
        sim.see({ role: 'replica', lag: 0 });
        sim.feed({ type: 'app-started', pid: 42 });
        const out = sim.feed({ type: 'signal', signal });
        t.same(
          out.filter((a) => a.type === 'stop-app'),
          [{ type: 'stop-app', signal }],
        );
        t.equal(sim.state.exited, undefined, 'waits for the app');
        sim.feed({ type: 'app-exit', exitCode: code, signal });
        t.equal(sim.state.exited, code);
      },
    );
  }
  t.test(
    'the app exiting 0 after SIGTERM exits 0; exiting 1 exits 1 (never turned into 0)',
    async (t) => {
      for (const exitCode of [0, 1]) {
        const sim = new Sim(testConfig({ restart: 'always' }));
        sim.see({ role: 'replica', lag: 0 });
        sim.feed({ type: 'app-started', pid: 42 });
        sim.feed({ type: 'signal', signal: 'SIGTERM' });
        sim.feed({ type: 'app-exit', exitCode, signal: undefined });
        t.equal(sim.state.exited, exitCode, 'a stop we asked for is never restarted');
        t.equal(sim.state.app.restartAt, undefined, 'no restart');
      }
    },
  );
  t.test('SIGTERM while the app is being spawned reaches it once it exists', async (t) => {
    const sim = new Sim(testConfig());
    sim.see({ role: 'replica', lag: 0 });
    sim.feed({ type: 'signal', signal: 'SIGTERM' });
    t.notOk(sim.types().includes('stop-app'));
    const out = sim.feed({ type: 'app-started', pid: 7 });
    t.same(sim.types(out), ['stop-app']);
  });
  t.test('SIGHUP and SIGUSR1 are forwarded to a running app without stopping', async (t) => {
    const sim = new Sim(testConfig());
    sim.see({ role: 'replica', lag: 0 });
    sim.feed({ type: 'app-started', pid: 42 });
    for (const signal of ['SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGQUIT']) {
      t.same(
        sim.feed({ type: 'signal', signal }).filter((a) => a.type !== 'log'),
        [{ type: 'signal-app', signal }],
      );
    }
    t.equal(sim.state.shutdown, undefined);
  });
  t.test('SIGUSR1 with no app is ignored; SIGHUP with no app stops', async (t) => {
    const sim = new Sim(testConfig());
    sim.see({ role: 'unknown' });
    sim.feed({ type: 'signal', signal: 'SIGUSR1' });
    t.equal(sim.state.exited, undefined);
    sim.feed({ type: 'signal', signal: 'SIGHUP' });
    t.equal(sim.state.exited, 129);
  });
});

t.test('app exit and the restart policy', async (t) => {
  t.test('--restart never: the app code passes through', async (t) => {
    for (const code of [0, 1, 42, 137]) {
      const sim = new Sim(testConfig());
      sim.see({ role: 'replica', lag: 0 });
      sim.feed({ type: 'app-started', pid: 1 });
      sim.feed({ type: 'app-exit', exitCode: code, signal: undefined });
      t.equal(sim.state.exited, code);
    }
  });
  t.test('--restart on-failure restarts after backoff, not after 0', async (t) => {
    const sim = new Sim(testConfig({ restart: 'on-failure' }));
    sim.see({ role: 'replica', lag: 0 });
    sim.feed({ type: 'app-started', pid: 1 });
    const out = sim.feed({ type: 'app-exit', exitCode: 1, signal: undefined }, 10);
    t.same(sim.types(out), []);
    t.same(sim.state.wake, { at: sim.now + 1000, why: 'restart' });
    t.equal(sim.state.phase, 'restarting');
    t.same(sim.types(sim.feed({ type: 'wake' }, 1000)), ['start-app']);
    sim.feed({ type: 'app-started', pid: 2 });
    t.equal(sim.state.app.restarts, 1);
    sim.feed({ type: 'app-exit', exitCode: 0, signal: undefined });
    t.equal(sim.state.exited, 0);
  });
  t.test('app that cannot be started: 126/127', async (t) => {
    for (const code of [126, 127]) {
      const sim = new Sim(testConfig({ restart: 'always' }));
      sim.see({ role: 'replica', lag: 0 });
      sim.feed({ type: 'app-spawn-failed', exitCode: code, error: 'nope' });
      t.equal(sim.state.exited, code);
    }
  });
  t.test('a role change to unknown while the app runs does not restart or stop it', async (t) => {
    const sim = new Sim(testConfig());
    sim.see({ role: 'replica', lag: 0 });
    sim.feed({ type: 'app-started', pid: 1 });
    sim.see({ role: 'unknown' }, 1000);
    sim.see({ role: 'replica', lag: 0, primary: 'node-b' }, 1000);
    t.same(sim.types(), ['start-app']);
    t.ok(sim.events().includes('role.change'));
    t.equal(sim.state.phase, 'running');
  });
});

t.test('S12 decide never asks to write to LiteFS', async (t) => {
  // Every action decide can emit in these runs is one of these; none writes to the mount,
  // the data dir or a LiteFS write route (promote/handoff/import belong to later rules).
  const allowed = new Set([
    'log',
    'observe',
    'run-command',
    'stop-command',
    'start-app',
    'signal-app',
    'stop-app',
    'exit',
  ]);
  const sim = new Sim(testConfig({ before: ['b'] }));
  primaryMigrating(sim);
  sim.see({ role: 'replica', lag: 1 }, 10);
  sim.commandExit(0, 143, { signal: 'SIGTERM' });
  sim.see({ role: 'replica', lag: 1 }, 10);
  sim.commandExit(1);
  sim.feed({ type: 'app-started', pid: 1 });
  sim.feed({ type: 'signal', signal: 'SIGTERM' });
  sim.feed({ type: 'app-exit', exitCode: 0, signal: undefined });
  t.ok(sim.actions.length > 10);
  t.same(
    sim.actions.filter((a) => !allowed.has(a.type)),
    [],
  );
});

t.test('transitions are recorded with a reason and kept to 50', async (t) => {
  const sim = new Sim(testConfig({ syncTimeout: 0 }));
  for (let i = 0; i < 40; i++) {
    sim.see({ role: 'down' }, 10);
    sim.see({ role: 'unknown' }, 10);
  }
  t.equal(sim.state.transitions.length, 50);
  t.ok(sim.state.transitions.every((tr) => tr.reason.length > 0 && tr.from !== tr.to));
});

t.test('nothing happens after exit', async (t) => {
  const state = { ...initialState(0, []), exited: 3 };
  const r = decide(state, { type: 'signal', signal: 'SIGTERM' }, testConfig(), 1);
  t.same(r.actions, []);
  t.equal(r.state, state);
});
