// SIGTERM and SIGINT in each state where no child process runs yet (S10):
// waiting-for-litefs, waiting-for-primary, syncing, promoting, checking, fenced. Nothing is
// running to forward the signal to, so the supervisor ends by that signal at once (docs/design.md
// section 9): no migration, no app, and a fenced node does not turn the signal into exit 4.

import t from 'tap';
import { fakePeer, reportProbes, type SignalCase, signalIn, writeHwm } from './helpers.js';

reportProbes(t);

const CASES: SignalCase[] = [
  {
    state: 'waiting-for-litefs',
    node: { role: 'primary' },
    setup: (run) => run.fake.stop(),
    migrations: 0,
    appStarts: 0,
  },
  { state: 'waiting-for-primary', node: { role: 'none' }, migrations: 0, appStarts: 0 },
  {
    state: 'syncing',
    node: { role: 'replica', lag: 'unsynced' },
    migrations: 0,
    appStarts: 0,
  },
  {
    // A synced candidate that asked for the lease; LiteFS accepted but has not moved it yet.
    state: 'promoting',
    node: { role: 'replica' },
    extra: ['--promote'],
    setup: (run) => {
      run.fake.promoteBehavior = 'stay';
    },
    migrations: 0,
    appStarts: 0,
    after: (t, run) => t.equal(run.fake.requestsTo('/promote', 'POST').length, 1, 'asked once'),
  },
  {
    // An empty primary waiting for a peer that does not answer (S3, --peer-wait).
    state: 'checking',
    node: { role: 'primary', empty: true },
    options: async (t) => ['--peers', await fakePeer(t, () => {}), '--peer-wait', '60s'],
    migrations: 0,
    appStarts: 0,
  },
  {
    // Below its high-water mark (S2), nobody to hand the lease to, --fence-timeout far away.
    state: 'fenced',
    node: { role: 'primary', txid: 3n },
    extra: ['--fence-timeout', '60s'],
    setup: (run) => writeHwm(run.stateFile, 9n),
    migrations: 0,
    appStarts: 0,
    after: (t, _run, cli) => t.notOk(cli.events().includes('fence.exit'), 'not exit 4'),
  },
];

for (const c of CASES) {
  t.test(`in ${c.state}`, async (t) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      await t.test(signal, (t) => signalIn(t, c, signal));
    }
  });
}
