// (b) Replica path: spawn to the app spawned (the supervisor's app.started log line), against a
// fake LiteFS that already shows a synced replica.

import { FakeLitefs } from '../dist-testkit/testkit/fake-litefs.js';
import { IDLE_APP, litefsArgs, report, runs, spawnCli, tmp } from './lib.mjs';

const xs = [];
for (let i = 0; i < runs; i++) {
  const fake = await FakeLitefs.start({ role: { replicaOf: 'primary-host' }, dbs: ['sqlite.db'] });
  const { dir, done } = tmp('replica');
  const t0 = performance.now();
  const cli = spawnCli([
    ...litefsArgs(fake, dir),
    '--health-addr',
    '127.0.0.1:0',
    '--',
    ...IDLE_APP,
  ]);
  const t1 = await cli.waitFor('event=app.started');
  xs.push(t1 - t0);
  await cli.stop();
  await fake.close();
  done();
}
report('replica_path_spawn_to_app', xs, 'ms');
