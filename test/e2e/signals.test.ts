// End to end on the built CLI (standalone mode, no LiteFS needed): signals.

import type { Test } from 'tap';
import t from 'tap';

import { type Cli, FIXTURES, startCli } from '../helpers/cli.js';
import { node, signals, standalone } from '../helpers/standalone.js';
import { waitFor } from '../helpers/wait.js';

// A requested stop ends by the received signal, after logging the app's code (docs/design.md
// section 9): LiteFS releases the lease and unmounts only after exit 0 or death by a signal.
function endedBy(
  t: Test,
  cli: Cli,
  end: { code: number | null; signal: string | null },
  signal: string,
  appCode: number,
): void {
  t.same(end, { code: null, signal }, `the supervisor died of ${signal}`);
  t.match(
    cli.records.find((r) => r.event === 'supervisor.signal-exit'),
    { signal, exitCode: String(appCode) },
    `the app's code ${appCode} is logged`,
  );
}

t.test('signals are forwarded to the app', async (t) => {
  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    t.test(signal, async (t) => {
      const s = standalone(t);
      const cli = startCli(t, [...s.args, '--', node, `${FIXTURES}app-forever.mjs`], {
        env: s.env,
      });
      await cli.waitEvent('app.started');
      await waitFor(() => cli.stdout().includes('app ready'), {
        timeoutMs: 5000,
        message: 'app ready',
      });
      cli.child.kill(signal);
      endedBy(t, cli, await cli.exited, signal, code);
      t.same(signals(s.signalLog), [signal]);
      t.match(
        cli.records.find((r) => r.event === 'signal.forward'),
        { signal },
      );
    });
  }
  t.test(
    'an app that exits 0 on SIGTERM: logged, and the supervisor still ends by SIGTERM',
    async (t) => {
      const s = standalone(t);
      const cli = startCli(
        t,
        [...s.args, '--', node, `${FIXTURES}app-forever.mjs`, '--exit-on-signal', '0'],
        { env: s.env },
      );
      await waitFor(() => cli.stdout().includes('app ready'), {
        timeoutMs: 5000,
        message: 'app ready',
      });
      cli.child.kill('SIGTERM');
      endedBy(t, cli, await cli.exited, 'SIGTERM', 0);
    },
  );
  t.test('SIGUSR1 and SIGHUP are forwarded and do not stop anything', async (t) => {
    const s = standalone(t);
    const cli = startCli(t, [...s.args, '--', node, `${FIXTURES}app-forever.mjs`], { env: s.env });
    await cli.waitEvent('app.started');
    await waitFor(() => cli.stdout().includes('app ready'), {
      timeoutMs: 5000,
      message: 'app ready',
    });
    for (const signal of ['SIGUSR1', 'SIGHUP'] as const) {
      cli.child.kill(signal);
      await waitFor(() => signals(s.signalLog).includes(signal), {
        timeoutMs: 5000,
        message: `${signal} reached the app`,
      });
    }
    t.equal(cli.child.exitCode, null, 'still running');
    cli.child.kill('SIGTERM');
    endedBy(t, cli, await cli.exited, 'SIGTERM', 143);
  });
  t.test('the process group is SIGKILLed after --shutdown-timeout', async (t) => {
    const s = standalone(t, ['--shutdown-timeout', '500ms']);
    const cli = startCli(t, [...s.args, '--', node, `${FIXTURES}app-ignore-sigterm.mjs`], {
      env: s.env,
    });
    await cli.waitEvent('app.started');
    await waitFor(() => cli.stdout().length > 0, { timeoutMs: 5000, message: 'app output' });
    const sent = Date.now();
    cli.child.kill('SIGTERM');
    endedBy(t, cli, await cli.exited, 'SIGTERM', 137); // the app was SIGKILLed: 128+9
    t.ok(Date.now() - sent >= 450, 'not before the timeout');
    t.same(signals(s.signalLog), ['SIGTERM']);
  });
  t.test('SIGTERM during a migration: forwarded, app never started, ends by SIGTERM', async (t) => {
    const s = standalone(t, ['--migrate', `${node} ${FIXTURES}migrate-slow.mjs 20000`]);
    const cli = startCli(t, [...s.args, '--', node, `${FIXTURES}app-forever.mjs`], { env: s.env });
    await cli.waitEvent('migrate.start');
    await waitFor(() => signals(s.env.FIXTURE_MIGRATE_LOG).includes('start'), {
      timeoutMs: 5000,
      message: 'migration started',
    });
    cli.child.kill('SIGTERM');
    t.same(await cli.exited, { code: null, signal: 'SIGTERM' });
    t.same(signals(s.signalLog), ['SIGTERM']);
    t.notOk(cli.events().includes('app.start'));
  });
});
