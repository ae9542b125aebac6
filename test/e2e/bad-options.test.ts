// End to end on the built CLI (standalone mode, no LiteFS needed): bad options.

import t from 'tap';
import { startCli } from '../helpers/cli.js';

t.test('bad options exit 2 naming the option', async (t) => {
  const cases: [string, string[], RegExp][] = [
    ['unknown option', ['--no-such-thing', '--db', 'a.db', '--', 'true'], /--no-such-thing/],
    [
      'bad duration',
      ['--max-lag', '10 seconds', '--db', 'a.db', '--', 'true'],
      /--max-lag.*10 seconds/,
    ],
    [
      'bad enum',
      ['--restart', 'sometimes', '--db', 'a.db', '--', 'true'],
      /--restart.*sometimes.*on-failure/,
    ],
    ['missing --db', ['--litefs-config', 'none', '--', 'true'], /--db/],
    ['missing app command', ['--db', 'a.db', '--litefs-config', 'none'], /app command|--/],
  ];
  t.test('a litefs.yml given as --config: one error naming --litefs-config', async (t) => {
    const cli = startCli(t, ['--config', 'litefs.yml.example', '--', 'true']);
    t.equal((await cli.exited).code, 2);
    const errors = cli
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('  '));
    t.match(errors, [
      /^ {2}--config: \S+\/litefs.yml.example looks like a LiteFS config \(keys fuse, data, http, proxy, lease, exec\); pass it as --litefs-config/,
    ]);
    t.equal(errors.length, 1, 'one error, not one per LiteFS section');
  });
  for (const [name, args, re] of cases) {
    t.test(name, async (t) => {
      const cli = startCli(t, args);
      t.equal((await cli.exited).code, 2);
      t.match(cli.stderr(), re);
      t.notMatch(cli.stderr(), /at .*\.js:\d+/, 'no stack trace');
    });
  }
});
