// The handover-on-stop and --promote-when rules on their own: handoverEligible / handoverTarget
// (src/core/peers.ts), s5NewVersion and mayHandOverOnStop (src/core/rules.ts), each allowing and
// refusing.

import t from 'tap';
import { dbViewsOf } from '../../src/core/derive.js';
import type { PeerAnswer } from '../../src/core/peer-types.js';
import {
  type AnsweredPeer,
  handoverEligible,
  handoverTarget,
  primaryPeer,
} from '../../src/core/peers.js';
import { mayHandOverOnStop, s5NewVersion } from '../../src/core/rules.js';
import { CLUSTER, db, obs, peer, report, silent, testConfig } from '../helpers/builders.js';

const own = dbViewsOf(obs({ role: 'primary', dbs: [db({ txid: 9n })] }), testConfig());
const emptyOwn = dbViewsOf(
  obs({ role: 'primary', dbs: [db({ txid: 0n, size: 4096 })] }),
  testConfig(),
);
const SELF = ['node-a'];

function answered(p: PeerAnswer): AnsweredPeer {
  if (!p.ok) throw new Error('not answered');
  return p;
}

/** A candidate replica following node-a, as its supervisor reports it. */
function rep(o: Partial<AnsweredPeer> & { txid?: bigint; pages?: number } = {}): AnsweredPeer {
  const { txid, pages, ...rest } = o;
  return {
    ...answered(peer({ txid: txid ?? 9n, pages: pages ?? 3 })),
    evidence: 'supervisor',
    primaryHostname: 'node-a',
    synced: true,
    lagMs: 10,
    ...rest,
  };
}

t.test('handoverEligible', async (t) => {
  const rows: [string, AnsweredPeer, boolean, RegExp?][] = [
    ['a synced candidate following this node', rep(), true],
    ['behind by TXIDs: LiteFS streams them before the handoff frame', rep({ txid: 7n }), true],
    [
      'LiteFS alone, following this node (LiteFS refuses it if not connected)',
      rep({ evidence: 'litefs', synced: undefined, lagMs: undefined }),
      true,
    ],
    ['not a candidate', rep({ candidate: false }), false, /not a candidate/],
    ['following another node', rep({ primaryHostname: 'node-z' }), false, /follows node-z/],
    ['following nobody', rep({ primaryHostname: '' }), false, /follows no primary/],
    ['its supervisor says not synced', rep({ synced: false }), false, /not synced/],
    ['lag above --max-lag', rep({ lagMs: 20_000 }), false, /lag 20000ms/],
    ['no data while this node has data', rep({ txid: 0n, pages: 1 }), false, /no data/],
    ['no copy at all', { ...rep(), dbs: {} }, false, /no copy/],
  ];
  for (const [name, p, ok, why] of rows) {
    const r = handoverEligible(p, own, SELF, 10_000);
    t.equal(r.ok, ok, name);
    if (!r.ok && why) t.match(r.why, why, name);
  }
  t.ok(
    handoverEligible(rep({ txid: 0n, pages: 1 }), emptyOwn, SELF, 10_000).ok,
    'an empty primary may hand to an empty replica (nothing to lose)',
  );
});

t.test('handoverTarget', async (t) => {
  const r = report([
    rep({ nodeId: '1111111111111111', txid: 9n, pages: 3 }),
    rep({ nodeId: '2222222222222222', txid: 10n, pages: 3 }),
    rep({ nodeId: '3333333333333333', txid: 12n, candidate: false }),
    rep({ nodeId: '4444444444444444', txid: 12n, clusterId: 'LFSC0000000000000099' }),
    silent(),
  ]);
  t.equal(handoverTarget(r, own, CLUSTER, SELF, 10_000)?.nodeId, '2222222222222222');
  t.equal(
    handoverTarget(
      report([rep({ nodeId: 'BB' }), rep({ nodeId: 'AA' })]),
      own,
      CLUSTER,
      SELF,
      10_000,
    )?.nodeId,
    'AA',
    'equal evidence: the lowest node ID, as S4',
  );
  t.equal(handoverTarget(report([silent()]), own, CLUSTER, SELF, 10_000), undefined);
  t.equal(handoverTarget(report([]), own, CLUSTER, SELF, 10_000), undefined);
});

t.test('s5NewVersion', async (t) => {
  const cfg = {
    promoteWhen: 'new-version' as const,
    versionEnv: 'FLY_IMAGE_REF',
    appVersion: 'v2',
  };
  const primary = (
    appVersion: string | undefined,
    evidence: 'supervisor' | 'litefs' = 'supervisor',
  ) => rep({ isPrimary: true, appVersion, evidence });
  const rows: [string, Parameters<typeof s5NewVersion>, boolean, RegExp][] = [
    ['the primary runs another version', [cfg, primary('v1')], true, /runs v1, this node v2/],
    ['the primary reports none', [cfg, primary(undefined)], true, /reports no app version/],
    ['the primary has no supervisor', [cfg, primary('v1', 'litefs')], true, /no app version/],
    ['the same version', [cfg, primary('v2')], false, /already runs this version/],
    [
      'no version here: as before',
      [{ ...cfg, appVersion: undefined }, primary('v2')],
      true,
      /FLY_IMAGE_REF is unset/,
    ],
    ['the primary did not answer: as before', [cfg, undefined], true, /did not answer/],
    ['always', [{ ...cfg, promoteWhen: 'always' }, primary('v2')], true, /always/],
  ];
  for (const [name, args, ok, why] of rows) {
    const r = s5NewVersion(...args);
    t.equal(r.ok, ok, name);
    t.match(r.why, why, name);
  }
  t.equal(
    primaryPeer(report([rep(), rep({ isPrimary: true, nodeId: 'CC' })]), CLUSTER)?.nodeId,
    'CC',
  );
});

t.test('mayHandOverOnStop', async (t) => {
  const base = {
    role: 'primary' as const,
    appRunning: true,
    commandRunning: false,
    fenced: false,
    config: { handoffTimeout: 1000, peers: 'x.internal', standalone: false },
  };
  t.ok(mayHandOverOnStop(base), 'a running primary with peers');
  const no: [string, Partial<typeof base> & Record<string, unknown>][] = [
    ['a replica', { role: 'replica' as never }],
    ['role unknown', { role: 'unknown' as never }],
    ['no app running', { appRunning: false }],
    ['a migration running (S10)', { commandRunning: true }],
    ['fenced (S4 hands over already)', { fenced: true }],
    ['--handoff-timeout 0', { config: { ...base.config, handoffTimeout: 0 } }],
    ['no --peers', { config: { ...base.config, peers: undefined as never } }],
    ['standalone', { config: { ...base.config, standalone: true } }],
  ];
  for (const [name, over] of no) t.notOk(mayHandOverOnStop({ ...base, ...over }), name);
});
