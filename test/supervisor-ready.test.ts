// Readiness through the runner (src/supervisor.ts) on a virtual clock: the probe is asked for
// with the app's pid once it starts, its answer makes the app ready, it is cancelled when the app
// exits, and an app never ready ends the run with 6 at --app-ready-timeout, stopping the app.

import t from 'tap';
import { obs } from './helpers/builders.js';
import { Harness, settle } from './helpers/harness.js';

const POLL = 3_600_000;

async function started(over: ConstructorParameters<typeof Harness>[0]) {
  const h = new Harness({
    migrate: [],
    pollInterval: POLL,
    appReady: 'tcp://localhost:8081',
    appReadyTimeout: 20_000,
    ...over,
  });
  const { sup, done } = await h.supervisor();
  h.observations[0]!.answer(obs({ role: 'replica', lag: 0 }));
  await settle();
  return { h, sup, done };
}

t.test('the probe answers: the app is ready; an exit cancels the next probe', async (t) => {
  const { h, sup } = await started({ restart: 'on-failure' });
  t.equal(h.readyWatches.length, 1, 'one probe, for the app that started');
  const pid = sup.current.app.pid;
  t.equal(h.readyWatches[0]!.pid, pid);
  t.equal(sup.current.app.ready, false);
  await h.tick(1500);
  h.readyWatches[0]!.ready(true);
  await settle();
  t.equal(sup.current.app.ready, true);
  t.match(h.logsOf('app.ready'), [{ pid, bootMs: 1500 }]);
  // A restart probes again; an exit while probing cancels the probe.
  h.apps[0]!.exit({ exitCode: 1 });
  await settle();
  await h.tick(1000);
  t.equal(h.readyWatches.length, 2, 'the restarted app is probed again');
  h.apps[1]!.exit({ exitCode: 1 });
  await settle();
  t.equal(h.readyWatches[1]!.cancelled, true, 'cancelled when that app exited');
});

t.test('never ready: exit 6 at --app-ready-timeout, the app stopped', async (t) => {
  const { h, done } = await started({});
  await h.tick(19_999);
  t.equal(h.apps[0]!.signals.length, 0, 'not a millisecond early');
  await h.tick(1);
  t.match(h.apps[0]!.signals, ['terminate:SIGTERM'], 'the app is stopped');
  h.apps[0]!.exit({ exitCode: 143, signal: 'SIGTERM' });
  t.equal(await done, 6);
  t.equal(h.readyWatches[0]!.cancelled, true, 'and its probe cancelled');
  t.equal(h.logsOf('app.not-ready').length, 1);
});

t.test('--app-ready none: no probe, ready at spawn', async (t) => {
  const { h, sup } = await started({ appReady: 'none' });
  t.equal(h.readyWatches.length, 0);
  t.equal(sup.current.app.ready, true);
});
