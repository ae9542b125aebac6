// `npm run demo:incident` must show the loss with LiteFS's exec block and its prevention with
// the supervisor, in the seed incident and with a sleeping data holder; it exits 0 only when
// all of them happened.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import { ROOT } from '../helpers/cli.js';

t.test('the incident demo shows the data lost, then kept', async (t) => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [`${ROOT}dist-testkit/testkit/demo-incident.js`],
    {
      cwd: ROOT,
      timeout: 90_000,
    },
  );
  t.match(stdout, /exec block: +e82 ends with 0 of 8 users/);
  t.match(stdout, /litefs-supervisor: e82 ends with 8 of 8 users/);
  t.match(stdout, /no state file \(TXID 0 vs 0\): e82 ends with 8 of 8 users/);
  t.match(stdout, /fence\.enter .*empty here .*has data \(TXID 0000000000000000/);
  t.match(stdout, /fence\.enter .*high-water mark/);
  t.match(stdout, /handoff\.request/);
  t.notMatch(stdout, /MIGRATES/, 'the supervisor never migrated on the empty node');
  // The sleeping data holder: rows counted in A's own file at the end of each replay.
  t.match(stdout, /sleeping data holder, exec block: +A ends with 0 of 8 users/);
  t.match(stdout, /sleeping data holder, litefs-supervisor: A ends with 8 of 8 users/);
  t.match(stdout, /B fence\.enter .*cluster record in Consul/);
  t.match(stdout, /B never migrated; A has 8 of 8 users/);
});
