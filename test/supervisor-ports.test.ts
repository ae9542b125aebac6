// The runner's ports (src/ports.ts): every port is required, a call to a port that has
// nothing behind it ends the run with 70 naming the port (never a silent no-op), and the
// ask-peers action's node ID reaches the askPeers port (no getState() back channel).

import t from 'tap';
import { PortUnavailableError } from '../src/ports.js';
import { obs } from './helpers/builders.js';
import { Harness, settle } from './helpers/harness.js';

t.test("askPeers gets this node's ID from the action", async (t) => {
  const h = new Harness({ migrate: [], peers: 'http://[fdaa::2]:20202' });
  const asked: (string | undefined)[] = [];
  h.deps.askPeers = (selfNodeId) => {
    asked.push(selfNodeId);
    return new Promise(() => {}); // never answers: the test ends before peer-wait
  };
  const { sup } = await h.supervisor();
  const o = obs({ role: 'primary' });
  if (o.info.ok) o.info.value.nodeId = 'C0FFEE0000000001';
  h.observations[0]!.answer(o);
  await settle();
  t.equal(sup.current.phase, 'checking', 'the primary waits for its peers');
  t.same(asked, ['C0FFEE0000000001']);
});

t.test('a port with nothing behind it ends the run with 70 and names itself', async (t) => {
  // --promote on a synced candidate replica: decide asks for /promote, which this harness
  // does not fake. Before every port was required, the absent port did nothing and the node waited
  // forever.
  const h = new Harness({ migrate: [], promote: true });
  const { done } = await h.supervisor();
  h.observations[0]!.answer(obs({ role: 'replica', lag: 0 }));
  await settle();
  t.equal(await done, 70);
  const err = h.logsOf('supervisor.crash')[0]?.err;
  t.ok(err instanceof PortUnavailableError, 'the error says which port');
  t.match(err, { port: 'promote', message: /the promote port was called, but this harness fakes/ });
  t.same(h.apps, [], 'no app was started');
});

t.test(
  'persistHwm: a failed write is a warning; a state file not kept is a bug (70)',
  async (t) => {
    t.test('a write that fails is logged and changes nothing else (S10)', async (t) => {
      const h = new Harness({ migrate: [] });
      h.deps.loadHwm = () => Promise.resolve({ kind: 'missing' });
      h.deps.persistHwm = () => Promise.reject(new Error('EROFS: read-only file system'));
      const { done } = await h.supervisor();
      h.observations[0]!.answer(obs({ role: 'primary' }));
      await settle();
      t.match(h.logsOf('hwm.write-fail'), [{ level: 'warn', msg: /EROFS/ }]);
      t.equal(h.apps.length, 1, 'the app starts all the same');
      h.apps[0]!.exit({ exitCode: 0 });
      t.equal(await done, 0);
    });
    t.test('a write to a state file this mode does not keep ends the run with 70', async (t) => {
      const h = new Harness({ migrate: [] });
      // A mark was loaded, so decide writes it back; persistHwm is still the harness's
      // "no state file" adapter: the mismatch is a wiring bug, and it must show.
      h.deps.loadHwm = () => Promise.resolve({ kind: 'missing' });
      const { done } = await h.supervisor();
      h.observations[0]!.answer(obs({ role: 'primary' }));
      await settle();
      t.equal(h.logsOf('hwm.write-fail').length, 0, 'not taken for a failed write');
      const crash = h.logsOf('supervisor.crash')[0];
      t.equal((crash?.err as PortUnavailableError | undefined)?.port, 'persistHwm');
      h.apps[0]?.exit({ exitCode: 143 });
      t.equal(await done, 70);
    });
  },
);

t.test('loadHwm: a loaded file is an input; not-kept sends none', async (t) => {
  const kept = new Harness({ migrate: [] });
  kept.deps.loadHwm = () => Promise.resolve({ kind: 'missing' });
  kept.deps.persistHwm = () => Promise.resolve();
  await kept.supervisor();
  t.equal(kept.logsOf('hwm.none').length, 1, 'decide heard there is no file yet');
  const none = new Harness({ migrate: [] });
  await none.supervisor();
  t.equal(none.logsOf('hwm.none').length, 0, 'standalone and this harness keep none');
  t.equal(none.observations.length, 1, 'and poll all the same');
});

t.test('a stop during the state-file read opens no /events stream', async (t) => {
  const h = new Harness({ migrate: [] });
  let release!: () => void;
  h.deps.loadHwm = () =>
    new Promise((resolve) => {
      release = () => resolve({ kind: 'missing' });
    });
  let watched = 0;
  h.deps.watchEvents = () => {
    watched += 1;
    return { close() {}, connected: () => false };
  };
  const { sup, done } = await h.supervisor();
  sup.dispatch({ type: 'signal', signal: 'SIGTERM' });
  release();
  t.equal(await done, 143);
  await settle();
  t.equal(watched, 0);
  t.equal(h.observations.length, 0, 'and takes no observation');
});

t.test(
  "S7's own write lock: taken and released through the ports, and again when the run ends",
  async (t) => {
    const h = new Harness({ migrate: [], onPromotion: 'none' });
    const { sup, done } = await h.supervisor();
    h.observations[0]!.answer(obs({ role: 'replica', lag: 0 }));
    await settle();
    t.equal(h.apps.length, 1, 'the app runs as a replica');
    t.same(h.selfHalts, [], 'no lock as a replica');
    await h.tick(1000);
    h.observations.at(-1)!.answer(obs({ role: 'primary' }));
    await settle();
    t.same(h.selfHalts, ['halt', 'unhalt'], 'taken by S7, released once the checks passed');
    t.equal(sup.current.phase, 'running');
    t.match(h.logsOf('halt.held'), [{ check: 'S7', released: 'the checks passed' }]);
    h.apps[0]!.exit({ exitCode: 0 });
    t.equal(await done, 0);
    t.same(h.selfHalts, ['halt', 'unhalt', 'unhalt'], 'the runner releases it when it stops');
  },
);
