// Health verdicts and the /status snapshot (docs/design.md section 7), computed from the state
// only, so the HTTP layer has no logic of its own and nothing it does changes state.

import { dbViewsOf, primaryHostnameOf, syncOf } from './derive.js';
import { formatTxid } from './parse.js';
import { keepsRecord, type Policy } from './policy.js';
import type { SupervisorState } from './state.js';

export interface Verdict {
  ok: boolean;
  reason: string;
}

/**
 * Running means the app runs and is ready (docs/design.md section 6, readiness): a deploy that
 * moves on while the app still boots, or a lease handed to it, would cost the users writes.
 */
function appRunning(s: SupervisorState): Verdict | undefined {
  if (s.phase !== 'running') return { ok: false, reason: `state is ${s.phase}: ${s.reason}` };
  if (s.app.status !== 'running') return { ok: false, reason: `app is ${s.app.status}` };
  if (!s.app.ready) return { ok: false, reason: 'app started, not ready yet (--app-ready)' };
  return undefined;
}

function replicaLag(s: SupervisorState, maxLag: number): Verdict {
  const sync = syncOf(s.observation, maxLag);
  return sync.synced
    ? { ok: true, reason: `running as replica, ${sync.detail}` }
    : { ok: false, reason: `running as replica but not synced: ${sync.detail}` };
}

/**
 * GET /health: running, app alive, and primary or a replica within --max-lag. A primary whose
 * migration failed and waits for its next try (S1 retries) is still healthy: its app serves,
 * and a failing check would only take the primary out of routing or hold the deploy while the
 * retry runs; /status and /metrics show the failure (docs/design.md section 7; docs/deploying.md, "A migration fails").
 */
export function healthVerdict(s: SupervisorState, config: Policy): Verdict {
  const notRunning = appRunning(s);
  if (notRunning) return notRunning;
  if (s.role === 'primary') {
    const failed = s.commands.find((c) => c.kind === 'migrate' && c.retryAt !== undefined);
    return failed
      ? {
          ok: true,
          reason: `running as primary; a migration failed ${failed.failures} time(s), next try at ${new Date(failed.retryAt!).toISOString()}`,
        }
      : { ok: true, reason: 'running as primary' };
  }
  if (s.role === 'replica') return replicaLag(s, config.maxLag);
  return { ok: false, reason: 'running, but no primary is known' };
}

/** GET /primary */
export function primaryVerdict(s: SupervisorState): Verdict {
  const notRunning = appRunning(s);
  if (notRunning) return notRunning;
  return s.role === 'primary'
    ? { ok: true, reason: 'running as primary' }
    : { ok: false, reason: `role is ${s.role}` };
}

/** GET /replica[?max_lag=DUR] */
export function replicaVerdict(s: SupervisorState, maxLag: number): Verdict {
  const notRunning = appRunning(s);
  if (notRunning) return notRunning;
  if (s.role !== 'replica') return { ok: false, reason: `role is ${s.role}` };
  return replicaLag(s, maxLag);
}

/** GET /status: the full JSON snapshot. */
export function statusSnapshot(s: SupervisorState, config: Policy, version: string, now: number) {
  const obs = s.observation;
  const info = obs?.info.ok ? obs.info.value : undefined;
  const sync = syncOf(obs, config.maxLag);
  const health = healthVerdict(s, config);
  return {
    /**
     * The evidence contract peers read (docs/design.md section 7): `nodeId`, `clusterId` and
     * `dbs[].{name, txid, pageCount, hasData, hwm}`. Versioned: a change to those fields bumps it.
     */
    evidence: 1,
    /**
     * This node's app version (--version-env; S5), compared by a starting candidate with
     * --promote-when new-version. Added within `evidence: 1`: a new field is compatible (readers
     * ignore fields they do not know, and one without it reads as "no version").
     */
    appVersion: config.appVersion ?? null,
    version,
    state: s.phase,
    since: new Date(s.since).toISOString(),
    sinceMs: now - s.since,
    reason: s.reason,
    healthy: health.ok,
    healthReason: health.reason,
    standalone: config.standalone,
    role: s.role,
    candidate: info?.candidate ?? null,
    primaryHostname:
      s.role === 'primary' ? (info?.primaryHostname ?? null) : (primaryHostnameOf(obs) ?? null),
    clusterId: info?.clusterIdHeader ?? (info?.clusterId || null),
    nodeId: info?.nodeId ?? null,
    litefs: {
      url: config.standalone ? null : config.litefsUrl,
      reachable: config.standalone ? null : (obs?.info.ok ?? null),
      error: obs && !obs.info.ok ? obs.info.error : null,
    },
    lagMs: s.role === 'primary' ? 0 : (sync.lagMs ?? null),
    synced: s.role === 'primary' ? true : sync.synced,
    syncDetail: sync.detail,
    dbs: dbViewsOf(obs, config).map((db) => ({
      name: db.name,
      exists: db.exists,
      sizeBytes: db.sizeBytes,
      validHeader: db.validHeader,
      pageSize: db.pageSize ?? null,
      pageCount: db.pageCount ?? null,
      hasData: db.hasData,
      historyLost: db.historyLost,
      txid: db.txid === undefined ? null : formatTxid(db.txid),
      checksum: db.checksum ?? null,
      empty: db.empty,
      emptyBecause: db.emptyBecause ?? null,
      hwm: reportedMark(s.hwm, db.name),
      unreadable: db.unreadable ?? null,
    })),
    migrations: s.commands.map((c) => ({
      kind: c.kind,
      command: c.command,
      state: c.status,
      startedAt: c.startedAt === undefined ? null : new Date(c.startedAt).toISOString(),
      endedAt: c.endedAt === undefined ? null : new Date(c.endedAt).toISOString(),
      exitCode: c.exitCode ?? null,
      signal: c.signal ?? null,
      bootstrap: c.bootstrap,
      failures: c.failures,
      retryAt: c.retryAt === undefined ? null : new Date(c.retryAt).toISOString(),
      lastOutput: c.lastOutput,
    })),
    app: {
      state: s.app.status,
      pid: s.app.pid ?? null,
      command: config.command,
      startedAt: s.app.startedAt === undefined ? null : new Date(s.app.startedAt).toISOString(),
      /** Readiness (--app-ready); a peer's /status without it counts as ready. */
      ready: s.app.ready,
      bootMs:
        s.app.readyAt === undefined || s.app.startedAt === undefined
          ? null
          : s.app.readyAt - s.app.startedAt,
      restarts: s.app.restarts,
      lastExit: s.app.lastExit
        ? {
            exitCode: s.app.lastExit.exitCode,
            signal: s.app.lastExit.signal ?? null,
            at: new Date(s.app.lastExit.at).toISOString(),
          }
        : null,
    },
    /** S14: handing the lease to a node whose app serves while this one's cannot. */
    handBack: s.handBack
      ? {
          why: s.handBack.why,
          since: new Date(s.handBack.since).toISOString(),
          to: s.handBack.target ?? null,
          moved: s.handBack.moved,
          reclaims: s.handBack.reclaims,
        }
      : null,
    fence:
      s.phase === 'fenced' ? { since: new Date(s.since).toISOString(), reason: s.reason } : null,
    clusterRecord: clusterRecordStatus(s, config),
    disk: diskStatus(s, config),
    /** Compaction (docs/design.md, "Compaction"): the one under way and the last one's outcome. */
    compaction: {
      running: s.compaction
        ? {
            db: s.compaction.request.db,
            stage: s.compaction.stage,
            since: new Date(s.compaction.since).toISOString(),
            dryRun: s.compaction.request.dryRun,
          }
        : null,
      last: s.lastCompaction
        ? { ...s.lastCompaction, at: new Date(s.lastCompaction.at).toISOString() }
        : null,
    },
    transitions: s.transitions.map((t) => ({ ...t, at: new Date(t.at).toISOString() })),
  };
}

export type StatusSnapshot = ReturnType<typeof statusSnapshot>;

/**
 * `/status` `disk`: the data volume as last measured, and the low-disk alarm (below
 * --min-free-disk; the app keeps running). Peers read `freeBytes` and `totalBytes` to judge
 * whether a compaction's import fits on them. Null until measured (and in --standalone).
 */
export function diskStatus(s: SupervisorState, config: Policy) {
  const disk = s.observation?.disk;
  if (!disk) return null;
  if (!disk.ok)
    return {
      path: disk.path,
      error: disk.error,
      low: false,
      lowSince: null,
      minFreePct: config.minFreeDisk,
    };
  return {
    path: disk.path,
    freeBytes: disk.freeBytes,
    totalBytes: disk.totalBytes,
    freePct:
      disk.totalBytes > 0 ? Number(((disk.freeBytes / disk.totalBytes) * 100).toFixed(2)) : null,
    minFreePct: config.minFreeDisk,
    low: s.diskLow !== undefined,
    lowSince: s.diskLow ? new Date(s.diskLow.since).toISOString() : null,
  };
}

/**
 * `/status` `clusterRecord` (docs/design.md section 7): the record as this node last read or
 * wrote it, kept apart from the `evidence: 1` fields (a record is the cluster's, not this
 * node's evidence). Its key only: never the Consul URL, which may carry a token.
 */
export function clusterRecordStatus(s: SupervisorState, config: Policy) {
  if (!keepsRecord(config)) return { state: 'off' as const, key: null };
  const last = s.record.last;
  const at = s.record.at === undefined ? null : new Date(s.record.at).toISOString();
  const base = { key: config.clusterRecord ?? null, readAt: at, writes: s.record.writes };
  if (last === undefined) return { state: 'unknown' as const, ...base };
  if (last.kind === 'absent') return { state: 'absent' as const, ...base };
  if (last.kind === 'unreadable')
    return { state: 'unreadable' as const, error: last.error, ...base };
  return {
    state: 'present' as const,
    ...base,
    clusterId: last.record.clusterId || null,
    version: last.record.version,
    dbs: Object.entries(last.record.dbs).map(([name, e]) => ({
      name,
      since: e.since,
      node: e.node,
    })),
  };
}

/**
 * The mark peers read (`evidence: 1` `hwm`): the largest TXID this node has seen in this
 * cluster, the one a history-lost primary retired included (S13 retires it for this node's own
 * checks only; for the peers' S2 it is what the cluster held).
 */
function reportedMark(hwm: SupervisorState['hwm'], db: string): string | null {
  const own = hwm.dbs[db];
  const retired = hwm.retired[db];
  const mark = retired !== undefined && (own === undefined || retired > own) ? retired : own;
  return mark === undefined ? null : formatTxid(mark);
}
