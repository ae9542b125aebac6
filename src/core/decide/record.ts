// Recording: what an input tells us goes into the state, with the log line of what arrived.
// Nothing here exits, changes phase or asks for an action; the steps (pipeline.ts) act on
// what was recorded. Facts only the recording can see (the state before the input) are passed
// to the steps in `d.news`.

import { describeRecord } from '../cluster-record.js';
import { applyLitefsEvent, mergePoll } from '../derive.js';
import type { HaltOutcome } from '../litefs-types.js';
import type { PeerReport } from '../peer-types.js';
import type { Input } from '../state.js';
import { describePeer, tailOf } from './describe.js';
import type { Draft } from './draft.js';
import { recordRecordRead, recordRecordWritten } from './record-cluster.js';
import { recordHwmLoaded, recordObservation } from './record-observation.js';
import { recordSelfHalt } from './steps/self-halt.js';

export function record(d: Draft, input: Input): void {
  const s = d.s;
  switch (input.type) {
    case 'observation':
      recordObservation(d, mergePoll(s.observation, input.observation));
      return;
    case 'litefs-event':
      if (s.observation) recordObservation(d, applyLitefsEvent(s.observation, input.event, d.now));
      return;
    case 'command-started': {
      const cmd = s.commands[input.index];
      if (cmd) d.log('debug', `${cmd.kind}.spawned`, 'command spawned', { pid: input.pid });
      return;
    }
    case 'command-exit':
      recordCommandExit(d, input);
      return;
    case 'app-started':
      // Its status is the app step's to set: a stop may be due at once (steps/app.ts).
      s.app.pid = input.pid;
      s.app.startedAt = d.now;
      d.log('info', 'app.started', 'app is running', {
        pid: input.pid,
        command: d.config.command.join(' '),
      });
      return;
    case 'app-spawn-failed':
      s.app.status = 'exited';
      s.app.lastExit = { exitCode: input.exitCode, signal: undefined, at: d.now };
      return;
    case 'app-exit':
      // A stop we asked for (S4 fence) is never the app ending the run, even when the fence
      // ended (the lease moved on) before the app finished stopping.
      d.news.appStopAsked = s.app.status === 'stopping' && !s.shutdown;
      s.app.status = 'exited';
      s.app.pid = undefined;
      s.app.lastExit = { exitCode: input.exitCode, signal: input.signal, at: d.now };
      return;
    case 'signal':
      d.log('info', 'signal.received', `received ${input.signal}`, { signal: input.signal });
      return;
    case 'wake':
      return; // nothing to record: the steps compare the time with each deadline
    case 'hwm-loaded':
      recordHwmLoaded(d, input.load);
      return;
    case 'hwm-persisted':
      if (input.error) {
        d.log('warn', 'hwm.write-fail', `could not write the state file: ${input.error}`, {
          stateFile: d.config.stateFile,
        });
      }
      return;
    case 'peers':
      recordPeers(d, input.token, input.report);
      return;
    case 'record-written':
      recordRecordWritten(d, input);
      return;
    case 'promote-result':
      recordHalt(d, input.halt, input.ok, 'the promotion');
      recordPromoteResult(d, input);
      return;
    case 'handoff-result':
      recordHalt(d, input.halt, input.ok, `the handoff to node ${input.nodeId}`);
      recordHandoffResult(d, input);
      return;
    case 'backup-result':
      recordBackupResult(d, input);
      return;
    case 'self-halt-result':
    case 'self-unhalt-result':
      recordSelfHalt(d, input);
      return;
  }
}

/**
 * Whether the old primary's writes were halted across a lease move (docs/design.md section 4,
 * "Writes halted across a lease move"). Without it a write committed during the move can be
 * lost, so a move made without it is a warning that says why.
 */
function recordHalt(d: Draft, halt: HaltOutcome | undefined, moved: boolean, move: string): void {
  if (halt === undefined) return;
  if (halt.kind === 'skipped') {
    d.log(
      'warn',
      'halt.skipped',
      `${move} went ahead without halting the primary's writes: ${halt.why}; a write committed during the move can be lost (LiteFS's handoff)`,
      {},
    );
    return;
  }
  d.log(
    moved ? 'info' : 'debug',
    'halt.held',
    `the primary's writes were halted across ${move} (${halt.dbs.join(', ')}): lock taken in ${halt.waitedMs} ms, held ${halt.heldMs} ms`,
    { dbs: halt.dbs.join(','), waitedMs: halt.waitedMs, heldMs: halt.heldMs },
  );
  if (halt.releaseError !== undefined) {
    d.log(
      'warn',
      'halt.release-fail',
      `releasing the halt after ${move} failed: ${halt.releaseError}; LiteFS drops it after 30 s, writes on that node wait until then`,
      {},
    );
  }
}

/** The command's end and its outcome; a failure's consequences are steps/command-ended.ts's. */
function recordCommandExit(d: Draft, input: Extract<Input, { type: 'command-exit' }>): void {
  const s = d.s;
  const cmd = s.commands[input.index];
  if (!cmd) return;
  const stopRequested = s.current?.index === input.index && s.current.stopRequested;
  s.current = undefined;
  cmd.endedAt = d.now;
  cmd.exitCode = input.exitCode;
  cmd.signal = input.signal;
  if (s.shutdown) {
    // S10: a stop signal arrived while it ran (steps/command-ended.ts ends the run).
    cmd.status = input.exitCode === 0 ? 'done' : 'aborted';
    return;
  }
  const fields = d.exitFields(cmd, input);
  if (stopRequested) {
    // S6: we stopped it because the lease moved; the steps decide again as a replica.
    cmd.status = 'aborted';
    d.log(
      'warn',
      `${cmd.kind}.aborted`,
      'migration stopped because this node is no longer primary; it will run on whichever node holds the lease',
      fields,
    );
    return;
  }
  if (input.timedOut || input.exitCode !== 0 || input.spawnError) {
    cmd.status = input.timedOut ? 'timed-out' : 'failed';
    if (cmd.kind === 'migrate') {
      cmd.failures += 1;
      const output = tailOf(input.outputTail);
      cmd.lastOutput = output === undefined ? [] : output.split('\n');
    }
    return;
  }
  cmd.status = 'done';
  d.log('info', `${cmd.kind}.done`, `--${cmd.kind} command succeeded`, fields);
  if (cmd.kind === 'migrate' && !d.nextToRun('migrate')) {
    s.migrationsDone = true;
    d.log('info', 'migrate.complete', 'all migrations applied', {
      count: s.commands.filter((c) => c.kind === 'migrate').length,
    });
  }
}

function recordPeers(d: Draft, token: number, report: PeerReport): void {
  const q = d.s.peers;
  if (!q || q.token !== token) return; // an answer to an older question
  q.report = report;
  recordRecordRead(d, report);
  const answered = report.answers.filter((a) => a.ok);
  const missing = report.answers.filter((a) => !a.ok);
  d.log(
    missing.length > 0 || report.discoveryError || report.record?.kind === 'unreadable'
      ? 'warn'
      : 'info',
    'peers.report',
    `${answered.length} peer(s) answered, ${missing.length} did not`,
    {
      peers: answered.map((a) => `${a.url}@${a.ok ? describePeer(a) : ''}`).join(',') || undefined,
      unanswered: missing.map((a) => `${a.url} (${a.ok ? '' : a.error})`).join(', ') || undefined,
      discoveryError: report.discoveryError,
      record: report.record === undefined ? undefined : describeRecord(report.record),
    },
  );
}

function recordPromoteResult(d: Draft, r: Extract<Input, { type: 'promote-result' }>): void {
  if (r.ok) {
    d.log(
      'info',
      'promote.sent',
      'LiteFS accepted the promotion request; waiting for the lease',
      {},
    );
    return;
  }
  if (r.status === 409) {
    d.s.promote.done = true;
    d.log(
      'warn',
      'promote.refused',
      `LiteFS refused: this node is not a candidate (${r.error}); carrying on as a replica`,
      {},
    );
    return;
  }
  d.log(
    'warn',
    'promote.fail',
    `promotion request failed: ${r.error}; retrying after --promote-timeout`,
    {
      status: r.status,
    },
  );
}

function recordHandoffResult(d: Draft, r: Extract<Input, { type: 'handoff-result' }>): void {
  const h = d.s.handover;
  if (h && h.target === r.nodeId) {
    // A refused handover ends it: steps/shutdown.ts stops the app.
    if (!r.ok) return;
    h.accepted = true;
    d.log(
      'info',
      'handover.accepted',
      `LiteFS is handing the lease to node ${r.nodeId}; the app runs until it has moved`,
      { nodeId: r.nodeId, elapsedMs: d.now - h.since },
    );
    return;
  }
  const fence = d.s.fence;
  if (!fence) return;
  if (r.ok) {
    fence.handedTo = r.nodeId;
    d.log(
      'info',
      'handoff.accepted',
      `LiteFS is handing the lease to node ${r.nodeId}; this node will carry on as a replica`,
      { nodeId: r.nodeId },
    );
    return;
  }
  d.log(
    'warn',
    'handoff.fail',
    `handing the lease to node ${r.nodeId} failed: ${r.error}; retrying`,
    {
      nodeId: r.nodeId,
    },
  );
}

function recordBackupResult(d: Draft, r: Extract<Input, { type: 'backup-result' }>): void {
  const s = d.s;
  const wasPending = s.backupsPending.includes(r.db);
  s.backupsPending = s.backupsPending.filter((db) => db !== r.db);
  const res = r.result;
  if (res.kind === 'written') {
    d.log('info', 'backup.done', `saved ${r.db} before writing`, {
      db: r.db,
      path: res.path,
      bytes: res.bytes,
      removed: res.removed.join(',') || undefined,
    });
    if (res.retentionError !== undefined) {
      // The backup is written; only the pruning of older ones failed: say so, go on.
      d.log(
        'warn',
        'backup.retention-fail',
        `older backups of ${r.db} not pruned: ${res.retentionError}`,
        {
          db: r.db,
          error: res.retentionError,
        },
      );
    }
  } else if (res.kind === 'skipped') {
    d.log('warn', 'backup.skip', `backup of ${r.db} skipped: ${res.why}`, { db: r.db });
  } else if (wasPending) {
    d.news.backupFailed = { db: r.db, error: res.error }; // S8: steps/migrate.ts refuses
    return;
  } else {
    d.log('error', 'backup.fail', `backup of ${r.db} failed: ${res.error}`, { db: r.db });
  }
  if (wasPending) s.term.backedUp = [...s.term.backedUp, r.db];
}
