// End to end on the built CLI: --standalone with --backup-dir. There is no LiteFS /export to
// save from, so S8 skips the backup with its warning and the migration goes on. Before the
// runner's ports were required the absent backup port did nothing, and the
// supervisor waited in backing-up for ever.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { FIXTURES, startCli } from '../helpers/cli.js';
import { node, standalone } from '../helpers/standalone.js';

t.test('standalone with --backup-dir: backup skipped, migration and app run', async (t) => {
  const s = standalone(t);
  writeFileSync(join(s.dir, 'app.db'), Buffer.alloc(8192, 1)); // not empty: S8 applies
  const cli = startCli(
    t,
    [
      ...s.args,
      '--backup-dir',
      join(s.dir, 'backups'),
      '--migrate',
      `${node} ${FIXTURES}migrate-ok.mjs m1`,
      '--',
      node,
      '-e',
      'setInterval(() => {}, 1 << 30)',
    ],
    { env: s.env },
  );
  const skip = await cli.waitEvent('backup.skip');
  t.match(skip, { level: 'WARN', db: 'app.db', msg: /--standalone has no LiteFS to export it/ });
  await cli.waitEvent('state.running');
  const events = cli.events();
  t.ok(events.indexOf('backup.skip') < events.indexOf('migrate.start'), 'skipped, then migrated');
  cli.child.kill('SIGTERM');
  await cli.exited;
});
