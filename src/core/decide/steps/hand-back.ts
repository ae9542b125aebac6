// S14 a serving primary: the lease sits with an app that cannot serve only for the migration
// itself. A cleared primary whose app boots, whose failed migration waits for its next try, or
// whose app crashed and waits for its restart hands the lease to a synced candidate whose app is
// ready (handBackTarget), and takes it back when it can serve: after `boot` once its app is
// ready (when it asked for the lease itself, S5: a new version), after `retry` when the next try
// is due. A migration whose tries are spent hands the lease over for good (`spent`).

import { clusterIdOf, dbViewsOf, primaryHostnameOf, syncOf } from '../../derive.js';
import { EXIT } from '../../exit-code.js';
import type { PeerReport } from '../../peer-types.js';
import { handBackTarget } from '../../peers.js';
import { asksPeers, type Policy } from '../../policy.js';
import { s5MayPromote, s14CannotServe } from '../../rules.js';
import type { HandBackState, HandBackWhy, Input } from '../../state.js';
import {
  due,
  HALT_WAIT_IDLE_MS,
  HALT_WAIT_SERVING_MS,
  HANDBACK_RETRY_MS,
  PROMOTE_ATTEMPTS,
} from '../deadlines.js';
import { describeAnswers, describePeer } from '../describe.js';
import type { Draft, Verdict } from '../draft.js';

/** Whether S14 hands the lease back at all: `--hand-back on` and peers to hand it to. */
export function handsBack(config: Policy): boolean {
  return config.handBack === 'on' && asksPeers(config);
}

/** S14: how long spent tries look for a node whose app serves before the run exits 3. */
export const SPENT_WAIT_MS = 5000;

const WHY: Record<HandBackWhy, string> = {
  boot: 'its app is not ready yet',
  retry: 'a failed migration waits for its next try',
  crash: 'its app exited and waits for its restart',
  spent: "a migration's tries are spent",
};

/** Begin a hand-back: ask the peers which synced candidate has a ready app. */
export function beginHandBack(d: Draft, why: HandBackWhy): void {
  d.s.handBack = {
    why,
    since: d.now,
    target: undefined,
    targetUrl: undefined,
    asked: undefined,
    lastAttemptAt: undefined,
    moved: false,
    reclaims: 0,
    lastReclaimAt: undefined,
    noneWarned: false,
  };
  d.log(
    'info',
    'handback.begin',
    `this primary cannot serve writes (${WHY[why]}): asking the peers for a synced candidate whose app is ready`,
    { why },
  );
  askForTarget(d, d.s.handBack);
}

/** Ask the peers which synced candidate has a ready app (one try; the next 3 s later). */
function askForTarget(d: Draft, hb: HandBackState): void {
  hb.lastAttemptAt = d.now;
  d.askPeers('handback');
  hb.asked = d.s.peers?.token;
}

/** The pipeline's step (after the fence, before the app's lifecycle). */
export function handBack(d: Draft, input: Input): Verdict {
  const { s, config } = d;
  if (!handsBack(config) || s.shutdown || s.fence) return 'continue';
  if (s.role === 'primary') return asPrimary(d, input);
  if (s.role === 'replica' && s.handBack) return asReplica(d);
  return 'continue';
}

function asPrimary(d: Draft, input: Input): Verdict {
  const { s } = d;
  const hb = s.handBack;
  if (hb?.moved) {
    // The lease is back: taken back (a reclaim), or handed here by another node.
    s.handBack = undefined;
    d.log(
      'info',
      'handback.reclaimed',
      hb.reclaims > 0
        ? `this node holds the lease again (${WHY[hb.why]} no longer)`
        : 'the lease came back to this node',
      { why: hb.why, awayMs: d.now - hb.since },
    );
    return 'continue';
  }
  const why = hb?.why === 'spent' ? 'spent' : s14CannotServe(s, d.now);
  if (why === undefined) {
    if (hb && handoffUnderway(d, hb, input)) {
      // LiteFS carries out a handoff it was asked for whatever the app does meanwhile: keep
      // the hand-back, so that once the lease has moved this node takes it back (asReplica)
      // instead of staying a replica with a ready app. Cancelled only if the move fails.
      return 'continue';
    }
    if (hb) {
      // It can serve again (its app became ready) before the lease moved.
      s.handBack = undefined;
      d.log('info', 'handback.cancel', 'this primary can serve again; keeping the lease', {
        why: hb.why,
      });
    }
    return 'continue';
  }
  if (!hb) {
    beginHandBack(d, why);
    return why === 'spent' ? 'done' : 'continue';
  }
  hb.why = why;
  if (input.type === 'handoff-result' && hb.target === input.nodeId && !input.ok) {
    d.log(
      'warn',
      'handback.fail',
      `handing the lease to node ${input.nodeId} failed: ${input.error}; trying again in ${HANDBACK_RETRY_MS}ms`,
      { nodeId: input.nodeId },
    );
    hb.target = undefined;
  }
  const q = s.peers;
  if (hb.asked !== undefined && q?.token === hb.asked && q.report) {
    // The answer to this hand-back's question: used once; the next try asks afresh
    // (HANDBACK_RETRY_MS after an answer with no candidate, 3 s after a handoff sent).
    hb.asked = undefined;
    hb.lastAttemptAt = d.now;
    if (chooseTarget(d, hb, q.report) === 'exited') return 'done';
  } else if (hb.asked === undefined && due('handback-retry', s, d.config, d.now)) {
    // The next try: no candidate answered, LiteFS refused, or the move did not come.
    hb.target = undefined;
    askForTarget(d, hb);
  }
  return hb.why === 'spent' ? 'done' : 'continue';
}

/** A handoff was sent and neither refused nor overdue: the lease may move any moment. */
function handoffUnderway(d: Draft, hb: HandBackState, input: Input): boolean {
  if (hb.target === undefined) return false;
  if (input.type === 'handoff-result' && input.nodeId === hb.target && !input.ok) return false;
  return !due('handback-retry', d.s, d.config, d.now);
}

function chooseTarget(
  d: Draft,
  hb: HandBackState,
  report: PeerReport,
): 'exited' | 'chosen' | 'none' {
  const { s, config } = d;
  const own = dbViewsOf(s.observation, config);
  const target = handBackTarget(
    report,
    own,
    clusterIdOf(s.observation),
    d.ownHostnames(),
    config.maxLag,
  );
  if (!target) {
    // Spent tries: a peer that lost the lease a moment ago may not follow this node yet (LiteFS
    // reconnects within a second or two), so the peers are asked for SPENT_WAIT_MS first.
    if (hb.why === 'spent' && d.now - hb.since >= SPENT_WAIT_MS) {
      // No other node can serve: as before S14, the run ends (Fly restarts the machine).
      d.exit(
        EXIT.commandFailed,
        'error',
        'migrate.give-up',
        `a --migrate command failed and has no retries left, and no synced candidate with a ready app answered within ${SPENT_WAIT_MS}ms to take the lease; the app is not started`,
        {
          peers: describeAnswers(report.answers),
          hint: 'fix the command or the database and redeploy; nothing after it was run',
        },
      );
      return 'exited';
    }
    // Warned once per hand-back; the tries after it (every 500 ms) at debug.
    d.log(
      hb.noneWarned ? 'debug' : 'warn',
      'handback.none',
      `no synced candidate whose app is ready answered; keeping the lease (${WHY[hb.why]}), asking again every ${HANDBACK_RETRY_MS}ms`,
      { why: hb.why, peers: describeAnswers(report.answers) },
    );
    hb.noneWarned = true;
    return 'none';
  }
  hb.target = target.nodeId;
  hb.targetUrl = target.url;
  d.log(
    'info',
    'handback.request',
    `handing the lease to node ${target.nodeId} (${target.url}), a synced candidate whose app is ready, while ${WHY[hb.why]}`,
    { why: hb.why, nodeId: target.nodeId, peer: target.url, peerTxid: describePeer(target) },
  );
  // This node's app serves nothing while it hands back (section 4).
  d.actions.push({ type: 'handoff', nodeId: target.nodeId, haltWaitMs: HALT_WAIT_IDLE_MS });
  return 'chosen';
}

/** After the lease moved: wait until this node can serve, then take the lease back if due. */
function asReplica(d: Draft): Verdict {
  const { s } = d;
  const hb = s.handBack!;
  if (!hb.moved) {
    hb.moved = true;
    d.log(
      'info',
      'handback.done',
      `the lease moved to ${primaryHostnameOf(s.observation) ?? `node ${hb.target ?? '?'}`} while ${WHY[hb.why]}`,
      { why: hb.why, nodeId: hb.target, durationMs: d.now - hb.since },
    );
  }
  if (hb.why === 'spent') {
    const reason = `a migration's tries are spent; the lease is with ${primaryHostnameOf(s.observation) ?? 'another node'}, whose app serves; this node waits without its app (fix the migration and redeploy)`;
    if (s.phase !== 'migrating' || s.reason !== reason) {
      d.enter('migrating', reason, 'migrate.given-up', { level: 'error' });
    }
    return 'done';
  }
  if (hb.why === 'retry') {
    const next = d.nextToRun('migrate');
    if (next?.retryAt !== undefined && hb.lastReclaimAt === undefined && next.retryAt > d.now) {
      return d.waitFor(
        'migrate-retry',
        'migrating',
        `migration ${d.ordinal(next)} failed; the lease is with ${primaryHostnameOf(s.observation) ?? 'another node'} until its next try at ${new Date(next.retryAt).toISOString()}`,
        'handback.wait',
        { retryAt: new Date(next.retryAt).toISOString() },
      );
    }
    return reclaim(d, hb);
  }
  // boot, crash: nothing to do until the app is ready (its lifecycle goes on as a replica's).
  if (s.app.status !== 'running' || !s.app.ready) return 'continue';
  if (hb.why === 'boot' && s.promote.attempts > 0) return reclaim(d, hb);
  s.handBack = undefined;
  d.log('info', 'handback.end', 'the app is ready; carrying on as a replica', { why: hb.why });
  return 'continue';
}

/** Ask for the lease back (S5's request; S5's conditions: synced, not behind). */
function reclaim(d: Draft, hb: HandBackState): Verdict {
  const { s, config } = d;
  const waitVerdict: Verdict = hb.why === 'retry' ? 'done' : 'continue';
  if (hb.lastReclaimAt !== undefined && !due('reclaim-retry', s, config, d.now)) {
    return waitVerdict;
  }
  const obs = s.observation;
  const sync = syncOf(obs, config.maxLag);
  // A replica that held the lease a moment ago is synced within milliseconds.
  if (!sync.synced || obs?.info.ok !== true) return waitVerdict;
  const may = s5MayPromote(obs.info.value.candidate, true, dbViewsOf(obs, config), s.hwm.peak);
  if (!may.ok || hb.reclaims >= PROMOTE_ATTEMPTS) {
    const why = may.ok ? `still a replica after ${PROMOTE_ATTEMPTS} requests` : may.why;
    if (hb.why === 'retry') {
      hb.why = 'spent';
      d.log(
        'error',
        'handback.reclaim-fail',
        `cannot take the lease back for the migration's next try: ${why}`,
        {},
      );
      return 'done';
    }
    s.handBack = undefined;
    d.log(
      'warn',
      'handback.reclaim-fail',
      `not taking the lease back: ${why}; carrying on as a replica`,
      {},
    );
    return 'continue';
  }
  hb.reclaims += 1;
  hb.lastReclaimAt = d.now;
  d.log(
    'info',
    'handback.reclaim',
    hb.why === 'retry'
      ? `taking the lease back for the migration's next try (request ${hb.reclaims})`
      : `the app is ready: taking the lease back (request ${hb.reclaims})`,
    { why: hb.why, primary: primaryHostnameOf(s.observation) },
  );
  // The node handed to holds the lease now: its writes are halted across the move back.
  d.actions.push({ type: 'promote', haltAt: hb.targetUrl, haltWaitMs: HALT_WAIT_SERVING_MS });
  return waitVerdict;
}
