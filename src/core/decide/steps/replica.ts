// A replica's path before its app: synced with its primary (within --max-lag), then S5 with
// --promote: a synced candidate asks for the lease (once per new version with
// --promote-when new-version), at most PROMOTE_ATTEMPTS times, --promote-timeout apart.

import { clusterIdOf, dbViewsOf, primaryHostnameOf, syncOf } from '../../derive.js';
import { type AnsweredPeer, primaryPeer, primaryUrl } from '../../peers.js';
import { asksPeers } from '../../policy.js';
import { s5MayPromote, s5NewVersion } from '../../rules.js';
import { HALT_WAIT_SERVING_MS, PROMOTE_ATTEMPTS, promoteRetryAt, reached } from '../deadlines.js';
import type { Draft, Verdict } from '../draft.js';

export function replicaSynced(d: Draft): Verdict {
  const s = d.s;
  if (s.role !== 'replica') return 'continue';
  const sync = syncOf(s.observation, d.config.maxLag);
  if (!sync.synced) {
    return d.waitIn('syncing', `replica not synced yet: ${sync.detail}`, 'sync.wait', {
      lagMs: sync.lagMs,
    });
  }
  if (s.phase === 'syncing') {
    d.log('info', 'sync.done', `replica is synced: ${sync.detail}`, { lagMs: sync.lagMs });
  }
  return 'continue';
}

/** S5 sync-first promotion, before the app starts: 'done' while a promotion is under way. */
export function promote(d: Draft): Verdict {
  const { s, config } = d;
  const obs = s.observation;
  if (s.role !== 'replica' || !obs) return 'continue';
  if (!config.promote || config.standalone || s.promote.done || !obs.info.ok) return 'continue';
  // The peak mark, not `hwm.dbs`: this observation has just lowered that to the position of
  // a synced replica, which would make "behind its mark" impossible to see here.
  const may = s5MayPromote(obs.info.value.candidate, true, dbViewsOf(obs, config), s.hwm.peak);
  if (!may.ok) {
    s.promote.done = true;
    d.log('warn', 'promote.skip', `not asking for the lease: ${may.why}`, {});
    return 'continue';
  }
  if (!s.promote.versionChecked) {
    // S5, --promote-when new-version: the lease moves once per new version, so ask the primary
    // which one it runs. The answer also names the primary's LiteFS, whose writes are halted
    // across the move (section 4), so the peers are asked with --promote-when always too.
    let primary: AnsweredPeer | undefined;
    if (asksPeers(config)) {
      const q = s.peers;
      if (q?.purpose !== 'promote') {
        d.enter(
          'promoting',
          config.promoteWhen === 'new-version' && config.appVersion !== undefined
            ? 'synced candidate asking the primary which app version it runs'
            : 'synced candidate asking the peers which node is primary',
          'promote.version-check',
          { appVersion: config.appVersion },
        );
        d.askPeers('promote');
        return 'done';
      }
      if (!q.report) return 'done'; // waiting for the answers
      primary = primaryPeer(q.report, clusterIdOf(obs));
    }
    const wants = s5NewVersion(config, primary);
    if (!wants.ok) {
      s.promote.done = true;
      d.log('info', 'promote.skip', `not asking for the lease: ${wants.why}`, {
        appVersion: config.appVersion,
        primaryVersion: primary?.appVersion,
      });
      return 'continue';
    }
    s.promote.versionChecked = true;
    if (config.promoteWhen === 'new-version' && config.appVersion !== undefined) {
      d.log('info', 'promote.new-version', wants.why, {
        appVersion: config.appVersion,
        primaryVersion: primary?.appVersion,
      });
    }
  }
  const retryAt = promoteRetryAt(s, config);
  if (retryAt !== undefined && !reached(retryAt, d.now)) return 'done';
  if (s.promote.attempts >= PROMOTE_ATTEMPTS) {
    s.promote.done = true;
    d.log(
      'warn',
      'promote.give-up',
      `still a replica after ${PROMOTE_ATTEMPTS} promotion requests; starting the app as a replica`,
      {},
    );
    return 'continue';
  }
  s.promote.attempts += 1;
  s.promote.lastAt = d.now;
  d.enter(
    'promoting',
    `synced candidate asking for the lease (attempt ${s.promote.attempts})`,
    'promote.request',
    { primary: primaryHostnameOf(obs) },
  );
  d.actions.push({
    type: 'promote',
    haltAt: primaryUrl(s.peers?.report, clusterIdOf(obs)),
    haltWaitMs: HALT_WAIT_SERVING_MS,
  });
  return 'done';
}
