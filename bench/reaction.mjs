// (d) Reaction: LiteFS makes this replica primary (a primaryChange on /events, and /info and
// the mount files) until the supervisor's /primary answers 200; with /events and with polling
// only (LiteFS without /events). The app keeps running; no migrations are configured.

import { FakeLitefs } from '../dist-testkit/testkit/fake-litefs.js';
import { IDLE_APP, litefsArgs, report, runs, spawnCli, tmp, until } from './lib.mjs';

async function once(withEvents, pollMs) {
  const fake = await FakeLitefs.start({ role: { replicaOf: 'primary-host' }, dbs: ['sqlite.db'] });
  if (!withEvents) fake.disableEvents();
  const { dir, done } = tmp('reaction');
  const cli = spawnCli([
    ...litefsArgs(fake, dir),
    '--health-addr',
    '127.0.0.1:0',
    '--poll-interval',
    `${pollMs}ms`,
    '--',
    ...IDLE_APP,
  ]);
  await cli.waitFor('event=state.running');
  const url = /event=health\.listen url=(\S+)/.exec(cli.stderr())[1];
  // Let the event stream connect (or its 404 be seen) before the change.
  await new Promise((r) => setTimeout(r, 300));
  const t0 = performance.now();
  fake.becomePrimary();
  const t1 = await until(`${url}/primary`);
  await cli.stop();
  await fake.close();
  done();
  return t1 - t0;
}

const poll = 1000;
const ev = [];
const pl = [];
for (let i = 0; i < runs; i++) {
  ev.push(await once(true, poll));
  pl.push(await once(false, poll));
}
report('reaction_events', ev, 'ms');
console.log('reaction_events_budget_ms=50');
report('reaction_polling_only', pl, 'ms');
console.log(`reaction_polling_budget_ms=${poll + 50}`);
