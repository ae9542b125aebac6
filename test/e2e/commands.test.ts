// End to end on the built CLI (standalone mode, no LiteFS needed): commands.

import t from 'tap';
import { CLI, startCli } from '../helpers/cli.js';
import { standalone } from '../helpers/standalone.js';

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
  const bad = startCli(t, ['check', '--litefs-config', 'none']);
  t.equal((await bad.exited).code, 2);
  t.ok(CLI);
});
