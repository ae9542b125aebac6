// Stopping: once a stop signal arrived nothing new starts. A primary whose app runs may first
// hand the lease to a synced candidate (handover on stop), bounded by --handoff-timeout; its app
// keeps running until LiteFS shows the move, then it is stopped as without a handover.

import { clusterIdOf, dbViewsOf, primaryHostnameOf } from '../../derive.js';
import { handoverTarget } from '../../peers.js';
import type { Input, LogLevel } from '../../state.js';
import { due, HALT_WAIT_SERVING_MS } from '../deadlines.js';
import { describeAnswers, describePeer } from '../describe.js';
import type { Draft, Verdict } from '../draft.js';

/** Handover on stop: the app keeps running while the peers are asked and the lease moves. */
export function beginHandover(d: Draft, signal: string): void {
  const { config } = d;
  d.s.handover = {
    since: d.now,
    signal,
    target: undefined,
    accepted: false,
    until: d.now + config.handoffTimeout,
  };
  d.enter(
    'stopping',
    `${signal} received; handing the lease to a synced candidate before stopping the app`,
    'handover.begin',
    { signal, handoffTimeout: config.handoffTimeout },
  );
  d.askPeers('handover');
}

/** Shutting down: nothing new starts; a handover under way takes its next step. */
export function stopping(d: Draft, input: Input): Verdict {
  if (!d.s.shutdown) return 'continue';
  if (d.s.handover) continueHandover(d, input);
  return 'done';
}

/**
 * The handover on stop, its next step. Done once LiteFS no longer shows this node as primary
 * (a 200 from /handoff only means the request was taken: docs/litefs-facts.md); no eligible
 * candidate, a failed /handoff or --handoff-timeout ends it too. Each end stops the app as before.
 */
function continueHandover(d: Draft, input: Input): void {
  const { s, config } = d;
  const h = s.handover!;
  if (input.type === 'handoff-result' && h.target === input.nodeId && !input.ok) {
    endHandover(
      d,
      'warn',
      'handover.fail',
      `handing the lease to node ${input.nodeId} failed: ${input.error}`,
      {
        nodeId: input.nodeId,
      },
    );
    return;
  }
  if (s.app.status !== 'running') {
    s.handover = undefined; // the app ended by itself: its exit ends the run
    return;
  }
  if (s.role !== 'primary') {
    endHandover(
      d,
      'info',
      'handover.done',
      h.target === undefined
        ? `the lease left this node (role ${s.role}) before a handover was asked; stopping the app`
        : `the lease moved to node ${h.target} (this node is now ${s.role}); stopping the app`,
      { nodeId: h.target, primary: primaryHostnameOf(s.observation) },
    );
    return;
  }
  if (due('handover-timeout', s, config, d.now)) {
    endHandover(
      d,
      'warn',
      'handover.timeout',
      `the lease did not move within --handoff-timeout ${config.handoffTimeout}ms; stopping the app (LiteFS releases the lease when it exits)`,
      { nodeId: h.target, accepted: h.accepted },
    );
    return;
  }
  if (h.target !== undefined) return; // waiting for LiteFS to show the move
  const q = s.peers;
  if (q?.purpose !== 'handover' || !q.report) return; // waiting for the answers
  const own = dbViewsOf(s.observation, config);
  const self = d.ownHostnames();
  const target = handoverTarget(q.report, own, clusterIdOf(s.observation), self, config.maxLag);
  if (!target) {
    endHandover(
      d,
      'info',
      'handover.none',
      'no synced candidate that follows this node and has its data answered; stopping the app (LiteFS releases the lease when it exits)',
      { peers: describeAnswers(q.report.answers) },
    );
    return;
  }
  h.target = target.nodeId;
  d.log(
    'info',
    'handover.request',
    `handing the lease to node ${target.nodeId} (${target.url}), the most advanced synced candidate, before stopping`,
    {
      nodeId: target.nodeId,
      peer: target.url,
      peerTxid: describePeer(target),
      lagMs: target.lagMs,
    },
  );
  // Its app still takes writes until the lease moves (section 4).
  d.actions.push({ type: 'handoff', nodeId: target.nodeId, haltWaitMs: HALT_WAIT_SERVING_MS });
}

/** Handover on stop: the handover is over, whatever its outcome: stop the app as before. */
function endHandover(
  d: Draft,
  level: LogLevel,
  event: string,
  msg: string,
  fields: Record<string, unknown>,
): void {
  const s = d.s;
  const h = s.handover!;
  s.handover = undefined;
  d.log(level, event, msg, { ...fields, durationMs: d.now - h.since });
  if (s.app.status !== 'running') return;
  s.app.status = 'stopping';
  d.enter('stopping', `${h.signal} received; stopping the app`, 'state.stopping', {});
  d.log('info', 'signal.forward', `forwarding ${h.signal} to the app`, {
    signal: h.signal,
    pid: s.app.pid,
    shutdownTimeout: d.config.shutdownTimeout,
  });
  d.actions.push({ type: 'stop-app', signal: h.signal });
}
