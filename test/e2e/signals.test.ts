// End to end on the built CLI (standalone mode, no LiteFS needed): signals.

import t from 'tap';
import { FIXTURES, startCli } from '../helpers/cli.js';
import { node, signals, standalone } from '../helpers/standalone.js';
import { waitFor } from '../helpers/wait.js';

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
      t.equal((await cli.exited).code, code, 'the app died of the signal: 128+N');
      t.same(signals(s.signalLog), [signal]);
      t.match(
        cli.records.find((r) => r.event === 'signal.forward'),
        { signal },
      );
    });
  }
  t.test('an app that exits 0 on SIGTERM makes the supervisor exit 0', async (t) => {
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
    t.equal((await cli.exited).code, 0);
  });
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
    t.equal((await cli.exited).code, 143);
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
    const { code } = await cli.exited;
    t.equal(code, 137, 'the app was SIGKILLed: 128+9');
    t.ok(Date.now() - sent >= 450, 'not before the timeout');
    t.same(signals(s.signalLog), ['SIGTERM']);
  });
  t.test('SIGTERM during a migration: forwarded, app never started, exit 143', async (t) => {
    const s = standalone(t, ['--migrate', `${node} ${FIXTURES}migrate-slow.mjs 20000`]);
    const cli = startCli(t, [...s.args, '--', node, `${FIXTURES}app-forever.mjs`], { env: s.env });
    await cli.waitEvent('migrate.start');
    await waitFor(() => signals(s.env.FIXTURE_MIGRATE_LOG).includes('start'), {
      timeoutMs: 5000,
      message: 'migration started',
    });
    cli.child.kill('SIGTERM');
    t.equal((await cli.exited).code, 143);
    t.same(signals(s.signalLog), ['SIGTERM']);
    t.notOk(cli.events().includes('app.start'));
  });
});
