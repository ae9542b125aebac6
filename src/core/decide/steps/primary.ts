// A primary's checks before it writes, once per primary term (S2/S3 with the peers, S13):
// passed, waiting (an unreadable db, peers still to answer within --peer-wait) or fenced (S4).

import { clusterIdOf, dbViewsOf } from '../../derive.js';
import { gathersEvidence } from '../../policy.js';
import { primaryChecks } from '../../rules.js';
import { peerRetryAt, reached } from '../deadlines.js';
import { describeDb, describeHwm } from '../describe.js';
import type { Draft, Verdict } from '../draft.js';
import { enterFence } from './fence.js';
import { haltOwnWrites } from './self-halt.js';

/** The pipeline's step: a primary's checks (a replica goes on). */
export function primaryCleared(d: Draft): Verdict {
  return d.s.role === 'primary' ? checkPrimary(d, false) : 'continue';
}

/**
 * 'continue' once this term's checks passed (now or before); 'done' while they wait or
 * after a fence. `appRunning`: S7, the app runs while they are made.
 */
export function checkPrimary(d: Draft, appRunning: boolean): Verdict {
  const { s, config } = d;
  if (s.term.cleared) return 'continue';
  const dbs = dbViewsOf(s.observation, config);
  if (s.phase !== 'checking') {
    d.enter(
      'checking',
      appRunning
        ? 'this node became primary while its app runs; checking its databases (S7)'
        : 'this node is primary; checking its databases before it writes',
      'primary.check',
      { dbs: dbs.map(describeDb).join(','), hwm: describeHwm(s.hwm.dbs) },
    );
  }
  // S7: no write commits between the lease and the verdict (steps/self-halt.ts).
  if (appRunning) haltOwnWrites(d);
  const usePeers = gathersEvidence(config);
  if (usePeers && (s.peers?.purpose !== 'check' || s.peers.firstAskedAt < s.since)) {
    d.askPeers('check');
    return 'done';
  }
  if (usePeers && !s.peers?.report) return 'done'; // waiting for the answers
  const verdict = primaryChecks(
    {
      dbs,
      hwm: config.standalone ? {} : s.hwm.dbs,
      clusterId: clusterIdOf(s.observation),
      peers: usePeers ? s.peers?.report : undefined,
      recordKey: config.clusterRecord,
      waitedForPeersMs: s.peers ? d.now - s.peers.firstAskedAt : 0,
    },
    config,
  );
  if (verdict.kind === 'wait') {
    if (s.reason !== verdict.why) {
      d.enter('checking', verdict.why, 'primary.wait-db', { level: 'warn' });
    }
    if (verdict.askPeers && s.peers && reached(peerRetryAt(s.peers), d.now)) d.askPeers('check');
    return d.waitIn('checking', verdict.why, 'primary.wait-db');
  }
  if (verdict.kind === 'fence') {
    enterFence(d, verdict.why, verdict.action);
    return 'done';
  }
  s.term.cleared = true;
  s.term.bootstrap = verdict.bootstrap;
  // S14: a peer handing this node the lease while its own app cannot serve says so.
  const self = s.observation?.info.ok ? s.observation.info.value.nodeId : undefined;
  s.term.handedBackBy =
    self === undefined
      ? undefined
      : s.peers?.report?.answers.find((a) => a.ok && a.handingBackTo === self)?.url;
  d.log(
    'info',
    'primary.cleared',
    verdict.bootstrap
      ? `primary with an empty database and nothing that says data exists elsewhere (--bootstrap ${config.bootstrap}): initialising a new cluster`
      : 'primary with a database that is not behind its high-water mark or any peer',
    {
      dbs: dbs.map(describeDb).join(','),
      peers: usePeers ? s.peers?.report?.answers.length : undefined,
      bootstrap: verdict.bootstrap || undefined,
    },
  );
  return 'continue';
}
