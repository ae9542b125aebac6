// Faults of LiteFS's own API, on the built CLI against one fake LiteFS node: the
// /events stream cut again and again, /info failing (500, invalid JSON, not JSON) for a
// while, /info answering after seconds, the API restarting on the same port. In each case the
// supervisor stays alive and live, migrates once, starts the app once, and ends running.

import t from 'tap';
import { FIXTURES } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';
import {
  appReady,
  appStarts,
  assertAppUntouched,
  assertLive,
  eventCount,
  lines,
  liveProbe,
  node,
  nodeRun,
  readyPid,
  repeatFor,
  reportProbes,
  status,
  stopWith,
  waitState,
} from './helpers.js';

reportProbes(t);

await t.test('/events cut repeatedly, with garbage lines: polling carries on', async (t) => {
  const run = await nodeRun(t, { role: 'replica' });
  const cli = run.start();
  const pid = await appReady(cli, run.readyFile);
  const url = await cli.healthUrl();
  const probe = liveProbe(url, 'events cut');
  // A replica receiving transactions while its stream is cut every 100 ms (and sometimes
  // sent a line that is not an event).
  await repeatFor(1500, 100, (i) => {
    run.fake.cutEvents();
    run.fake.setPos('sqlite.db', 6n + BigInt(i));
    if (i % 3 === 0) run.fake.sendRawEvent('{"type":"tx","db":\n<html>garbage</html>\n');
  });
  // The lease arrives while the stream keeps being cut: S7 runs the migration once.
  run.fake.becomePrimary();
  await repeatFor(1500, 100, () => run.fake.cutEvents());
  await cli.waitEvent('migrate.complete');
  await waitFor(async () => (await status(url)).role === 'primary', { message: 'primary' });
  assertLive(t, await probe.stop(), 'events cut');
  await waitState(url, 'running');
  t.equal(cli.child.exitCode, null, 'alive');
  t.equal(lines(run.migrateLog).length, 1, 'one migration, after the promotion');
  t.equal(appStarts(cli), 1, 'the app was started once');
  t.equal(readyPid(run.readyFile), pid, 'and never restarted');
  t.equal(await stopWith(cli, 'SIGTERM'), 'SIGTERM');
});

t.test('/info failing for a while', async (t) => {
  const faults = [
    ['HTTP 500', { status: 500 }],
    ['invalid JSON', { badJson: true }],
    ['not JSON', { body: '<html>502 Bad Gateway</html>' }],
  ] as const;
  for (const [name, fault] of faults) {
    await t.test(
      `${name}: waits, then migrates once; while running the app is left alone`,
      async (t) => {
        const run = await nodeRun(t, { role: 'primary' });
        run.fake.failInfo(fault);
        const cli = run.start();
        const url = await cli.healthUrl();
        const probe = liveProbe(url, `/info ${name}`);
        await cli.waitEvent('litefs.wait');
        t.equal((await status(url)).state, 'waiting-for-litefs');
        // Short on purpose: the fault lasts several polls, and nothing may start meanwhile.
        await new Promise((r) => setTimeout(r, 500));
        t.same(lines(run.migrateLog), [], 'no migration while /info fails');
        t.equal(appStarts(cli), 0, 'no app while /info fails');
        run.fake.failInfo(null);
        const pid = await appReady(cli, run.readyFile);
        run.fake.failInfo(fault);
        await cli.waitEvent('litefs.unreachable', (r) => r.level === 'WARN');
        await new Promise((r) => setTimeout(r, 500)); // several failed polls while running
        run.fake.failInfo(null);
        await waitFor(() => eventCount(cli, 'litefs.connected') === 2, {
          message: 'connected again',
        });
        await waitFor(
          async () => {
            const s = await status(url);
            return s.state === 'running' && s.role === 'primary';
          },
          { message: 'running as primary again' },
        );
        assertLive(t, await probe.stop(), `/info ${name}`);
        t.equal(lines(run.migrateLog).length, 1, 'one migration');
        assertAppUntouched(t, cli, run.readyFile, pid);
        t.equal(await stopWith(cli, 'SIGINT'), 'SIGINT');
      },
    );
  }
});

await t.test('/info answering after seconds', async (t) => {
  const run = await nodeRun(t, { role: 'primary' });
  // Slow but within the client's 2 s headers timeout: the start (and S1's fresh /info) waits.
  run.fake.failInfo({ delayMs: 1200 });
  const cli = run.start();
  const url = await cli.healthUrl();
  const probe = liveProbe(url, '/info slow');
  const pid = await appReady(cli, run.readyFile, 20_000);
  t.equal(lines(run.migrateLog).length, 1, 'one migration, confirmed by a slow /info');
  // Slower than the timeout: observations fail; the running app is left alone.
  run.fake.failInfo({ delayMs: 3500 });
  // Running with /events connected, /info is read every IDLE_POLL_MS (10 s, idle polling), then
  // times out after 2-3 s: the next read may be that far away.
  await cli.waitEvent('litefs.unreachable', (r) => r.level === 'WARN', 20_000);
  run.fake.failInfo(null);
  await waitFor(
    async () => {
      const s = await status(url);
      return s.state === 'running' && s.role === 'primary';
    },
    { timeoutMs: 10_000, message: 'running as primary again' },
  );
  assertLive(t, await probe.stop(), '/info slow');
  t.equal(lines(run.migrateLog).length, 1, 'still one migration');
  assertAppUntouched(t, cli, run.readyFile, pid);
  t.equal(await stopWith(cli, 'SIGTERM'), 'SIGTERM');
});

t.test('the LiteFS API restarting on the same port', async (t) => {
  await t.test('while the app runs: three restarts, nothing redone', async (t) => {
    const run = await nodeRun(t, { role: 'primary' });
    const cli = run.start();
    const pid = await appReady(cli, run.readyFile);
    const url = await cli.healthUrl();
    const probe = liveProbe(url, 'API restart');
    for (let i = 0; i < 3; i++) {
      await run.fake.stop();
      const down = cli.records.filter((r) => r.event === 'litefs.unreachable').length;
      await waitFor(
        () => cli.records.filter((r) => r.event === 'litefs.unreachable').length > down,
        { message: 'unreachable seen' },
      );
      await run.fake.restart();
      await waitFor(async () => (await status(url)).role === 'primary', {
        message: 'primary again',
      });
    }
    await waitState(url, 'running');
    assertLive(t, await probe.stop(), 'API restart');
    t.equal(lines(run.migrateLog).length, 1, 'one migration');
    assertAppUntouched(t, cli, run.readyFile, pid);
    t.equal(await stopWith(cli, 'SIGTERM'), 'SIGTERM');
  });

  await t.test('during a migration: S6 stops it (role unknown), it runs again once', async (t) => {
    const run = await nodeRun(t, { role: 'primary' });
    const cli = run.start([
      '--migrate',
      `${node} ${FIXTURES}migrate-slow.mjs 1500`,
      '--shutdown-timeout',
      '1s',
    ]);
    const url = await cli.healthUrl();
    const probe = liveProbe(url, 'API restart mid-migration');
    await waitFor(() => lines(run.migrateLog).includes('start'), {
      message: 'slow migration started',
    });
    await run.fake.stop();
    await cli.waitEvent('migrate.aborted');
    await run.fake.restart();
    const pid = await appReady(cli, run.readyFile);
    assertLive(t, await probe.stop(), 'API restart mid-migration');
    // m1 once, the slow one started twice and finished once.
    t.same(
      lines(run.migrateLog).map((l) => l.replace(/ pid=.*/, '')),
      ['m1', 'start', 'start', 'done'],
      'the first migration ran once; the aborted one ran to completion once',
    );
    t.equal(
      cli.events().filter((e) => e === 'migrate.done').length,
      2,
      'each migration completed once',
    );
    t.equal(appStarts(cli), 1, 'one app start');
    t.equal(readyPid(run.readyFile), pid);
    await waitState(url, 'running');
    t.equal(await stopWith(cli, 'SIGTERM'), 'SIGTERM');
  });
});
