// The safety rules of docs/design.md section 4, each a small pure function named after its rule,
// so a reader finds S1..S14 here by name. decide (src/core/decide/) is the only caller.

import { RECORD_RESET, recordedData } from './cluster-record.js';
import type { DbView } from './derive.js';
import { type DiskSpace, freePercent } from './observation.js';
import { formatTxid } from './parse.js';
import type { PeerReport } from './peer-types.js';
import {
  type AnsweredPeer,
  describePeerDb,
  peersAhead,
  primaryPeer,
  unansweredPeers,
} from './peers.js';
import { asksPeers, type Policy } from './policy.js';
import type { CommandRecord, HandBackWhy, Role, SupervisorState } from './state.js';

/**
 * S1 primary-only migrations: a --migrate command may start only when the role is primary
 * AND that was re-confirmed by an observation taken after the command was due (fresh /info).
 * Never on a replica, never on an unknown role. This is the `if-primary` LiteFS lacks.
 */
export function s1MayStartMigration(role: Role, confirmedFresh: boolean): boolean {
  return role === 'primary' && confirmedFresh;
}

/** S1: the first retry waits this long; each next one twice as long, up to the cap. */
export const MIGRATE_RETRY_BASE_MS = 1000;
export const MIGRATE_RETRY_CAP_MS = 60_000;
/** S1: with the app running, a migration that used its retries is tried again this often. */
export const MIGRATE_SLOW_RETRY_MS = 5 * 60_000;

export type MigrationRetry =
  | { kind: 'retry'; delayMs: number }
  /** Retries used up while the app runs: keep serving, try again at a slow, bounded rate. */
  | { kind: 'slow'; delayMs: number }
  /** Retries used up before the app started: exit 3 (Fly restarts the machine). */
  | { kind: 'give-up' };

/**
 * S1 retries: after its `failures`-th failure in this primary term, a migration is tried again
 * after 1 s, 2 s, 4 s... while `failures <= retries`. Then a node whose app already runs never
 * goes down for it (in a cluster that turns a transient `database is locked` into every
 * candidate going down in turn, seen on real LiteFS): it keeps its app and tries again every
 * MIGRATE_SLOW_RETRY_MS. Before the app started, the run ends (exit 3) as it always did.
 */
export function migrationRetry(
  failures: number,
  retries: number,
  appRunning: boolean,
): MigrationRetry {
  if (failures <= retries) {
    const delayMs = Math.min(MIGRATE_RETRY_BASE_MS * 2 ** (failures - 1), MIGRATE_RETRY_CAP_MS);
    return { kind: 'retry', delayMs };
  }
  return appRunning ? { kind: 'slow', delayMs: MIGRATE_SLOW_RETRY_MS } : { kind: 'give-up' };
}

/**
 * S6 lease lost mid-migration: a running migration is stopped as soon as the role is no
 * longer primary (an unknown role counts: we cannot show we still hold the lease).
 */
export function s6MustAbortMigration(cmd: CommandRecord, role: Role): boolean {
  return cmd.kind === 'migrate' && cmd.status === 'running' && role !== 'primary';
}

export type PrimaryVerdict =
  | { kind: 'proceed'; bootstrap: boolean; emptyDbs: DbView[] }
  /** Not yet decidable (a db unreadable, peers still to answer); `askPeers` = ask again. */
  | { kind: 'wait'; why: string; askPeers: boolean }
  | { kind: 'fence'; why: string; action: string };

export interface PrimaryFacts {
  dbs: DbView[];
  /** This node's high-water mark per db (S2); empty when none is known. */
  hwm: Record<string, bigint>;
  /** This node's cluster ID ('' while unset). */
  clusterId: string;
  /**
   * The peer answers gathered for this decision, with the cluster record when it is on;
   * undefined when neither --peers nor the record is configured.
   */
  peers: PeerReport | undefined;
  /** The cluster record's Consul key (--cluster-record), for refusals; undefined when off. */
  recordKey?: string | undefined;
  /** How long this decision has waited for peers that did not answer (ms). */
  waitedForPeersMs: number;
}

const txidHex = (txid: bigint | undefined) => formatTxid(txid ?? 0n);

/**
 * S2 no empty or behind primary: a gated db is behind when its TXID is below this node's
 * high-water mark, or when a same-cluster peer shows more (a higher TXID or high-water mark, or
 * data while this copy is empty: peersAhead). Returns what was seen, naming peer, db, pages and
 * TXIDs.
 */
export function s2Behind(f: PrimaryFacts): string[] {
  const seen: string[] = [];
  for (const db of f.dbs) {
    const own = db.txid ?? 0n;
    const hwm = f.hwm[db.name];
    if (hwm !== undefined && own < hwm) {
      seen.push(
        `${db.name} is at TXID ${txidHex(own)}${db.empty ? ` (empty: ${db.emptyBecause})` : ''} but this node has already seen TXID ${txidHex(hwm)} in this cluster (high-water mark)`,
      );
    }
    if (f.peers) for (const ahead of peersAhead(f.peers, db, f.clusterId)) seen.push(ahead.why);
    const recorded = recordedData(f.peers?.record, db.name);
    if (recorded !== undefined && !db.hasData) {
      seen.push(
        `${db.name} is empty here (${db.emptyBecause ?? 'no data'}) but the cluster record in Consul (${f.recordKey ?? 'its key'}) says the cluster has held data in it since ${recorded.since} (recorded by ${recorded.node})`,
      );
    }
  }
  return seen;
}

/** S2: whether the cluster record is among the evidence that this node is behind. */
function behindByRecord(f: PrimaryFacts): boolean {
  return f.dbs.some((db) => !db.hasData && recordedData(f.peers?.record, db.name) !== undefined);
}

/**
 * S13 lost history: gated dbs with data at TXID 0. LiteFS rebuilt no position from its LTX
 * files, so this node's next write is a TXID 1 snapshot that real LiteFS either sends over
 * every replica, fails with an I/O error, or (WAL mode) answers by exiting 99 with the lease
 * still held (docs/litefs-facts.md). A primary in that state is fenced until an operator repairs it.
 */
export function s13HistoryLost(dbs: DbView[]): DbView[] {
  return dbs.filter((db) => db.historyLost);
}

/**
 * S13 and S4: a history-lost primary that retired a mark (its db held that history: these pages
 * are the newest the cluster is known to have) keeps the lease instead of exiting 4 at
 * --fence-timeout. Exiting would free the lease for any candidate; one below the mark that takes
 * it while this node is down sees no peer above it (S2 reads only the peers that answer) and
 * LiteFS replaces these rows with its older copy when this node rejoins (docs/nemesis.md,
 * finding 1). S4 still hands the lease to a peer at or above the mark, and the repair
 * (`litefs import`, run here as the primary) ends the fence.
 */
export function s13KeepsLease(dbs: DbView[], retired: Readonly<Record<string, bigint>>): boolean {
  return dbs.some((db) => db.historyLost && (retired[db.name] ?? 0n) > 0n);
}

/** The repair S13 names in its refusal and in `doctor` (docs/litefs-facts.md: export, then import). */
export const HISTORY_LOST_REPAIR =
  "on the node that holds the data: `litefs export -name DB FILE`, check FILE, then `litefs import -name DB FILE` on the primary (a fresh history); or restore a backup. Never edit LiteFS's data dir by hand";

/** S3 bootstrap: may an empty primary that is not behind initialise a new cluster? */
export function s3MayBootstrap(
  f: PrimaryFacts,
  config: Policy,
): { allowed: true } | { allowed: false; wait: boolean; why: string; action: string } {
  if (config.bootstrap === 'force') return { allowed: true };
  if (config.bootstrap === 'never') {
    return {
      allowed: false,
      wait: false,
      why: '--bootstrap never forbids initialising a new cluster',
      action:
        'restore the data (litefs import, or a backup) or let a node that has it take the lease; if this really is a new cluster, restart with --bootstrap auto',
    };
  }
  const missing = f.peers ? unansweredPeers(f.peers) : [];
  const discovery = f.peers?.discoveryError;
  // An unreadable record may say the cluster has data: a witness that did not answer.
  const record = f.peers?.record;
  const recordError = record?.kind === 'unreadable' ? record.error : undefined;
  if (missing.length === 0 && discovery === undefined && recordError === undefined) {
    return { allowed: true };
  }
  const who = [
    ...missing.map((p) => `${p.url} (${p.error})`),
    ...(discovery ? [`peer discovery (${discovery})`] : []),
    ...(recordError ? [`the cluster record in Consul, ${f.recordKey ?? ''} (${recordError})`] : []),
  ].join(', ');
  if (f.waitedForPeersMs < config.peerWait) {
    return { allowed: false, wait: true, why: `waiting for peers to answer: ${who}`, action: '' };
  }
  return {
    allowed: false,
    wait: false,
    why: `not every peer answered within --peer-wait (${who}); one of them may hold the data`,
    action: recordError
      ? 'let Consul answer (the lease itself may still work: check the key and its ACL); if this really is a new cluster, restart with --bootstrap force'
      : 'bring the peers back (or remove their machines) so they can answer; if this really is a new cluster, restart with --bootstrap force',
  };
}

/**
 * The checks a primary passes before it writes (migrations, the app): readable dbs, S2
 * (not behind its HWM or any peer), then S3 (an empty primary only initialises a new
 * cluster when nothing says data exists elsewhere).
 */
export function primaryChecks(f: PrimaryFacts, config: Policy): PrimaryVerdict {
  // A db we cannot read is neither empty nor safe: decide nothing about it until it reads.
  const unreadable = f.dbs.filter((db) => db.unreadable !== undefined);
  if (unreadable.length > 0) {
    return {
      kind: 'wait',
      askPeers: false,
      why: `cannot read ${unreadable.map((db) => `${db.name} (${db.unreadable})`).join(', ')}; not migrating until it can be read`,
    };
  }
  const emptyDbs = f.dbs.filter((db) => db.empty);
  if (config.standalone) return { kind: 'proceed', bootstrap: emptyDbs.length > 0, emptyDbs };

  const lost = s13HistoryLost(f.dbs);
  if (lost.length > 0) {
    return {
      kind: 'fence',
      why: `${lost.map((db) => `${db.name} holds ${db.pageCount} pages at TXID 0`).join(', ')}: LiteFS lost its transaction history (LTX files), so the next write would go out as a TXID 1 snapshot over every replica, or fail (S13)`,
      action: `repair: ${HISTORY_LOST_REPAIR}`,
    };
  }

  const behind = s2Behind(f);
  if (behind.length > 0) {
    return {
      kind: 'fence',
      why: `this node holds the lease but its database is behind: ${behind.join('; ')}. Writing now would replicate the older database over the newer one`,
      action: behindByRecord(f)
        ? `handing the lease to a node that has the data when one answers (start the machines that hold it; a stopped machine is not in DNS); if the data is gone for good, restore a backup or reset the record: ${RECORD_RESET}`
        : 'handing the lease to a node that has the data; if none can take it, restore this volume from a backup or remove the machine',
    };
  }
  if (emptyDbs.length === 0) return { kind: 'proceed', bootstrap: false, emptyDbs };

  const list = emptyDbs.map((db) => `${db.name} (${db.emptyBecause})`).join(', ');
  const boot = s3MayBootstrap(f, config);
  if (boot.allowed) return { kind: 'proceed', bootstrap: true, emptyDbs };
  if (boot.wait)
    return { kind: 'wait', askPeers: true, why: `empty database ${list}; ${boot.why}` };
  return {
    kind: 'fence',
    why: `this node holds the lease with an empty database (${list}) and may not initialise a new cluster: ${boot.why}`,
    action: boot.action,
  };
}

/**
 * S5 sync-first promotion: a candidate replica asks for the lease only once synced and
 * not behind its own high-water mark.
 */
export function s5MayPromote(
  candidate: boolean,
  synced: boolean,
  dbs: DbView[],
  hwm: Record<string, bigint>,
): { ok: true } | { ok: false; why: string } {
  if (!candidate)
    return { ok: false, why: 'this node is not a candidate (litefs.yml lease.candidate)' };
  // A history-lost db (TXID 0) is never synced (syncOf: nothing replicated), so S13 needs no
  // clause here: such a replica never asks for the lease.
  if (!synced) return { ok: false, why: 'not synced yet' };
  const behind = dbs.filter((db) => (db.txid ?? 0n) < (hwm[db.name] ?? 0n));
  if (behind.length > 0) {
    return {
      ok: false,
      why: `behind its high-water mark: ${behind.map((db) => `${db.name} ${txidHex(db.txid)} < ${txidHex(hwm[db.name])}`).join(', ')}`,
    };
  }
  return { ok: true };
}

/**
 * S5, once per new version: with `--promote-when new-version`, a synced candidate
 * asks for the lease only when the primary runs another app version than this node (as its
 * supervisor reports in /status), or reports none (LiteFS alone, or a supervisor older than the
 * field: the first machine of this deploy takes the lease once). A restart of the same version
 * never moves the lease. A node that cannot tell its own version, or cannot read the primary's,
 * asks as before (`always`): an extra move is a write gap of one handoff, while never asking
 * could leave a new version's migrations unrun until the lease happens to reach it.
 */
export function s5NewVersion(
  config: Pick<Policy, 'promoteWhen' | 'versionEnv' | 'appVersion'>,
  primary: AnsweredPeer | undefined,
): { ok: true; why: string } | { ok: false; why: string } {
  if (config.promoteWhen === 'always') return { ok: true, why: '--promote-when always' };
  const own = config.appVersion;
  if (own === undefined) {
    return {
      ok: true,
      why: `no app version here (${config.versionEnv} is unset): asking as --promote-when always does (set --version-env to move the lease once per version)`,
    };
  }
  if (primary === undefined) {
    return {
      ok: true,
      why: 'the primary did not answer (or no --peers), so its app version is unknown: asking as --promote-when always does',
    };
  }
  if (primary.evidence !== 'supervisor' || primary.appVersion === undefined) {
    return {
      ok: true,
      why: `the primary (node ${primary.nodeId}) reports no app version (no supervisor, or one that predates versions); taking the lease once for ${own}`,
    };
  }
  if (primary.appVersion === own) {
    return {
      ok: false,
      why: `the primary (node ${primary.nodeId}) already runs this version (${own}): a restart never moves the lease`,
    };
  }
  return {
    ok: true,
    why: `the primary (node ${primary.nodeId}) runs ${primary.appVersion}, this node ${own}: the first machine of a new version takes the lease`,
  };
}

/**
 * Handover on stop (docs/design.md section 4): a SIGTERM/SIGINT first hands the lease over only on
 * a primary whose app runs (and no migration: S10 handles that), with --peers to find a candidate
 * and a non-zero --handoff-timeout. A fenced node does not (S4 already hands the lease over) and a
 * replica stops as before.
 */
export function mayHandOverOnStop(f: {
  role: Role;
  appRunning: boolean;
  commandRunning: boolean;
  fenced: boolean;
  config: Pick<Policy, 'handoffTimeout' | 'peers' | 'standalone'>;
}): boolean {
  return (
    f.role === 'primary' &&
    f.appRunning &&
    !f.commandRunning &&
    !f.fenced &&
    f.config.handoffTimeout > 0 &&
    asksPeers(f.config)
  );
}

/**
 * S8: skip when the copy would leave less than `--min-free-disk` of the backup dir's volume
 * free. An unmeasurable volume is skipped too: a full volume is what started the seed incident
 * (S9), and if it is LiteFS's own, filling it stops replication. `budgetBytes` is what may be
 * written before crossing the line, enforced while streaming in case the db grew since
 * `expectedBytes` was measured.
 */
export function s8BackupRoom(
  space: DiskSpace,
  dir: string,
  expectedBytes: number,
  minFreeDiskPct: number,
): { kind: 'ok'; budgetBytes: number } | { kind: 'skipped'; why: string } {
  const free = freePercent(space);
  if (!free.ok) {
    return {
      kind: 'skipped',
      why: `cannot tell whether the copy fits (${free.why}); not risking a full volume`,
    };
  }
  const { freeBytes, totalBytes } = free;
  const reserveBytes = (totalBytes * minFreeDiskPct) / 100;
  const budgetBytes = Math.floor(freeBytes - reserveBytes);
  if (expectedBytes > budgetBytes) {
    const left = ((freeBytes - expectedBytes) / totalBytes) * 100;
    return {
      kind: 'skipped',
      why:
        `${dir} has ${freeBytes} bytes free of ${totalBytes} (${pct1(free.pct)}%); ` +
        `writing the expected ${expectedBytes} bytes would leave ${pct1(left)}%, ` +
        `below --min-free-disk ${minFreeDiskPct}%`,
    };
  }
  return { kind: 'ok', budgetBytes };
}

function pct1(n: number): string {
  return n.toFixed(1);
}

/** S9 disk guard: refuse to migrate when the data dir's volume is below --min-free-disk. */
export function s9DiskGuard(
  disk: DiskSpace | undefined,
  minFreePct: number,
): { ok: true; note?: string } | { ok: false; why: string } {
  if (!disk) return { ok: true, note: 'free disk space not measured' };
  const free = freePercent(disk);
  if (!free.ok) return { ok: true, note: `free disk space unknown: ${free.why}` };
  if (free.pct >= minFreePct) return { ok: true };
  return {
    ok: false,
    why: `only ${free.pct.toFixed(1)}% free (${free.freeBytes} of ${free.totalBytes} bytes) on the volume of ${disk.path}, below --min-free-disk ${minFreePct}%; a migration could fill it (a full volume started the seed incident)`,
  };
}

export interface RewindAlarm {
  db: string;
  own: bigint;
  primary: bigint;
  peer: string;
  why: string;
}

/**
 * S11 rewind alarm: a replica whose new primary's copy of a gated db has a TXID below this
 * node's, or below this node's high-water mark, or is empty while this copy has data, is about
 * to be overwritten by a snapshot (docs/litefs-facts.md, replication rules).
 */
export function s11Rewinds(
  own: DbView[],
  hwm: Record<string, bigint>,
  report: PeerReport,
  clusterId: string,
): RewindAlarm[] {
  const primary = primaryPeer(report, clusterId);
  if (!primary) return [];
  return own.flatMap((db): RewindAlarm[] => {
    const theirs = primary.dbs[db.name];
    const primaryTxid = theirs?.txid ?? 0n;
    const mine = db.txid ?? 0n;
    const mark = hwm[db.name];
    const at = { db: db.name, own: mine, primary: primaryTxid, peer: primary.url };
    if (primaryTxid < mine) return [{ ...at, why: "its TXID is below this replica's" }];
    if (mark !== undefined && primaryTxid < mark)
      return [{ ...at, why: `its TXID is below this node's high-water mark ${txidHex(mark)}` }];
    if (db.hasData && !theirs?.hasData)
      return [{ ...at, why: `it has no data (${describePeerDb(theirs)}) while this replica has` }];
    return [];
  });
}

/**
 * S14 a serving primary: why this primary's app cannot serve writes now, so that the lease is
 * better with a synced candidate whose app is ready; undefined when it can serve or the lease is
 * needed here (its checks not passed, a migration, backup or --before command under way, a
 * fence, a stop). LiteFS's proxy sends every write to the primary's app: a primary whose app
 * boots, waits for a migration's next try or for its restart serves none.
 */
export function s14CannotServe(
  s: Pick<
    SupervisorState,
    'role' | 'term' | 'fence' | 'shutdown' | 'current' | 'backupsPending' | 'phase' | 'app'
  > & { commands: readonly CommandRecord[] },
  now: number,
): Exclude<HandBackWhy, 'spent'> | undefined {
  if (s.role !== 'primary' || !s.term.cleared || s.fence || s.shutdown) return undefined;
  if (s.current || s.backupsPending.length > 0) return undefined;
  if (s.phase === 'restarting') return 'crash';
  const app = s.app.status;
  if ((app === 'starting' || app === 'running') && !s.app.ready) return 'boot';
  if (app === 'running' || app === 'starting' || app === 'stopping') return undefined;
  const waiting = s.commands.some(
    (c) =>
      c.kind === 'migrate' &&
      (c.status === 'failed' || c.status === 'timed-out') &&
      c.retryAt !== undefined &&
      c.retryAt > now,
  );
  return waiting ? 'retry' : undefined;
}
