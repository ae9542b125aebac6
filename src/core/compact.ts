// Compaction (docs/design.md, "Compaction"): the export / VACUUM INTO / import cycle that shrinks a
// LiteFS database through LiteFS's own API, asked for by `litefs-supervisor compact` over the
// control socket. Pure: the types decide keeps, the refusals, the room it needs and the report.
// The I/O (sqlite3 through the mount, POST /import) is src/litefs/compact.ts.

import type { DbView } from './derive.js';
import type { DiskSpace } from './observation.js';
import { formatTxid } from './parse.js';

/**
 * The `compact` command's own exit codes (docs/design.md section 9): each says what happened, so a
 * script can tell a refusal from an abort without reading the text.
 */
export const COMPACT_EXIT = {
  /** Compacted; or, with --dry-run or little to gain, measured and nothing changed. */
  done: 0,
  /** Refused: this node is not the primary (the message names the primary). */
  notPrimary: 10,
  /** Refused: fenced, not running yet, history lost, another compaction running, standalone. */
  notReady: 11,
  /** Refused: not enough room on this volume or a peer's for the copy, the LTX file and a margin. */
  noRoom: 12,
  /** Aborted: nothing imported (another writer, lost lease, signal, timeout, a failed check). */
  aborted: 13,
  /** No supervisor answered on the control socket. */
  unreachable: 14,
  /** LiteFS imported the copy, but the check through the mount afterwards did not pass. */
  unverified: 15,
} as const;

/** A request from the control socket. */
export interface CompactRequest {
  /** The control connection's id: the replies go back to it. */
  id: number;
  db: string;
  dryRun: boolean;
  /** Where the backup goes first (the command's --backup-dir); undefined: none asked. */
  backupDir: string | undefined;
  /** --no-backup: the operator chose to go without the backup. */
  noBackup: boolean;
}

/** A peer's room, from its supervisor's /status `disk` (or why it is unknown). */
export type PeerRoom =
  | { peer: string; ok: true; freeBytes: number; totalBytes: number }
  | { peer: string; ok: false; error: string };

/** What measuring found (the compact-io `measure` result). */
export interface CompactMeasure {
  pageSize: number;
  pageCount: number;
  freePages: number;
  /** The database file's size through the mount. */
  fileBytes: number;
  /** Where the compacted copy would be written (on the data volume, outside data.dir and the mount). */
  dir: string;
  /** Free space of `dir`'s volume (the data volume). */
  disk: DiskSpace;
  /** The backup dir's volume, when a backup is asked for; `sameVolume`: it is the data volume. */
  backup: { dir: string; disk: DiskSpace; sameVolume: boolean } | undefined;
  peers: PeerRoom[];
}

export type CompactStage =
  | 'measuring'
  | 'backing-up'
  | 'stopping-app'
  | 'vacuuming'
  | 'importing'
  | 'discarding';

/** A compaction under way (SupervisorState.compaction). */
export interface CompactionState {
  request: CompactRequest;
  stage: CompactStage;
  since: number;
  /** since + --compact-timeout: aborted then, unless the import was sent (a deadline: the wake). */
  until: number;
  measure: CompactMeasure | undefined;
  /** The app ran when the compaction began (it is stopped, and started again after). */
  appWasRunning: boolean;
  /** When the app had stopped for it. */
  appStoppedAt: number | undefined;
  /** The TXID recorded once the app had stopped (the vacuum result's `txidBefore`). */
  txid: bigint | undefined;
  /** The compacted copy, once written; removed at every end. */
  tempPath: string | undefined;
  /** Set once aborting: why, and the code the command ends with. */
  abort: { why: string; code: number } | undefined;
  /** The copy as checked: its size and per-table row counts. */
  copy: { bytes: number; rows: Record<string, number> } | undefined;
}

/** The last compaction's outcome (for /status). */
export interface CompactionSummary {
  db: string;
  at: number;
  outcome: 'compacted' | 'dry-run' | 'nothing-to-gain' | 'refused' | 'aborted' | 'unverified';
  code: number;
  why: string;
  beforeBytes: number | undefined;
  afterBytes: number | undefined;
  pagesFreed: number | undefined;
  appStoppedMs: number | undefined;
  txidBefore: string | undefined;
  txidAfter: string | undefined;
}

/** The result of one compact-io action, fed back as a `compact-io-result` input. */
export type CompactIoResult =
  | { op: 'measure'; ok: true; measure: CompactMeasure }
  | { op: 'measure'; ok: false; error: string }
  | { op: 'backup'; ok: true; path: string; bytes: number }
  | { op: 'backup'; ok: false; error: string }
  | {
      op: 'vacuum';
      ok: true;
      path: string;
      bytes: number;
      txidBefore: bigint;
      txidAfter: bigint;
      rows: Record<string, number>;
    }
  /** `cancelled`: a compact-cancel stopped it; the copy was removed either way. */
  | { op: 'vacuum'; ok: false; error: string; cancelled: boolean }
  | {
      op: 'import';
      ok: true;
      txidAfter: bigint;
      bytesAfter: number;
      /** Empty when the check through the mount passed; else what did not match. */
      problems: string[];
    }
  /** `imported: false`: LiteFS did not replace the db (the TXID moved first, or it refused). */
  | { op: 'import'; ok: false; error: string; imported: false }
  | { op: 'discard'; ok: boolean; error?: string };

/** One LTX page: its page number and flags beside the page (ltx's page header), rounded up. */
const LTX_PAGE_OVERHEAD = 16;
/** LTX header, trailer and rounding. */
const LTX_FIXED = 4096;
const MIB = 1024 * 1024;

/** The margin kept free beyond what compaction writes: 1% of the volume, at least 1 MiB. */
export function roomMargin(totalBytes: number): number {
  return Math.max(MIB, Math.ceil(totalBytes / 100));
}

export interface CompactPlan {
  usedPages: number;
  /** The compacted copy: the used pages. */
  expectedBytes: number;
  /** The LTX file LiteFS writes for the import (uncompressed: the worst case). */
  ltxBytes: number;
  pagesFreed: number;
  freePct: number;
  /** Free pages below --compact-threshold: nothing is done. */
  littleToGain: boolean;
}

export function compactPlan(m: CompactMeasure, thresholdPct: number): CompactPlan {
  const usedPages = Math.max(1, m.pageCount - m.freePages);
  const expectedBytes = usedPages * m.pageSize;
  const freePct = m.pageCount > 0 ? (m.freePages / m.pageCount) * 100 : 0;
  return {
    usedPages,
    expectedBytes,
    ltxBytes: usedPages * (m.pageSize + LTX_PAGE_OVERHEAD) + LTX_FIXED,
    pagesFreed: m.freePages,
    freePct,
    littleToGain: m.freePages === 0 || freePct < thresholdPct,
  };
}

export interface RoomCheck {
  ok: boolean;
  /** Each volume's need and room, for the message and the log. */
  lines: string[];
  /** What to change, when it is not ok. */
  hint: string;
}

/**
 * Whether there is room for the compacted copy and the import's LTX file (and the backup, when
 * asked for) on this volume, and for the LTX file on each peer that reported its room, each with
 * a margin. A peer that did not answer is named in the lines and does not block.
 */
export function compactRoom(m: CompactMeasure, plan: CompactPlan, backup: boolean): RoomCheck {
  const lines: string[] = [];
  let ok = true;
  let hint = '';
  if (!m.disk.ok || !(m.disk.totalBytes > 0)) {
    return {
      ok: false,
      lines: [
        `free space of ${m.disk.path} unknown: ${m.disk.ok ? 'a 0-byte total' : m.disk.error}`,
      ],
      hint: 'compaction needs to know the data volume has room; check the volume',
    };
  }
  const backupHere = backup && m.backup?.sameVolume === true;
  const need =
    plan.expectedBytes +
    plan.ltxBytes +
    roomMargin(m.disk.totalBytes) +
    (backupHere ? m.fileBytes : 0);
  const localOk = m.disk.freeBytes >= need;
  lines.push(
    `this volume (${m.dir}): needs ${need} bytes (copy ${plan.expectedBytes} + LTX ${plan.ltxBytes}${backupHere ? ` + backup ${m.fileBytes}` : ''} + margin ${roomMargin(m.disk.totalBytes)}), has ${m.disk.freeBytes} free of ${m.disk.totalBytes}`,
  );
  if (!localOk) {
    ok = false;
    hint = backupHere
      ? 'free space on the data volume (extend it: fly volumes extend), or run again with --no-backup to skip the backup'
      : 'free space on the data volume (extend it: fly volumes extend); old LTX files are removed by LiteFS retention (10 minutes by default)';
  }
  if (backup && m.backup && !m.backup.sameVolume) {
    const d = m.backup.disk;
    const bneed = d.ok ? m.fileBytes + roomMargin(d.totalBytes) : undefined;
    if (!d.ok || bneed === undefined || d.freeBytes < bneed) {
      ok = false;
      hint =
        'free space where --backup-dir points, or run again with --no-backup to skip the backup';
      lines.push(
        d.ok
          ? `backup dir ${m.backup.dir}: needs ${bneed} bytes (backup ${m.fileBytes} + margin), has ${d.freeBytes} free`
          : `backup dir ${m.backup.dir}: free space unknown: ${d.error}`,
      );
    } else {
      lines.push(`backup dir ${m.backup.dir}: needs ${bneed} bytes, has ${d.freeBytes} free`);
    }
  }
  for (const p of m.peers) {
    if (!p.ok) {
      lines.push(`peer ${p.peer}: room unknown (${p.error})`);
      continue;
    }
    const pneed = plan.ltxBytes + roomMargin(p.totalBytes);
    lines.push(`peer ${p.peer}: needs ${pneed} bytes (LTX + margin), has ${p.freeBytes} free`);
    if (p.freeBytes < pneed) {
      ok = false;
      hint ||= `free space on ${p.peer}'s data volume first: every replica receives the import as one LTX file`;
    }
  }
  return { ok, lines, hint };
}

/**
 * Refusals at the request, before anything is measured (docs/design.md, "Compaction"): only a
 * primary that runs its app with its checks passed compacts, one db at a time.
 */
export function compactRefusal(
  s: {
    role: string;
    phase: string;
    fenced: boolean;
    shuttingDown: boolean;
    busyWith: string | undefined;
    appReady: boolean;
    primaryHostname: string | undefined;
  },
  config: { standalone: boolean; db: readonly string[] },
  db: DbView | undefined,
  req: CompactRequest,
): { code: number; why: string; hint: string } | undefined {
  const notReady = (why: string, hint: string) => ({ code: COMPACT_EXIT.notReady, why, hint });
  if (config.standalone) {
    return notReady(
      'the supervisor runs --standalone: there is no LiteFS to import through',
      'run VACUUM on the file yourself while the app is stopped',
    );
  }
  if (!config.db.includes(req.db) || !db) {
    return notReady(
      `--db ${req.db} is not a database this supervisor gates (${config.db.join(', ')})`,
      `pass one of: ${config.db.map((d) => `--db ${d}`).join(', ')}`,
    );
  }
  if (s.busyWith !== undefined) {
    return notReady(
      `another compaction (of ${s.busyWith}) is running`,
      'wait for it to end, then run compact again',
    );
  }
  if (s.shuttingDown)
    return notReady('the supervisor is stopping', 'run compact once it runs again');
  if (s.role === 'replica') {
    return {
      code: COMPACT_EXIT.notPrimary,
      why: `this node is a replica; the primary is ${s.primaryHostname ?? 'unknown'}`,
      hint: `run compact on the primary (${s.primaryHostname ?? 'see litefs-supervisor status'}): only it can import, and the replicas receive the result through LiteFS`,
    };
  }
  if (s.role !== 'primary') {
    return {
      code: COMPACT_EXIT.notPrimary,
      why: 'no primary is known to this node (an election or LiteFS starting)',
      hint: 'run compact on the primary once one is elected',
    };
  }
  if (s.fenced) {
    return notReady(
      'this node is fenced (S4): it must not write',
      'run litefs-supervisor doctor to see why',
    );
  }
  if (db.historyLost) {
    return notReady(
      `${req.db} has data at TXID 0: LiteFS lost its history (S13)`,
      'run litefs-supervisor doctor: the repair is litefs export, then litefs import of that file',
    );
  }
  if (s.phase !== 'running' || !s.appReady) {
    return notReady(
      `the supervisor is ${s.phase}, not running with its app ready`,
      'run compact once litefs-supervisor status says running',
    );
  }
  return undefined;
}

/** The lines of the report a compaction ends with. */
export function compactReport(
  m: CompactMeasure,
  plan: CompactPlan,
  after: { bytes: number; txidBefore: bigint; txidAfter: bigint; appStoppedMs: number },
): Record<string, unknown> {
  return {
    beforeBytes: m.fileBytes,
    afterBytes: after.bytes,
    pagesFreed: plan.pagesFreed,
    pageSize: m.pageSize,
    appStoppedMs: after.appStoppedMs,
    txidBefore: formatTxid(after.txidBefore),
    txidAfter: formatTxid(after.txidAfter),
  };
}

/** What the runner asks of the compaction port (src/litefs/compact.ts). */
export type CompactIo =
  | { op: 'measure'; db: string; backupDir: string | undefined }
  | { op: 'backup'; db: string; dir: string; txid: bigint; expectedBytes: number }
  /** VACUUM INTO a new file in the compaction dir, then check it; the TXID read before and after. */
  | { op: 'vacuum'; db: string }
  /** Import `path` if the TXID is still `txid`; then check through the mount against `rows`. */
  | { op: 'import'; db: string; path: string; txid: bigint; rows: Record<string, number> }
  | { op: 'discard'; path: string };

/** A line to the `compact` command: progress while it runs, then one result. */
export type CompactReply =
  | { kind: 'progress'; event: string; msg: string; fields: Record<string, unknown> }
  | {
      kind: 'result';
      code: number;
      outcome: CompactionSummary['outcome'];
      msg: string;
      fields: Record<string, unknown>;
    };
