// Readiness (docs/design.md section 6): with --app-ready the app is running but not ready until
// its probe answers; /health is 200 only once it is ready; an app not ready within
// --app-ready-timeout is stopped and the run exits 6. With `none`, ready at spawn (as before).

import t from 'tap';
import { healthVerdict, primaryVerdict, statusSnapshot } from '../../src/core/health.js';
import { Sim, testConfig } from '../helpers/builders.js';

const TCP = 'tcp://localhost:8081';

function startedReplica(appReady: string, over: Parameters<typeof testConfig>[0] = {}) {
  const sim = new Sim(testConfig({ appReady, appReadyTimeout: 30_000, ...over }));
  sim.see({ role: 'replica', lag: 0 });
  sim.feed({ type: 'app-started', pid: 41 }, 100);
  return sim;
}

t.test('none: ready at spawn, no probe, healthy at once', async (t) => {
  const sim = startedReplica('none');
  t.equal(sim.last('watch-app-ready'), undefined, 'no probe');
  t.equal(sim.state.app.ready, true);
  t.ok(healthVerdict(sim.state, sim.config).ok);
  t.match(statusSnapshot(sim.state, sim.config, 't', sim.now).app, { ready: true, bootMs: 0 });
});

t.test('a probe: not healthy until the app answers, then ready with its boot time', async (t) => {
  const sim = startedReplica(TCP);
  t.same(sim.last('watch-app-ready'), { type: 'watch-app-ready', pid: 41 });
  t.equal(sim.state.phase, 'running');
  t.match(healthVerdict(sim.state, sim.config), { ok: false, reason: /not ready yet/ });
  t.same(sim.state.wake, { at: sim.now + 30_000, why: 'app-ready-timeout' });
  sim.feed({ type: 'app-ready', pid: 40 }, 500);
  t.equal(sim.state.app.ready, false, "another pid's answer (an earlier run) is not this app's");
  sim.feed({ type: 'app-ready', pid: 41 }, 1500);
  t.equal(sim.state.app.ready, true);
  t.ok(healthVerdict(sim.state, sim.config).ok);
  const ready = sim.actions.find((a) => a.type === 'log' && a.event === 'app.ready');
  t.match(ready, { level: 'info', fields: { pid: 41, bootMs: 2000 } });
  t.match(statusSnapshot(sim.state, sim.config, 't', sim.now).app, { ready: true, bootMs: 2000 });
  t.equal(sim.state.wake, undefined, 'no readiness deadline once ready');
});

t.test('/primary waits for readiness too', async (t) => {
  const sim = new Sim(testConfig({ appReady: TCP, appReadyTimeout: 30_000 }));
  sim.loadHwm(undefined);
  sim.see({ role: 'primary' });
  sim.see({ role: 'primary' }, 10, sim.lastToken());
  sim.commandExit(0);
  sim.feed({ type: 'app-started', pid: 9 });
  t.equal(primaryVerdict(sim.state).ok, false);
  sim.feed({ type: 'app-ready', pid: 9 }, 100);
  t.equal(primaryVerdict(sim.state).ok, true);
});

t.test('not ready within --app-ready-timeout: exit 6 at the deadline, not before', async (t) => {
  const sim = startedReplica(TCP);
  sim.feed({ type: 'wake' }, 29_999);
  t.equal(sim.state.exited, undefined, '1 ms early: nothing');
  const out = sim.feed({ type: 'wake' }, 1);
  t.equal(sim.state.exited, 6);
  t.same(sim.types(out), ['exit'], 'the runner stops the app as it exits');
  t.match(
    out.find((a) => a.type === 'log' && a.event === 'app.not-ready'),
    { level: 'error', fields: { appReady: TCP, appReadyTimeout: 30_000 } },
  );
});

t.test('ready is per run of the app: an exit resets it, a restart probes again', async (t) => {
  const sim = startedReplica(TCP, { restart: 'on-failure' });
  sim.feed({ type: 'app-ready', pid: 41 }, 100);
  t.equal(sim.state.app.ready, true);
  sim.feed({ type: 'app-exit', exitCode: 1, signal: undefined }, 10);
  t.equal(sim.state.app.ready, false);
  t.equal(sim.state.wake?.why, 'restart', 'no readiness deadline while restarting');
  sim.feed({ type: 'wake' }, 1000);
  sim.feed({ type: 'app-started', pid: 42 });
  t.same(sim.last('watch-app-ready'), { type: 'watch-app-ready', pid: 42 });
  t.notOk(healthVerdict(sim.state, sim.config).ok, 'the restarted app is not ready yet');
  sim.feed({ type: 'app-ready', pid: 42 }, 700);
  t.ok(healthVerdict(sim.state, sim.config).ok);
});

t.test('a stop during the boot is a stop, not a readiness failure', async (t) => {
  const sim = startedReplica(TCP);
  sim.feed({ type: 'signal', signal: 'SIGTERM' }, 10);
  sim.feed({ type: 'wake' }, 40_000);
  t.not(sim.state.exited, 6, 'no exit 6 while stopping');
});
