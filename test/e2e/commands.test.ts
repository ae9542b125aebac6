// End to end on the built CLI (standalone mode, no LiteFS needed): commands.

import t from 'tap';
import { startCli } from '../helpers/cli.js';
import { node, standalone } from '../helpers/standalone.js';

t.test('--help, --version, check', async (t) => {
  const help = startCli(t, ['--help']);
  t.equal((await help.exited).code, 0);
  for (const opt of [
    '--db',
    '--migrate',
    '--promote',
    '--health-addr',
    'LITEFS_SUPERVISOR_MAX_LAG',
  ]) {
    t.match(help.stdout(), opt);
  }
  const version = startCli(t, ['--version']);
  t.equal((await version.exited).code, 0);
  t.match(version.stdout(), /^litefs-supervisor \d+\.\d+\.\d+\n$/);
  const s = standalone(t);
  const check = startCli(t, ['check', ...s.args, '--migrate', 'echo hi', '--', 'node', 'app.js']);
  t.equal((await check.exited).code, 0);
  t.match(check.stdout(), /echo hi/);
  t.match(check.stdout(), /restart never, SIGKILL/, 'no backoff shown without restarts');
  const restarts = startCli(t, [
    'check',
    ...s.args,
    '--restart',
    'on-failure',
    '--restart-delay',
    '2500ms',
    '--',
    'node',
    'app.js',
  ]);
  t.equal((await restarts.exited).code, 0);
  t.match(restarts.stdout(), /restart on-failure \(backoff from 2\.5s, at most 5 in 10 minutes\)/);
  const bad = startCli(t, ['check', '--litefs-config', 'none']);
  t.equal((await bad.exited).code, 2);
});

t.test(
  'status reads a running supervisor; exit 0 healthy, 1 when it does not answer',
  async (t) => {
    const s = standalone(t);
    const cli = startCli(t, [...s.args, '--', node, '-e', 'setInterval(() => {}, 1 << 30)']);
    await cli.waitEvent('state.running');
    const url = await cli.healthUrl();
    const human = startCli(t, ['status', '--health-url', url]);
    t.equal((await human.exited).code, 0);
    t.match(human.stdout(), /^state: +running/m);
    t.match(human.stdout(), /^role: +primary/m);
    const json = startCli(t, ['status', '--health-url', url, '--json']);
    t.equal((await json.exited).code, 0);
    t.match(JSON.parse(json.stdout()), {
      state: 'running',
      healthy: true,
      app: { state: 'running' },
    });
    cli.child.kill('SIGTERM');
    await cli.exited;
    const gone = startCli(t, ['status', '--health-url', url]);
    t.equal((await gone.exited).code, 1);
    t.match(gone.stderr(), /no answer from .*\/status/);
    const misplaced = startCli(t, ['--json']);
    t.equal((await misplaced.exited).code, 2, '--json belongs to status');
    t.match(misplaced.stderr(), /--json/);
  },
);
