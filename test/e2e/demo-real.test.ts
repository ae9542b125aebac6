// `npm run demo:incident -- --real` without a usable LiteFS says why and exits 2; with one, its
// replays end as they should (test/real/incident-*.test.ts assert on the seed incident's steps).

import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import { realSkipReason } from '../../testkit/real-litefs.js';
import { ROOT } from '../helpers/cli.js';

t.test('--real without LiteFS: the reason, exit 2', async (t) => {
  const env: NodeJS.ProcessEnv = { ...process.env, LITEFS_BIN: '/nonexistent/litefs' };
  delete env.NODE_OPTIONS;
  const run = spawnSync(
    process.execPath,
    [`${ROOT}dist-testkit/testkit/demo-incident.js`, '--real'],
    {
      env,
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  t.equal(run.status, 2);
  t.match(
    run.stderr,
    /Real LiteFS is not available here: LiteFS: LITEFS_BIN=\/nonexistent\/litefs is not an executable file/,
  );
  t.match(run.stderr, /npm run demo:incident/);
});

// With real LiteFS here (root, /dev/fuse, fusermount3, ../shared/litefs): the whole replay,
// rows counted in node-a's own database file at the end of each.
const skip = realSkipReason();
t.test('--real: the seed incident and the sleeping data holder, both ways', { skip }, async (t) => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [`${ROOT}dist-testkit/testkit/demo-incident.js`, '--real'],
    { env, cwd: ROOT, timeout: 110_000 },
  );
  t.match(stdout, /exec block: +node-a ends with 0 of 8 rows/);
  t.match(stdout, /litefs-supervisor: node-a ends with 8 of 8 rows/);
  t.match(stdout, /sleeping data holder, exec block: +node-a ends with 0 of 8 rows/);
  t.match(stdout, /sleeping data holder, litefs-supervisor: node-a ends with 8 of 8 rows/);
  t.match(stdout, /node-b's supervisor: fence\.enter: .*cluster record in Consul/);
  t.match(stdout, /node-b never migrated/);
});
