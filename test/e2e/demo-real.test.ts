// `npm run demo:incident -- --real` without a usable LiteFS says why and exits 2 (the replay
// itself is what test/real/incident-*.test.ts assert on).

import { spawnSync } from 'node:child_process';
import t from 'tap';
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
    /Real LiteFS is not available here: LITEFS_BIN=\/nonexistent\/litefs is not an executable file/,
  );
  t.match(run.stderr, /npm run demo:incident/);
});
