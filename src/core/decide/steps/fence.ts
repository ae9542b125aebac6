// S4 fenced: no writes. No migration, no app (a running one is stopped); the node hands the
// lease to the most advanced connected candidate peer, retrying, and exits 4 after
// --fence-timeout of fenced time (added up across lease flaps). Once the lease has moved it
// carries on as a replica.

import { clusterIdOf, type DbView, dbViewsOf } from '../../derive.js';
import { EXIT } from '../../exit-code.js';
import { mostAdvancedCandidate } from '../../peers.js';
import { asksPeers } from '../../policy.js';
import { s13HistoryLost } from '../../rules.js';
import {
  FENCE_WINDOW_MS,
  fencedMs,
  fenceExitAt,
  HANDOFF_RETRY_MS,
  handoffRetryAt,
  reached,
  recentSpells,
} from '../deadlines.js';
import { describeAnswers, describeDb, describePeer } from '../describe.js';
import type { Draft, Verdict } from '../draft.js';

export function enterFence(d: Draft, why: string, action: string, historyLost = false): void {
  const s = d.s;
  s.fences += 1;
  s.fence = {
    since: d.now,
    why,
    action,
    historyLost,
    attempts: 0,
    // The handoff retry interval holds across spells (lease flaps): see lastHandoffAt.
    lastAttemptAt:
      s.lastHandoffAt !== undefined && d.now < s.lastHandoffAt + HANDOFF_RETRY_MS
        ? s.lastHandoffAt
        : undefined,
    handedTo: undefined,
  };
  s.current = undefined;
  d.enter('fenced', why, 'fence.enter', {
    level: 'error',
    action,
    fenceTimeout: d.config.fenceTimeout,
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
    d.log('info', 'fence.leave', `no longer primary (role ${s.role}); carrying on as a replica`, {
      handedTo: fence.handedTo,
      fencedMs: d.now - fence.since,
    });
    s.fencedSpells = [...recentSpells(s, d.now), { since: fence.since, until: d.now }];
    s.fence = undefined;
    s.peers = undefined;
    if (s.app.status === 'stopping' && s.app.pid === undefined) s.app.status = 'exited';
    return 'continue';
  }
  const dbs = dbViewsOf(s.observation, config);
  if (fence.historyLost && repaired(dbs)) {
    // S13's cause is gone: the repair (`litefs export`, then `litefs import`) gave every gated
    // db a new history. The checks run again from the start (S2 with peers and the record).
    d.log(
      'info',
      'fence.leave',
      'no gated db has lost its history any more (repaired); checking again',
      {
        fencedMs: d.now - fence.since,
        dbs: dbs.map(describeDb).join(','),
      },
    );
    s.fencedSpells = [...recentSpells(s, d.now), { since: fence.since, until: d.now }];
    s.fence = undefined;
    s.peers = undefined;
    return 'continue';
  }
  if (reached(fenceExitAt(s, fence, config, d.now), d.now)) {
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
  if (!asksPeers(config)) {
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
  // Each attempt asks the peers afresh: who is connected and most advanced changes.
  const q = s.peers;
  const fresh = q?.purpose === 'check' && q.askedAt >= (fence.lastAttemptAt ?? fence.since);
  if (!fresh) {
    d.askPeers('check');
    return 'done';
  }
  if (!q.report) return 'done'; // waiting for the answers
  fence.lastAttemptAt = d.now;
  const own = dbViewsOf(s.observation, config);
  const target = mostAdvancedCandidate(q.report, own, clusterIdOf(s.observation));
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
  d.actions.push({ type: 'handoff', nodeId: target.nodeId });
  return 'done';
}

/** S13's cause is gone: every gated db reads, and none holds data at TXID 0. */
function repaired(dbs: DbView[]): boolean {
  return dbs.every((db) => db.unreadable === undefined) && s13HistoryLost(dbs).length === 0;
}
