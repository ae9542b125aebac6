// Compaction (docs/design.md, "Compaction"): `litefs-supervisor compact` asks over the control
// socket; the primary measures, backs up (when asked), stops its app through the usual stop, runs
// VACUUM INTO a file outside data.dir and the mount, checks it, checks the TXID has not moved,
// imports it through LiteFS (POST /import) and checks the result through the mount; the pipeline
// then starts the app as after any stop. Every I/O is an action whose result comes back as an
// input; every end (done, refused, aborted) answers the command once and removes the copy.

import {
  COMPACT_EXIT,
  type CompactIo,
  type CompactIoResult,
  type CompactionState,
  type CompactionSummary,
  type CompactReply,
  type CompactRequest,
  compactPlan,
  compactRefusal,
  compactReport,
  compactRoom,
} from '../../compact.js';
import { dbViewsOf, primaryHostnameOf } from '../../derive.js';
import { signalExitCode } from '../../exit-code.js';
import { formatTxid } from '../../parse.js';
import { SHUTDOWN_SIGNALS } from '../../signals.js';
import type { Input, LogLevel } from '../../state.js';
import { due } from '../deadlines.js';
import type { Draft, Verdict } from '../draft.js';

function reply(d: Draft, id: number, r: CompactReply): void {
  d.actions.push({ type: 'compact-reply', id, reply: r });
}

/** Log a step of the compaction and pass it on to the command as progress. */
function progress(
  d: Draft,
  level: LogLevel,
  event: string,
  msg: string,
  fields: Record<string, unknown>,
): void {
  const c = d.s.compaction;
  d.log(level, event, msg, { db: c?.request.db, ...fields });
  if (c) reply(d, c.request.id, { kind: 'progress', event, msg, fields });
}

function io(d: Draft, c: CompactionState, op: CompactIo): void {
  d.actions.push({ type: 'compact-io', id: c.request.id, io: op });
}

/** The compaction's inputs: a request, the command going away, an I/O result, a stop signal. */
export function compactEvent(d: Draft, input: Input): Verdict {
  const c = d.s.compaction;
  switch (input.type) {
    case 'compact-request': {
      // The backup goes where the command's --backup-dir says, else where the supervisor's does
      // (set in the exec line, which an ssh session does not see); --no-backup goes without.
      const req = input.request;
      const backupDir = req.noBackup ? undefined : (req.backupDir ?? d.config.backupDir);
      request(d, { ...req, backupDir });
      return 'continue';
    }
    case 'compact-cancel':
      if (c?.request.id === input.id) {
        abort(d, 'the compact command was interrupted (its connection closed)');
      }
      return 'continue';
    case 'compact-io-result':
      if (c?.request.id !== input.id) {
        // A late answer (the compaction ended meanwhile): a copy it made must not stay.
        if (input.result.op === 'vacuum' && input.result.ok) {
          d.actions.push({
            type: 'compact-io',
            id: input.id,
            io: { op: 'discard', path: input.result.path },
          });
        }
        return 'continue';
      }
      return result(d, c, input.result);
    case 'signal':
      if (!c || !SHUTDOWN_SIGNALS.has(input.signal)) return 'continue';
      if (c.stage === 'importing') {
        // The import was sent: LiteFS carries it out or not, never half. Wait for its answer,
        // then stop (result() exits); handleSignal must not end the run before it.
        d.s.shutdown ??= { signal: input.signal, exitCode: signalExitCode(input.signal) };
        d.enter(
          'stopping',
          `${input.signal} received; waiting for the import LiteFS is carrying out`,
          'state.stopping',
          {},
        );
        return 'done';
      }
      abort(d, `${input.signal} received: the supervisor is stopping`, true);
      return 'continue';
    default:
      return 'continue';
  }
}

function request(d: Draft, req: CompactRequest): void {
  const { s, config } = d;
  const db = dbViewsOf(s.observation, config).find((v) => v.name === req.db);
  const refusal = compactRefusal(
    {
      role: s.role,
      phase: s.phase,
      fenced: s.fence !== undefined,
      shuttingDown: s.shutdown !== undefined,
      busyWith: s.compaction?.request.db,
      appReady: s.app.status === 'running' && s.app.ready,
      primaryHostname: primaryHostnameOf(s.observation),
    },
    config,
    db,
    req,
  );
  if (refusal) {
    d.log('warn', 'compact.refuse', `compact refused: ${refusal.why}`, {
      db: req.db,
      exitCode: refusal.code,
      hint: refusal.hint,
    });
    reply(d, req.id, {
      kind: 'result',
      code: refusal.code,
      outcome: 'refused',
      msg: `refused: ${refusal.why}`,
      fields: { hint: refusal.hint },
    });
    s.lastCompaction = summary(d, req.db, 'refused', refusal.code, refusal.why, {});
    return;
  }
  s.compaction = {
    request: req,
    stage: 'measuring',
    since: d.now,
    until: d.now + config.compactTimeout,
    measure: undefined,
    appWasRunning: s.app.status === 'running',
    appStoppedAt: undefined,
    txid: undefined,
    tempPath: undefined,
    abort: undefined,
    copy: undefined,
  };
  progress(
    d,
    'info',
    'compact.begin',
    req.dryRun ? 'measuring (dry run)' : 'compaction asked; measuring',
    {
      dryRun: req.dryRun || undefined,
      txid: db?.txid === undefined ? undefined : formatTxid(db.txid),
      compactTimeout: config.compactTimeout,
    },
  );
  io(d, s.compaction, {
    op: 'measure',
    db: req.db,
    backupDir: req.noBackup ? undefined : req.backupDir,
  });
}

function result(d: Draft, c: CompactionState, r: CompactIoResult): Verdict {
  switch (r.op) {
    case 'measure':
      if (c.stage === 'measuring') measured(d, c, r);
      break;
    case 'backup':
      if (c.stage !== 'backing-up') break;
      if (!r.ok) {
        finish(
          d,
          'aborted',
          COMPACT_EXIT.aborted,
          `the backup failed: ${r.error}; nothing changed (run again with --no-backup to go without one)`,
          {},
        );
        break;
      }
      progress(d, 'info', 'compact.backup', `backup written: ${r.path}`, {
        path: r.path,
        bytes: r.bytes,
      });
      stopApp(d, c);
      break;
    case 'vacuum':
      vacuumed(d, c, r);
      break;
    case 'import':
      imported(d, c, r);
      // S10: a stop signal that came during the import ends the run now that it is over.
      if (d.s.shutdown) {
        const { signal, exitCode } = d.s.shutdown;
        return d.exit(
          exitCode,
          'info',
          'supervisor.stop',
          `${signal} received during the compaction's import; exiting`,
          { signal },
        );
      }
      break;
    case 'discard':
      finish(
        d,
        'aborted',
        c.abort?.code ?? COMPACT_EXIT.aborted,
        `${c.abort?.why ?? 'aborted'}; nothing imported, the copy removed`,
        {
          discardError: r.ok ? undefined : r.error,
        },
      );
      break;
  }
  return 'continue';
}

function measured(
  d: Draft,
  c: CompactionState,
  r: Extract<CompactIoResult, { op: 'measure' }>,
): void {
  if (!r.ok) {
    finish(d, 'aborted', COMPACT_EXIT.aborted, `measuring failed: ${r.error}; nothing changed`, {});
    return;
  }
  const m = r.measure;
  c.measure = m;
  const plan = compactPlan(m, d.config.compactThreshold);
  const backup = c.request.backupDir !== undefined && !c.request.noBackup;
  const room = compactRoom(m, plan, backup);
  const numbers = {
    sizeBytes: m.fileBytes,
    pageSize: m.pageSize,
    pageCount: m.pageCount,
    freePages: m.freePages,
    freePct: Number(plan.freePct.toFixed(1)),
    expectedBytes: plan.expectedBytes,
    room: room.lines,
    roomOk: room.ok,
  };
  if (c.request.dryRun) {
    const verdict = plan.littleToGain
      ? `little to gain (${plan.freePct.toFixed(1)}% free pages, below --compact-threshold ${d.config.compactThreshold}%): compact would do nothing`
      : room.ok
        ? `compact would free ${plan.pagesFreed} pages (${m.fileBytes} -> about ${plan.expectedBytes} bytes)`
        : `compact would be refused for room: ${room.hint}`;
    finish(d, 'dry-run', COMPACT_EXIT.done, `dry run: ${verdict}; nothing changed`, numbers);
    return;
  }
  if (plan.littleToGain) {
    finish(
      d,
      'nothing-to-gain',
      COMPACT_EXIT.done,
      `little to gain: ${m.freePages} free pages (${plan.freePct.toFixed(1)}%), below --compact-threshold ${d.config.compactThreshold}%; nothing done`,
      numbers,
    );
    return;
  }
  if (!room.ok) {
    finish(
      d,
      'refused',
      COMPACT_EXIT.noRoom,
      `refused: not enough room (${room.lines.join('; ')}); ${room.hint}`,
      numbers,
    );
    return;
  }
  progress(
    d,
    'info',
    'compact.measure',
    `${m.freePages} of ${m.pageCount} pages free; about ${plan.expectedBytes} bytes after`,
    numbers,
  );
  if (backup && c.request.backupDir !== undefined) {
    c.stage = 'backing-up';
    const db = dbViewsOf(d.s.observation, d.config).find((v) => v.name === c.request.db);
    io(d, c, {
      op: 'backup',
      db: c.request.db,
      dir: c.request.backupDir,
      txid: db?.txid ?? 0n,
      expectedBytes: m.fileBytes,
    });
    return;
  }
  stopApp(d, c);
}

/** Stop the app through the usual stop (SIGTERM, SIGKILL after --shutdown-timeout). */
function stopApp(d: Draft, c: CompactionState): void {
  const s = d.s;
  if (s.app.status !== 'running') {
    finish(
      d,
      'aborted',
      COMPACT_EXIT.aborted,
      `the app is ${s.app.status}, not running; nothing changed`,
      {},
    );
    return;
  }
  c.stage = 'stopping-app';
  s.app.status = 'stopping';
  d.enter(
    'compacting',
    `compacting ${c.request.db}: stopping the app so no write is lost`,
    'compact.stop-app',
    {
      db: c.request.db,
      pid: s.app.pid,
    },
  );
  reply(d, c.request.id, {
    kind: 'progress',
    event: 'compact.stop-app',
    msg: 'stopping the app',
    fields: {},
  });
  d.actions.push({ type: 'stop-app', signal: 'SIGTERM' });
}

function vacuumed(
  d: Draft,
  c: CompactionState,
  r: Extract<CompactIoResult, { op: 'vacuum' }>,
): void {
  if (c.stage !== 'vacuuming') return;
  if (!r.ok) {
    const why = c.abort?.why ?? `VACUUM INTO failed: ${r.error}`;
    finish(
      d,
      'aborted',
      c.abort?.code ?? COMPACT_EXIT.aborted,
      `${why}; nothing imported, the copy removed`,
      {},
    );
    return;
  }
  c.tempPath = r.path;
  c.txid = r.txidBefore;
  c.copy = { bytes: r.bytes, rows: r.rows };
  if (!c.abort && r.txidAfter !== r.txidBefore) {
    c.abort = {
      why: `another writer committed while the copy was made (TXID ${formatTxid(r.txidBefore)} -> ${formatTxid(r.txidAfter)}): a cron job, an ssh session? Importing the copy would lose its writes`,
      code: COMPACT_EXIT.aborted,
    };
  }
  if (!c.abort && d.s.role !== 'primary') {
    c.abort = {
      why: `this node is no longer the primary (role ${d.s.role})`,
      code: COMPACT_EXIT.aborted,
    };
  }
  if (c.abort) {
    c.stage = 'discarding';
    io(d, c, { op: 'discard', path: r.path });
    return;
  }
  c.stage = 'importing';
  progress(
    d,
    'info',
    'compact.import',
    `copy checked (integrity ok, rows equal); importing it through LiteFS`,
    {
      path: r.path,
      bytes: r.bytes,
      txid: formatTxid(r.txidBefore),
      tables: Object.keys(r.rows).length,
    },
  );
  io(d, c, { op: 'import', db: c.request.db, path: r.path, txid: r.txidBefore, rows: r.rows });
}

function imported(
  d: Draft,
  c: CompactionState,
  r: Extract<CompactIoResult, { op: 'import' }>,
): void {
  if (c.stage !== 'importing') return;
  if (!r.ok) {
    finish(
      d,
      'aborted',
      COMPACT_EXIT.aborted,
      `${r.error}; nothing imported, the copy removed`,
      {},
    );
    return;
  }
  const m = c.measure!;
  const plan = compactPlan(m, d.config.compactThreshold);
  const report = compactReport(m, plan, {
    bytes: r.bytesAfter,
    txidBefore: c.txid ?? 0n,
    txidAfter: r.txidAfter,
    appStoppedMs: c.appStoppedAt === undefined ? 0 : d.now - c.appStoppedAt,
  });
  if (r.problems.length > 0) {
    finish(
      d,
      'unverified',
      COMPACT_EXIT.unverified,
      `LiteFS imported the copy, but the check through the mount found: ${r.problems.join('; ')}`,
      report,
      'error',
    );
    return;
  }
  finish(
    d,
    'compacted',
    COMPACT_EXIT.done,
    `compacted: ${m.fileBytes} -> ${r.bytesAfter} bytes, ${plan.pagesFreed} pages freed, app stopped ${String(report.appStoppedMs)} ms; LiteFS's LTX retention (10 minutes by default) removes the old LTX files later`,
    report,
  );
}

/**
 * Abort: nothing is imported and the copy is removed. Before the app stopped, the compaction just
 * ends; while the copy is made, that is cancelled first; an import already sent is waited for
 * (LiteFS carries it out whole or not at all). `now`: the supervisor is stopping (its runner
 * waits for the I/O and removes any copy), so the command is answered at once.
 */
function abort(d: Draft, why: string, now = false): void {
  const c = d.s.compaction;
  if (!c || c.abort) return;
  c.abort = { why, code: COMPACT_EXIT.aborted };
  switch (c.stage) {
    case 'vacuuming':
      d.actions.push({ type: 'compact-cancel' });
      if (now) finish(d, 'aborted', COMPACT_EXIT.aborted, `${why}; nothing imported`, {});
      return;
    case 'importing':
    case 'discarding':
      return;
    default:
      finish(d, 'aborted', COMPACT_EXIT.aborted, `${why}; nothing changed`, {});
  }
}

/** Each outcome's event and its usual level (docs/logs.md). */
const FINISH: Record<CompactionSummary['outcome'], { event: string; level: LogLevel }> = {
  compacted: { event: 'compact.done', level: 'info' },
  aborted: { event: 'compact.abort', level: 'warn' },
  refused: { event: 'compact.refuse', level: 'warn' },
  unverified: { event: 'compact.unverified', level: 'error' },
  'dry-run': { event: 'compact.measured', level: 'info' },
  'nothing-to-gain': { event: 'compact.measured', level: 'info' },
};

function finish(
  d: Draft,
  outcome: CompactionSummary['outcome'],
  code: number,
  msg: string,
  fields: Record<string, unknown>,
  level?: LogLevel,
): void {
  const s = d.s;
  const c = s.compaction;
  if (!c) return;
  const { event, level: usual } = FINISH[outcome];
  const appStoppedMs = c.appStoppedAt === undefined ? undefined : d.now - c.appStoppedAt;
  d.log(level ?? usual, event, msg, {
    db: c.request.db,
    exitCode: code,
    appStoppedMs,
    ...fields,
  });
  reply(d, c.request.id, {
    kind: 'result',
    code,
    outcome,
    msg,
    fields: { ...fields, appStoppedMs },
  });
  s.lastCompaction = summary(d, c.request.db, outcome, code, msg, {
    ...fields,
    appStoppedMs,
    txidBefore: c.txid === undefined ? undefined : formatTxid(c.txid),
  });
  // The app stopped for it starts again through the pipeline's usual start (a primary's checks
  // passed this term; a node that lost the lease meanwhile syncs first, as any replica).
  s.compaction = undefined;
}

function summary(
  d: Draft,
  db: string,
  outcome: CompactionSummary['outcome'],
  code: number,
  why: string,
  f: Record<string, unknown>,
): CompactionSummary {
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    db,
    at: d.now,
    outcome,
    code,
    why,
    beforeBytes: num(f.beforeBytes ?? f.sizeBytes),
    afterBytes: num(f.afterBytes),
    pagesFreed: num(f.pagesFreed),
    appStoppedMs: num(f.appStoppedMs),
    txidBefore: str(f.txidBefore),
    txidAfter: str(f.txidAfter),
  };
}

/**
 * The compaction's course while it runs: it aborts when the lease is lost, the node is fenced or
 * --compact-timeout passes; once the app has stopped the copy is made. From the app's stop to the
 * end nothing else starts ('done'); before it, the app runs as usual ('continue').
 */
export function compactProgress(d: Draft): Verdict {
  const { s, config } = d;
  const c = s.compaction;
  if (!c) return 'continue';
  if (!c.abort && c.stage !== 'importing' && c.stage !== 'discarding') {
    if (s.role !== 'primary') abort(d, `this node is no longer the primary (role ${s.role})`);
    else if (s.fence) abort(d, `this node was fenced: ${s.fence.why}`);
    else if (due('compact-timeout', s, config, d.now)) {
      abort(d, `--compact-timeout ${config.compactTimeout}ms passed`);
    }
  }
  const now = s.compaction;
  if (!now) return 'continue';
  if (now.stage === 'measuring' || now.stage === 'backing-up') return 'continue';
  if (now.stage === 'stopping-app' && s.app.status !== 'stopping') {
    now.appStoppedAt = d.now;
    now.stage = 'vacuuming';
    progress(
      d,
      'info',
      'compact.vacuum',
      'app stopped; writing the compacted copy (VACUUM INTO) and checking it',
      {},
    );
    io(d, now, { op: 'vacuum', db: now.request.db });
  }
  return 'done';
}
