// The explicit adapters for ports with nothing behind them (src/cli/adapters-none.ts): what
// each does in --standalone and without --peers. A port decide never calls there rejects with
// an error naming it; the others give their "nothing" value.

import t from 'tap';
import { noEvents, noPeers, standalonePorts } from '../../src/cli/adapters-none.js';
import { PortUnavailableError } from '../../src/ports.js';

const file = { version: 1 as const, clusterId: '', dbs: {} };

t.test('standalone: no /events, no state file, no peers, no lease; backups skipped', async (t) => {
  const events = standalonePorts.watchEvents(() => t.fail('no event ever'));
  t.equal(events.connected(), false, 'never connected: polling stays at --poll-interval');
  events.close();
  t.same(await standalonePorts.loadHwm(), { kind: 'not-kept' });
  const calls = {
    persistHwm: () => standalonePorts.persistHwm(file),
    askPeers: () => standalonePorts.askPeers('AAAAAAAAAAAAAAAA'),
    promote: () => standalonePorts.promote({ haltAt: undefined, haltWaitMs: 0 }),
    handoff: () => standalonePorts.handoff('BBBBBBBBBBBBBBBB', { haltWaitMs: 0 }),
  };
  for (const [port, call] of Object.entries(calls)) {
    const err = await call().then(
      () => undefined,
      (e: unknown) => e,
    );
    t.ok(err instanceof PortUnavailableError, `${port} rejects`);
    t.equal((err as PortUnavailableError).port, port);
    t.match((err as Error).message, new RegExp(`^the ${port} port was called, but --standalone`));
  }
  t.same(await standalonePorts.backup({ db: 'app.db', txid: 0n, expectedBytes: 8192 }), {
    kind: 'skipped',
    why: '--standalone has no LiteFS to export it from',
  });
});

t.test('without --peers: asking them is a bug that names the port', async (t) => {
  await t.rejects(noPeers.askPeers(undefined), {
    name: 'PortUnavailableError',
    port: 'askPeers',
    message: /no --peers is configured/,
  });
  t.equal(noEvents(() => {}).connected(), false);
});
