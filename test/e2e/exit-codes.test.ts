// End to end on the built CLI (standalone mode, no LiteFS needed): exit codes.

import t from 'tap';
import { FIXTURES, startCli } from '../helpers/cli.js';
import { node, standalone } from '../helpers/standalone.js';

t.test('the app exit code passes through', async (t) => {
  for (const code of [0, 1, 42]) {
    t.test(`exit ${code}`, async (t) => {
      const s = standalone(t);
      const cli = startCli(t, [...s.args, '--', node, `${FIXTURES}app-exit.mjs`, String(code)], {
        env: s.env,
      });
      t.equal((await cli.exited).code, code);
      t.match(
        cli.records.find((r) => r.event === 'app.exit'),
        { exitCode: String(code) },
      );
    });
  }
  for (const [signal, code] of [
    ['SIGKILL', 137],
    ['SIGTERM', 143],
    ['SIGSEGV', 139],
  ] as const) {
    t.test(`killed by ${signal}: 128+N = ${code}`, async (t) => {
      const s = standalone(t);
      const cli = startCli(t, [...s.args, '--', node, `${FIXTURES}app-kill-self.mjs`, signal], {
        env: s.env,
      });
      t.equal((await cli.exited).code, code);
    });
  }
  t.test('127 when the app is not found, 126 when not executable', async (t) => {
    const s = standalone(t);
    const missing = startCli(t, [...s.args, '--', 'definitely-not-a-command-xyz'], { env: s.env });
    t.equal((await missing.exited).code, 127);
    t.ok(missing.events().includes('app.spawn-fail'));
    const s2 = standalone(t);
    const notExec = startCli(t, [...s2.args, '--', `${FIXTURES}not-executable.txt`], {
      env: s2.env,
    });
    t.equal((await notExec.exited).code, 126);
  });
});
