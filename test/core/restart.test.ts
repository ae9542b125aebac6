// The restart policy as pure functions (docs/design.md section 6, --restart): the backoff sequence
// from --restart-delay (1 s, 2 s, 4 s ... by default) capped at 30 s, and the verdict for never/on-failure/always with at most
// --restart-max restarts in a sliding 10-minute window. Then, through decide, what happens when
// the backoff is over and the node's role changed meanwhile.

import t from 'tap';
import type { RestartPolicy } from '../../src/config/types.js';
import { RESTART_WINDOW_MS, restartDelayMs, restartVerdict } from '../../src/core/restart.js';
import { db, Sim, testConfig } from '../helpers/builders.js';

const MIN = 60_000;

/** The restart options as the table's defaults give them, with a policy and a budget. */
const rp = (
  restart: RestartPolicy,
  restartMax: number,
  restartDelay = testConfig().restartDelay,
) => ({
  restart,
  restartMax,
  restartDelay,
});

t.test('the backoff doubles from 1 s and stops at 30 s', async (t) => {
  const delays = Array.from({ length: 10 }, (_, n) => restartDelayMs(n, 1000));
  t.same(delays, [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000, 30_000]);
  t.equal(
    restartDelayMs(1e6, 1000),
    30_000,
    'no overflow for a long crash loop (2 ** n is Infinity)',
  );
  t.equal(restartDelayMs(-1, 1000), 1000, 'never below the first delay');
  t.equal(RESTART_WINDOW_MS, 10 * MIN);
});

t.test('--restart-delay sets the first wait; the doubling and the 30 s cap stay', async (t) => {
  t.equal(testConfig().restartDelay, 1000, 'the default is 1 s');
  t.same(
    Array.from({ length: 6 }, (_, n) => restartDelayMs(n, 5000)),
    [5000, 10_000, 20_000, 30_000, 30_000, 30_000],
  );
  t.same(
    Array.from({ length: 3 }, (_, n) => restartDelayMs(n, 45_000)),
    [45_000, 45_000, 45_000],
    'a first delay above 30 s is kept, not cut to 30 s',
  );
  t.same(
    Array.from({ length: 3 }, (_, n) => restartDelayMs(n, 0)),
    [0, 0, 0],
    '0: at once every time',
  );
  const v = restartVerdict(rp('on-failure', 5, 250), 1, [], 0);
  t.match(v, { restart: true, delayMs: 250 });
});

t.test('through decide: the backoff ends when --restart-delay says, by the one wake', async (t) => {
  for (const restartDelay of [250, 5000, 0]) {
    const sim = new Sim(testConfig({ restart: 'always', restartDelay, migrate: [] }));
    sim.see({ role: 'replica', lag: 0, dbs: [db({ txid: 100n })] });
    sim.feed({ type: 'app-started', pid: 1 });
    sim.feed({ type: 'app-exit', exitCode: 1, signal: undefined }, 100);
    if (restartDelay === 0) {
      t.equal(sim.state.app.status, 'starting', '0: started again in the same decision');
      continue;
    }
    t.equal(sim.state.phase, 'restarting');
    t.equal(sim.state.app.restartAt, sim.now + restartDelay, `restart at +${restartDelay} ms`);
    t.same(sim.state.wake?.at, sim.state.app.restartAt, 'the wake is set for it');
    t.notOk(
      sim.types(sim.feed({ type: 'wake' }, restartDelay - 1)).includes('start-app'),
      'not early',
    );
    t.ok(sim.types(sim.feed({ type: 'wake' }, 1)).includes('start-app'), 'and then it starts');
  }
});

t.test('never, on-failure, always, by exit code', async (t) => {
  const rows: [RestartPolicy, number, boolean][] = [
    ['never', 0, false],
    ['never', 1, false],
    ['never', 137, false],
    ['on-failure', 0, false],
    ['on-failure', 1, true],
    ['on-failure', 2, true],
    ['on-failure', 137, true], // SIGKILLed by someone else (the OOM killer): a failure
    ['on-failure', 255, true],
    ['always', 0, true],
    ['always', 1, true],
    ['always', 143, true],
  ];
  for (const [policy, code, restart] of rows) {
    const v = restartVerdict(rp(policy, 5), code, [], 0);
    t.equal(v.restart, restart, `${policy}, exit ${code}`);
    if (v.restart) t.equal(v.delayMs, 1000, 'the first restart waits 1 s');
    else t.match(v.why, policy === 'never' ? /never/ : /exited 0/);
  }
});

t.test('--restart-max restarts in 10 minutes, then no more', async (t) => {
  const now = 5 * MIN;
  const times = [0, 1000, 3000, 7000, 15_000];
  for (let n = 0; n < times.length; n++) {
    const v = restartVerdict(rp('always', 5), 1, times.slice(0, n), now);
    t.ok(v.restart, `${n} recent restarts: restart`);
    if (v.restart) {
      t.equal(v.delayMs, restartDelayMs(n, 1000), `delay ${restartDelayMs(n, 1000)} ms after ${n}`);
      t.same(v.recentRestarts, times.slice(0, n));
    }
  }
  const full = restartVerdict(rp('on-failure', 5), 3, times, now);
  t.equal(full.restart, false, 'the 6th exit within the window is not restarted');
  if (!full.restart) t.match(full.why, /5 restarts in the last 10 minutes reached --restart-max 5/);
  t.equal(restartVerdict(rp('always', 0), 1, [], now).restart, false, '--restart-max 0: never');
  t.equal(restartVerdict(rp('always', 1), 1, [now - 1], now).restart, false);
});

t.test('restarts older than 10 minutes fall out of the window', async (t) => {
  const now = 60 * MIN;
  const edge = now - RESTART_WINDOW_MS;
  // Exactly 10 minutes old is out; one millisecond younger is in.
  const v = restartVerdict(rp('always', 2), 1, [edge - 5000, edge, edge + 1], now);
  t.ok(v.restart);
  if (v.restart) {
    t.same(v.recentRestarts, [edge + 1], 'only the restart inside the window is kept');
    t.equal(v.delayMs, 2000, 'and the backoff counts only it');
  }
  t.equal(restartVerdict(rp('always', 2), 1, [edge + 1, edge + 2], now).restart, false);
  const quiet = restartVerdict(rp('always', 5), 1, [0, 1000, 3000, 7000, 15_000], 20 * MIN);
  t.ok(quiet.restart, 'after a quiet 10 minutes the budget is back');
  if (quiet.restart) t.equal(quiet.delayMs, 1000, 'and the backoff starts again at 1 s');
});

t.test('a crash loop, replayed with the verdict alone', async (t) => {
  // The app crashes the moment it starts: what the runner would schedule, restart by restart.
  for (const [restartMax, expected] of [
    [5, [1000, 2000, 4000, 8000, 16_000]],
    [8, [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]],
  ] as const) {
    let now = 0;
    let times: number[] = [];
    const delays: number[] = [];
    for (;;) {
      const v = restartVerdict(rp('on-failure', restartMax), 1, times, now);
      if (!v.restart) break;
      delays.push(v.delayMs);
      now += v.delayMs;
      times = [...v.recentRestarts, now];
    }
    t.same(delays, expected, `--restart-max ${restartMax}`);
  }
});

// decide, when the backoff timer fires. A replica's app crashed; during its backoff LiteFS
// made this node primary. Restarting the app at once would run it as primary on a database
// that S2/S3 never checked (it used to, until S7 noticed on app-started and stopped it).
t.test('the backoff is over: a node that became primary meanwhile is checked first', async (t) => {
  const crashedReplica = () => {
    const sim = new Sim(testConfig({ restart: 'always', migrate: ['node migrate.js'] }));
    sim.loadHwm({ 'sqlite.db': 100n });
    sim.see({ role: 'replica', lag: 0, dbs: [db({ txid: 100n })] });
    sim.feed({ type: 'app-started', pid: 1 });
    sim.feed({ type: 'app-exit', exitCode: 1, signal: undefined });
    if (sim.state.phase !== 'restarting') throw new Error(sim.state.phase);
    return sim;
  };

  t.test('still a replica: restarted at once', async (t) => {
    const sim = crashedReplica();
    sim.see({ role: 'replica', lag: 0, dbs: [db({ txid: 100n })] }, 500);
    t.same(sim.types(sim.feed({ type: 'wake' }, 500)), ['start-app']);
    t.equal(sim.state.app.restarts, 1);
  });

  t.test('primary and behind its high-water mark (S2): fenced, the app not started', async (t) => {
    const sim = crashedReplica();
    t.same(sim.types(sim.see({ role: 'primary', dbs: [db({ txid: 50n })] }, 500)), []);
    const out = sim.feed({ type: 'wake' }, 500);
    t.notOk(sim.types(out).includes('start-app'), 'the app is not started');
    t.equal(sim.state.phase, 'fenced');
    t.ok(sim.state.fence);
    t.same(sim.events(out).slice(0, 2), ['primary.check', 'fence.enter']);
    t.equal(sim.state.app.restarts, 1, 'the attempt still counts against --restart-max');
  });

  t.test('primary and not behind: migrations (S1) before the app', async (t) => {
    const sim = crashedReplica();
    sim.see({ role: 'primary', dbs: [db({ txid: 100n })] }, 500);
    const out = sim.feed({ type: 'wake' }, 500);
    t.same(sim.types(out), ['observe'], 'only the S1 confirmation is asked for');
    t.same(sim.events(out), ['primary.check', 'primary.cleared', 'migrate.confirm']);
    sim.see({ role: 'primary', dbs: [db({ txid: 100n })] }, 10, sim.lastToken());
    t.equal(sim.last('run-command')?.command, 'node migrate.js');
    // The actions since the wake (the backoff's schedule-restart no longer sits before them).
    t.notOk(sim.types().slice(-2).includes('start-app'));
    sim.feed({ type: 'command-started', index: 0, pid: 9 });
    const after = sim.feed(
      {
        type: 'command-exit',
        index: 0,
        exitCode: 0,
        signal: undefined,
        timedOut: false,
        spawnError: undefined,
        durationMs: 5,
      },
      5,
    );
    t.same(sim.types(after), ['start-app'], 'then the app starts, as primary');
    t.match(sim.state.reason, /starting the app as primary/);
    t.equal(sim.state.app.restarts, 1);
  });
});
