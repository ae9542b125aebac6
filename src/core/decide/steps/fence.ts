// S4 fenced: no writes. No migration, no app (a running one is stopped); the node hands the
// lease to the most advanced connected candidate peer, retrying, and exits 4 after
// --fence-timeout of fenced time (added up across lease flaps). Once the lease has moved it
// carries on as a replica; once the checks pass again on fresh evidence, it checks again as a
// new primary would.

import { clusterIdOf, type DbView, dbViewsOf } from '../../derive.js';
import { EXIT } from '../../exit-code.js';
import { mostAdvancedCandidate } from '../../peers.js';
import { asksPeers, gathersEvidence } from '../../policy.js';
import { primaryChecks, s13KeepsLease } from '../../rules.js';
import type { FenceState } from '../../state.js';
import {
  due,
  FENCE_WINDOW_MS,
  fencedMs,
  HALT_WAIT_IDLE_MS,
  HANDOFF_RETRY_MS,
  handoffRetryAt,
  reached,
  recentSpells,
} from '../deadlines.js';
import { describeAnswers, describeDb, describePeer } from '../describe.js';
import type { Draft, Verdict } from '../draft.js';

export function enterFence(d: Draft, why: string, action: string): void {
  const s = d.s;
  s.fences += 1;
  s.fence = {
    since: d.now,
    why,
    action,
    fencedBy: s.peers?.token,
    // Every attempt asks afresh, the first too: the answer that fenced it counts as used.
    usedToken: s.peers?.token,
    attempts: 0,
    // The handoff retry interval holds across spells (lease flaps): see lastHandoffAt.
    lastAttemptAt:
      s.lastHandoffAt !== undefined && d.now < s.lastHandoffAt + HANDOFF_RETRY_MS
        ? s.lastHandoffAt
        : undefined,
    handedTo: undefined,
  };
  s.current = undefined;
  const keeps = s13KeepsLease(dbViewsOf(s.observation, d.config), s.hwm.retired);
  d.enter('fenced', why, 'fence.enter', {
    level: 'error',
    action,
    // S13: the newest rows the cluster is known to have are here; no exit 4 frees the lease
    // for an older copy.
    fenceTimeout: keeps
      ? 'none: keeps the lease (S13, retired high-water mark)'
      : d.config.fenceTimeout,
  });
  if (s.app.status === 'running' || s.app.status === 'starting') {
    // S4/S7: a fenced node writes nothing, so its app must not run either.
    d.log('warn', 'app.stop', 'stopping the app: this node is fenced', { pid: s.app.pid });
    if (s.app.status === 'running') d.actions.push({ type: 'stop-app', signal: 'SIGTERM' });
    s.app.status = 'stopping';
  }
  holdFence(d);
}

/** While fenced: 'done' (nothing else happens) until the lease has moved ('continue'). */
export function holdFence(d: Draft): Verdict {
  const { s, config } = d;
  const fence = s.fence;
  if (!fence) return 'continue';
  if (s.role !== 'primary') {
    leaveFence(d, `no longer primary (role ${s.role}); carrying on as a replica`, {
      handedTo: fence.handedTo,
    });
    if (s.app.status === 'stopping' && s.app.pid === undefined) s.app.status = 'exited';
    return 'continue';
  }
  const own = dbViewsOf(s.observation, config);
  if (checksPassNow(d, fence, own)) {
    // The cause is gone: a repair by `litefs import` gave a history-lost db a new one (S13),
    // or the peer that was ahead is not any more (LiteFS overwrote the transactions it had
    // that this node lacks: lost already, not by writing here). The checks run again from the
    // start, with fresh evidence, as for a new primary.
    leaveFence(d, 'the primary checks pass now (S2, S3, S13); checking again from the start', {
      dbs: own.map(describeDb).join(','),
    });
    return 'continue';
  }
  if (due('fence-timeout', s, config, d.now)) {
    const spent = fencedMs(s, fence, d.now);
    const flaps = recentSpells(s, d.now).length;
    return d.exit(
      EXIT.fenced,
      'error',
      'fence.exit',
      flaps === 0
        ? `still fenced after --fence-timeout: ${fence.why}; exiting so LiteFS releases the lease`
        : `fenced for ${spent}ms in the last ${FENCE_WINDOW_MS / 60_000} minutes across ${flaps + 1} spells (the lease keeps coming back): ${fence.why}; exiting so LiteFS releases the lease`,
      { action: fence.action, handoffAttempts: fence.attempts, fencedMs: spent, spells: flaps + 1 },
    );
  }
  const retryAt = handoffRetryAt(fence);
  if (retryAt !== undefined && !reached(retryAt, d.now)) return 'done';
  // S7: this node's own write lock goes first (once the app exited, at most 2 s): the handoff
  // halts this node's writes with a lock of its own, which LiteFS grants only after ours.
  if (s.selfHalt !== undefined) return 'done';
  if (!gathersEvidence(config)) {
    if (fence.lastAttemptAt === undefined) {
      fence.lastAttemptAt = d.now;
      d.log(
        'warn',
        'handoff.none',
        'no --peers to hand the lease to; waiting for --fence-timeout',
        {},
      );
    }
    return 'done';
  }
  // Each attempt gathers the evidence afresh: who is connected and most advanced changes, and
  // whether this node is still behind (checksPassNow reads the answer).
  // Each attempt needs an answer no attempt has used (the one that fenced it counts as used).
  const q = s.peers;
  if (q?.purpose !== 'check' || q.token === fence.usedToken) {
    d.askPeers('check');
    return 'done';
  }
  if (!q.report) return 'done'; // waiting for the answers
  fence.usedToken = q.token;
  fence.lastAttemptAt = d.now;
  if (!asksPeers(config)) {
    d.log('warn', 'handoff.none', 'no --peers to hand the lease to; retrying the checks', {});
    return 'done';
  }
  const target = mostAdvancedCandidate(q.report, own, clusterIdOf(s.observation), s.hwm.retired);
  if (!target) {
    // S4: never to an empty peer or one with less than this node's evidence.
    d.log(
      'warn',
      'handoff.none',
      "no candidate peer with data and at least this node's evidence answered; not handing the lease to a peer that would write less; retrying",
      { own: own.map(describeDb).join(','), peers: describeAnswers(q.report.answers) },
    );
    return 'done';
  }
  fence.attempts += 1;
  d.log(
    'info',
    'handoff.request',
    `handing the lease to node ${target.nodeId} (${target.url}), the most advanced candidate`,
    { nodeId: target.nodeId, peer: target.url, peerTxid: describePeer(target) },
  );
  s.lastHandoffAt = d.now;
  // A fenced node's app is stopped (section 4).
  d.actions.push({ type: 'handoff', nodeId: target.nodeId, haltWaitMs: HALT_WAIT_IDLE_MS });
  return 'done';
}

/** The fence ends: its spell counts towards --fence-timeout across lease flaps. */
function leaveFence(d: Draft, why: string, fields: Record<string, unknown>): void {
  const s = d.s;
  const fence = s.fence;
  if (!fence) return;
  d.log('info', 'fence.leave', why, { ...fields, fencedMs: d.now - fence.since });
  s.fencedSpells = [...recentSpells(s, d.now), { since: fence.since, until: d.now }];
  s.fence = undefined;
  s.peers = undefined;
}

/**
 * Whether the primary checks that fenced this node would pass now: on this observation and,
 * where the checks gather evidence (peers, the cluster record), on an answer asked for during
 * this fence, never on the one that fenced it. Only a plain pass counts: waiting (a peer that
 * does not answer) keeps the fence.
 */
function checksPassNow(d: Draft, fence: FenceState, own: DbView[]): boolean {
  const { s, config } = d;
  const evidence = gathersEvidence(config);
  const q = s.peers;
  const fresh = q?.purpose === 'check' && q.token !== fence.fencedBy && q.askedAt >= fence.since;
  const report = fresh ? q.report : undefined;
  if (evidence && report === undefined) return false;
  const verdict = primaryChecks(
    {
      dbs: own,
      hwm: s.hwm.dbs,
      clusterId: clusterIdOf(s.observation),
      peers: report,
      recordKey: config.clusterRecord,
      waitedForPeersMs: 0,
    },
    config,
  );
  return verdict.kind === 'proceed';
}
