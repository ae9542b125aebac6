// What an observation means (docs/design.md section 3): role, synced, empty.
// Pure functions; decide and the status API both use them so they never disagree.

import type { LitefsEvent } from './litefs-types.js';
import type { DbObservation, Observation } from './observation.js';
import type { Policy } from './policy.js';
import type { Role } from './state.js';

/**
 * primary iff /info says isPrimary. replica iff a primary is known (`.primary` readable or
 * /info primary.hostname set) and it is not this node itself (`self`: the hostnames this node's
 * LiteFS announces). A missing `.primary` alone never means primary: LiteFS also removes it
 * while no primary is known (docs/litefs-facts.md; litefs-js got this wrong). Right after a handoff, or
 * when LiteFS restarts while its old lease is still held, real LiteFS shows this node as a
 * replica of its own hostname ("existing primary found ... cannot connect to self"): that is a
 * transient, `unknown`, never a synced replica (docs/design.md section 3).
 */
export function roleOf(obs: Observation | undefined, self: readonly string[] = []): Role {
  if (!obs?.info.ok) return 'unknown';
  if (obs.info.value.isPrimary) return 'primary';
  const primary = primaryHostnameOf(obs);
  if (primary === undefined || self.includes(primary)) return 'unknown';
  return 'replica';
}

export function primaryHostnameOf(obs: Observation | undefined): string | undefined {
  if (!obs) return undefined;
  if (obs.primaryFile.kind === 'present') return obs.primaryFile.value;
  if (obs.info.ok && obs.info.value.primaryHostname !== '') return obs.info.value.primaryHostname;
  return undefined;
}

export interface SyncView {
  synced: boolean;
  /** Replication lag in ms when `.lag` says it. */
  lagMs: number | undefined;
  /** Why not synced (or how it was judged), for logs and /status. */
  detail: string;
}

/**
 * A replica is synced when `.lag` is readable, not the "initial replication not finished"
 * value, and at most maxLag, AND every gated db is here with a replicated position (docs/design.md
 * section 3). LiteFS sends heartbeats whether or not the primary has the db, so `.lag` alone is
 * small on a replica that has no copy at all (seen on real LiteFS 0.5.11: the replica's app
 * started 2.4 s before the primary created the db). Older LiteFS has no `.lag`: then a LiteFS
 * that started us is ready, and the same per-db test shows the initial replication happened.
 */
export function syncOf(obs: Observation | undefined, maxLag: number): SyncView {
  if (!obs) return { synced: false, lagMs: undefined, detail: 'nothing observed yet' };
  const lag = obs.lag;
  if (lag.kind === 'error') {
    return { synced: false, lagMs: undefined, detail: `.lag unreadable: ${lag.error}` };
  }
  let lagMs: number | undefined;
  if (lag.kind === 'present') {
    if (lag.value.kind === 'unsynced') {
      return { synced: false, lagMs: undefined, detail: 'initial replication not finished' };
    }
    lagMs = lag.value.ms;
    if (lagMs > maxLag) {
      return { synced: false, lagMs, detail: `lag ${lagMs}ms above --max-lag ${maxLag}ms` };
    }
  }
  const missing = dbsNotReplicated(obs.dbs);
  if (missing.length > 0) {
    const why = missing.map((m) => `${m.name} ${m.why}`).join('; ');
    return {
      synced: false,
      lagMs,
      detail:
        lagMs === undefined
          ? `no .lag file, and not every db is replicated here: ${why}`
          : `lag ${lagMs}ms, but not every db is replicated here: ${why}`,
    };
  }
  return lagMs === undefined
    ? { synced: true, lagMs, detail: 'no .lag file; every db has a replicated TXID' }
    : { synced: true, lagMs, detail: `lag ${lagMs}ms within ${maxLag}ms; every db replicated` };
}

/**
 * The gated dbs that have no replicated copy here yet: missing, unreadable, or without a
 * non-zero `-pos`. A replica never writes, so a non-zero position on a replica came from a
 * primary; a db at TXID 0 has received nothing (its file, if any, is not the primary's).
 */
export function dbsNotReplicated(dbs: readonly DbObservation[]): { name: string; why: string }[] {
  return dbs.flatMap((db) => {
    if (db.error !== undefined) return [{ name: db.name, why: `is unreadable (${db.error})` }];
    if (!db.exists) return [{ name: db.name, why: 'does not exist here yet' }];
    if (db.pos.kind === 'error') {
      return [{ name: db.name, why: `has an unreadable position (${db.pos.error})` }];
    }
    if (db.pos.kind === 'absent') return [{ name: db.name, why: 'has no -pos file' }];
    if (db.pos.value.txid === 0n) return [{ name: db.name, why: 'has no replicated TXID yet' }];
    return [];
  });
}

export interface DbView {
  name: string;
  exists: boolean;
  sizeBytes: number;
  validHeader: boolean;
  /** From the SQLite header; undefined when there is none. */
  pageSize: number | undefined;
  pageCount: number | undefined;
  txid: bigint | undefined;
  checksum: string | undefined;
  /**
   * The db holds data: 2 pages or more (a table needs a root page besides page 1), or a
   * position above TXID 0. Read from the database, not only from LiteFS's position
   * (docs/litefs-facts.md "What a TXID does not tell you").
   */
  hasData: boolean;
  /** Data at TXID 0: LiteFS lost this db's LTX history (the seed's data holder; S13). */
  historyLost: boolean;
  empty: boolean;
  /** Why it counts as empty, when it does. */
  emptyBecause: string | undefined;
  /** Set when the db could not be read (EIO, EACCES...): its state is unknown, not empty. */
  unreadable: string | undefined;
}

/**
 * docs/design.md section 3. hasData = pageCount >= 2 or TXID > 0. empty = missing, zero bytes, no
 * SQLite header, or fewer than 2 pages at TXID 0: TXID 0 alone is NOT empty (a db with pages
 * at TXID 0 lost its history). A db with a position above 0 is never empty: in WAL mode its
 * file's header can say 1 page until a checkpoint. An unreadable db is neither empty nor has
 * data: it is unknown. In standalone mode a db is a plain file: empty = missing or zero bytes
 * (section 10), and there is no position, so no history to lose.
 */
export function dbViewOf(db: DbObservation, standalone: boolean): DbView {
  const pos = db.pos.kind === 'present' ? db.pos.value : undefined;
  const txid = pos?.txid;
  const pages = db.validHeader ? (db.pageCount ?? 0) : 0;
  const readable = db.error === undefined;
  const hasData =
    readable && (standalone ? db.exists && db.sizeBytes > 0 : pages >= 2 || (txid ?? 0n) > 0n);
  let emptyBecause: string | undefined;
  if (!readable || hasData) emptyBecause = undefined;
  else if (!db.exists) emptyBecause = 'the file does not exist';
  else if (db.sizeBytes === 0) emptyBecause = 'the file is zero bytes';
  else if (!db.validHeader) emptyBecause = 'the file has no SQLite header';
  else emptyBecause = `${pages} page${pages === 1 ? '' : 's'} (no table) at TXID 0`;
  return {
    name: db.name,
    exists: db.exists,
    sizeBytes: db.sizeBytes,
    validHeader: db.validHeader,
    pageSize: db.validHeader ? db.pageSize : undefined,
    pageCount: db.validHeader ? db.pageCount : undefined,
    txid,
    checksum: pos?.checksum,
    hasData,
    historyLost: !standalone && readable && txid === 0n && pages >= 2,
    empty: emptyBecause !== undefined,
    emptyBecause,
    unreadable: db.error,
  };
}

export function dbViewsOf(obs: Observation | undefined, config: Policy): DbView[] {
  if (!obs) return [];
  return obs.dbs.map((db) => dbViewOf(db, config.standalone));
}

/**
 * Merge a LiteFS /events message into the latest observation, the way LiteFS would show
 * it in /info and the mount dir (docs/litefs-facts.md): a primaryChange sets isPrimary and the
 * primary's hostname (omitted while no primary is known); a tx moves that db's position.
 */
export function applyLitefsEvent(obs: Observation, ev: LitefsEvent, now: number): Observation {
  if (ev.type === 'init' || ev.type === 'primaryChange') {
    if (!obs.info.ok) return obs; // nothing to merge into; the next poll fills it in
    const hostname = ev.hostname ?? '';
    return {
      ...obs,
      at: now,
      roleAt: now,
      info: {
        ok: true,
        value: { ...obs.info.value, isPrimary: ev.isPrimary, primaryHostname: hostname },
      },
      primaryFile:
        !ev.isPrimary && hostname !== ''
          ? { kind: 'present', value: hostname }
          : { kind: 'absent' },
    };
  }
  if (ev.type === 'tx') {
    const dbs = obs.dbs.map((db) =>
      db.name === ev.db
        ? {
            ...db,
            pos: { kind: 'present' as const, value: { txid: ev.txid, checksum: ev.checksum } },
            posAt: now,
          }
        : db,
    );
    return { ...obs, at: now, dbs };
  }
  return obs;
}

/**
 * A poll reads /info and the mount over some milliseconds; an /events message that arrived
 * meanwhile is newer than what the poll read. So the parts an event set after the poll began
 * (the role, a db's position) are kept, and the poll gives the rest. Seen on real LiteFS: a
 * node that had just become primary wrote TXID 13 (the event raised the high-water mark), then
 * a poll started before that write said 12, and S2 fenced a healthy primary as "behind its
 * high-water mark".
 */
export function mergePoll(prev: Observation | undefined, poll: Observation): Observation {
  if (!prev) return poll;
  let merged = poll;
  if (prev.roleAt !== undefined && prev.roleAt > poll.at && prev.info.ok && poll.info.ok) {
    merged = {
      ...merged,
      roleAt: prev.roleAt,
      info: {
        ok: true,
        value: {
          ...poll.info.value,
          isPrimary: prev.info.value.isPrimary,
          primaryHostname: prev.info.value.primaryHostname,
        },
      },
      primaryFile: prev.primaryFile,
    };
  }
  const dbs = poll.dbs.map((db) => {
    const before = prev.dbs.find((p) => p.name === db.name);
    return before?.posAt !== undefined && before.posAt > poll.at
      ? { ...db, pos: before.pos, posAt: before.posAt }
      : db;
  });
  return dbs.some((db, i) => db !== poll.dbs[i]) ? { ...merged, dbs } : merged;
}

/** This node's cluster ID as LiteFS reports it ('' while unset or unknown). */
export function clusterIdOf(obs: Observation | undefined): string {
  if (!obs?.info.ok) return '';
  return obs.info.value.clusterIdHeader || obs.info.value.clusterId;
}
