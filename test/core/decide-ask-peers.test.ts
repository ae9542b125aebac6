// The ask-peers action carries this node's LiteFS node ID, read from the last observation, so
// the askPeers port can leave this node out of its own peers without reading the state back
// (no getState() back channel).

import t from 'tap';
import type { ObsSpec } from '../helpers/builders.js';
import { obs, Sim, testConfig } from '../helpers/builders.js';

const PEERS = 'http://[fdaa::2]:20202,http://[fdaa::3]:20202';

/** Feed an observation whose /info names this node `nodeId`. */
function see(sim: Sim, spec: ObsSpec, nodeId: string, advanceMs = 0) {
  const o = obs({ ...spec, at: sim.now + advanceMs });
  if (!o.info.ok) throw new Error('an observation with /info answering');
  o.info.value.nodeId = nodeId;
  return sim.feed({ type: 'observation', observation: o }, advanceMs);
}

t.test('S2/S3: a new primary asks with its own node ID', async (t) => {
  const sim = new Sim(testConfig({ peers: PEERS }));
  sim.loadHwm(undefined);
  see(sim, { role: 'primary' }, 'C0FFEE0000000001');
  t.match(sim.last('ask-peers'), { type: 'ask-peers', selfNodeId: 'C0FFEE0000000001' });
});

t.test('S11: a replica that sees a new primary asks with the ID it now has', async (t) => {
  const sim = new Sim(testConfig({ peers: PEERS }));
  sim.loadHwm(undefined);
  see(sim, { role: 'replica', primary: 'node-a', lag: 5 }, 'C0FFEE0000000001');
  t.equal(sim.last('ask-peers'), undefined, 'nothing to ask yet');
  // The ID is the one of the newest observation, not of the first.
  see(sim, { role: 'replica', primary: 'node-b', lag: 5 }, 'C0FFEE0000000002', 1000);
  t.match(sim.last('ask-peers'), { type: 'ask-peers', selfNodeId: 'C0FFEE0000000002' });
});
