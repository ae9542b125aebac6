// The restart policy through the runner (src/supervisor.ts) on a virtual clock: the backoff
// timers are set with exactly the delays 1 s, 2 s, 4 s ... 30 s, the app starts again only when its
// timer fires, --restart-max restarts in 10 minutes end the run with the app's code, a stop
// signal during backoff ends it with 128+N, and a stop we asked for is never restarted.

import t from 'tap';
import { obs } from './helpers/builders.js';
import { Harness, settle } from './helpers/harness.js';

// Polls every hour: no poll timer fires in these tests, and none can be mistaken for a
// backoff timer (the backoff never exceeds 30 s).
const POLL = 3_600_000;
/** docs/design.md section 6: exponential backoff from 1 s, capped at 30 s. */
const BACKOFF = [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000];

/** A supervisor whose app runs (replica, nothing to migrate). */
async function running(over: ConstructorParameters<typeof Harness>[0]) {
  const h = new Harness({ migrate: [], pollInterval: POLL, ...over });
  const { sup, done } = await h.supervisor();
  h.observations[0]!.answer(obs({ role: 'replica', lag: 0 }));
  await settle();
  if (h.apps.length !== 1 || sup.current.phase !== 'running') {
    throw new Error(`the app did not start: ${sup.current.phase} ${sup.current.reason}`);
  }
  let exited: number | undefined;
  void done.then((code) => {
    exited = code;
  });
  return { h, sup, done, exited: () => exited };
}

t.test(
  'backoff 1 s, 2 s, 4 s ... capped at 30 s; restarted only when the timer fires',
  async (t) => {
    const rows = [
      { policy: 'on-failure', restartMax: 5, end: { exitCode: 3 } },
      { policy: 'on-failure', restartMax: 2, end: { exitCode: 137, signal: 'SIGKILL' } },
      { policy: 'always', restartMax: 7, end: { exitCode: 0 } },
    ] as const;
    for (const { policy, restartMax, end } of rows) {
      t.test(
        `--restart ${policy} --restart-max ${restartMax}, app exits ${end.exitCode}`,
        async (t) => {
          const { h, sup, done, exited } = await running({ restart: policy, restartMax });
          for (let n = 0; n < restartMax; n++) {
            h.apps[n]!.exit(end);
            await settle();
            const backoff = h.backoffTimers();
            t.equal(backoff.length, n + 1, `restart ${n + 1}: one backoff timer`);
            const timer = backoff[n]!;
            t.equal(timer.ms, BACKOFF[n], `restart ${n + 1}: after ${BACKOFF[n]} ms`);
            t.equal(timer.setAt, h.now, 'set when the app exited');
            t.equal(sup.current.phase, 'restarting');
            await h.tick(timer.ms - 1);
            t.equal(h.apps.length, n + 1, 'not started a millisecond early');
            await h.tick(1);
            t.equal(timer.state, 'fired');
            t.equal(h.apps.length, n + 2, 'started when the timer fires');
            t.equal(h.apps[n + 1]!.startedAt, timer.at);
            t.equal(sup.current.phase, 'running');
            t.equal(sup.current.app.restarts, n + 1);
          }
          t.same(
            h.logsOf('app.backoff').map((l) => l.delayMs),
            BACKOFF.slice(0, restartMax),
            'app.backoff logs each delay',
          );
          // One exit more within 10 minutes: the run ends with the app's own code.
          h.apps[restartMax]!.exit(end);
          t.equal(await done, end.exitCode);
          t.equal(exited(), end.exitCode);
          t.equal(h.backoffTimers().length, restartMax, 'no backoff timer after the last exit');
          t.match(h.logsOf('app.exit').at(-1), {
            exitCode: end.exitCode,
            msg: new RegExp(`reached --restart-max ${restartMax}`),
          });
          t.same(
            h.pending().filter((x) => x.ms !== POLL),
            [],
          );
          await h.tick(120_000);
          t.equal(h.apps.length, restartMax + 1, 'nothing starts after the end');
        },
      );
    }
  },
);

t.test('restarts older than 10 minutes no longer count', async (t) => {
  const { h, done } = await running({ restart: 'on-failure', restartMax: 2 });
  const crashThenRestart = async () => {
    h.apps.at(-1)!.exit({ exitCode: 1 });
    await settle();
    await h.tick(h.backoffTimers().at(-1)!.ms);
  };
  await crashThenRestart(); // restart 1 at t=1 s
  await crashThenRestart(); // restart 2 at t=3 s: --restart-max reached for 10 minutes
  t.equal(h.apps.length, 3);
  // The app now runs for exactly 10 minutes after the last restart: both fall out.
  await h.tick(600_000);
  await crashThenRestart();
  t.equal(h.apps.length, 4, 'restarted again');
  t.same(
    h.backoffTimers().map((x) => x.ms),
    [1000, 2000, 1000],
    'and the backoff starts again at 1 s',
  );
  await crashThenRestart();
  t.equal(h.apps.length, 5);
  h.apps[4]!.exit({ exitCode: 1 });
  t.equal(await done, 1, 'two restarts in 10 minutes again: the app code ends the run');
  t.same(
    h.backoffTimers().map((x) => x.ms),
    [1000, 2000, 1000, 2000],
  );
});

t.test('a stop signal during backoff exits 128+N; the app is not started again', async (t) => {
  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
    ['SIGHUP', 129],
    ['SIGQUIT', 131],
  ] as const) {
    t.test(signal, async (t) => {
      const { h, sup, done } = await running({ restart: 'always' });
      h.apps[0]!.exit({ exitCode: 1 });
      await settle();
      const [timer] = h.backoffTimers();
      t.equal(sup.current.phase, 'restarting');
      await h.tick(500);
      sup.dispatch({ type: 'signal', signal });
      t.equal(await done, code);
      t.equal(timer?.state, 'cleared', 'the backoff timer is cleared');
      await h.tick(60_000);
      t.equal(h.apps.length, 1, 'never restarted');
      t.equal(h.logsOf('app.start').length, 1, 'one app.start only');
      t.match(h.logsOf('supervisor.exit').at(-1), { exitCode: code });
    });
  }
  t.test('SIGUSR1 during backoff is ignored and the restart still happens', async (t) => {
    const { h, sup } = await running({ restart: 'always' });
    h.apps[0]!.exit({ exitCode: 1 });
    await settle();
    sup.dispatch({ type: 'signal', signal: 'SIGUSR1' });
    t.ok(h.events().includes('signal.ignored'));
    await h.tick(1000);
    t.equal(h.apps.length, 2);
    t.equal(sup.current.phase, 'running');
  });
});

t.test('a stop we asked for is never restarted, whatever the policy', async (t) => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const n = signal === 'SIGTERM' ? 15 : 2;
    for (const end of [
      { exitCode: 0 },
      { exitCode: 1 },
      { exitCode: 42 },
      { exitCode: 128 + n, signal },
    ]) {
      t.test(`${signal}, then the app exits ${end.exitCode}`, async (t) => {
        const { h, sup, done } = await running({ restart: 'always', restartMax: 100 });
        sup.dispatch({ type: 'signal', signal });
        t.same(h.apps[0]!.signals, [`terminate:${signal}`], 'forwarded to the app group');
        t.equal(sup.current.phase, 'stopping');
        h.apps[0]!.exit(end);
        t.equal(await done, end.exitCode, 'the app code, never 0 or -1 because we asked');
        t.same(h.backoffTimers(), [], 'no backoff');
        await h.tick(60_000);
        t.equal(h.apps.length, 1, 'not restarted');
      });
    }
  }
  t.test('--restart on-failure: an app that exits 0 by itself ends the run', async (t) => {
    const { h, done } = await running({ restart: 'on-failure' });
    h.apps[0]!.exit({ exitCode: 0 });
    t.equal(await done, 0);
    t.same(h.backoffTimers(), []);
  });
});

t.test(
  'a node that became primary during the backoff migrates before the app restarts',
  async (t) => {
    const { h, sup } = await running({ restart: 'always', migrate: ['node migrate.js'] });
    h.apps[0]!.exit({ exitCode: 1 });
    await settle();
    // LiteFS hands this node the lease while the app waits out its backoff.
    sup.dispatch({ type: 'observation', observation: obs({ role: 'primary' }) });
    await h.tick(1000);
    t.equal(h.apps.length, 1, 'not restarted when the timer fires');
    t.equal(sup.current.app.restarts, 1, 'the attempt counts');
    t.ok(h.events().includes('primary.check'));
    // S1: a fresh observation confirms the role, then the migration runs, then the app.
    h.observations.at(-1)!.answer(obs({ role: 'primary' }));
    await settle();
    t.equal(h.commands.length, 1);
    t.equal(h.apps.length, 1, 'not during the migration');
    h.commands[0]!.done(0);
    await settle();
    t.equal(h.apps.length, 2, 'the app starts once migrated');
    t.equal(sup.current.phase, 'running');
    t.equal(sup.current.role, 'primary');
  },
);
