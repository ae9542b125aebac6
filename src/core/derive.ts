// What an observation means (DESIGN.md section 3): role, synced, empty.
// Pure functions; decide and the status API both use them so they never disagree.

import type { Config } from '../config/types.js';
import type { LitefsEvent } from './litefs-types.js';
import type { DbObservation, Observation } from './observation.js';
import type { Role } from './state.js';

/**
 * primary iff /info says isPrimary. replica iff a primary is known (`.primary` readable or
 * /info primary.hostname set). A missing `.primary` alone never means primary: LiteFS also
 * removes it while no primary is known (LITEFS.md; litefs-js got this wrong).
 */
export function roleOf(obs: Observation | undefined): Role {
  if (!obs?.info.ok) return 'unknown';
  if (obs.info.value.isPrimary) return 'primary';
  if (obs.primaryFile.kind === 'present') return 'replica';
  if (obs.info.value.primaryHostname !== '') return 'replica';
  return 'unknown';
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
 * value, and at most maxLag, AND every gated db is here with a replicated position (DESIGN.md
 * section 3). LiteFS sends heartbeats whether or not the primary has the db, so `.lag` alone is
 * small on a replica that has no copy at all (seen on real LiteFS 0.5.11: the replica's app
 * started 2.4 s before the primary created the db). Older LiteFS has no `.lag`: then a LiteFS
 * that started us is ready, and the same per-db test shows the initial replication happened.
 */
export function syncOf(obs: Observation | undefined, maxLagMs: number): SyncView {
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
    if (lagMs > maxLagMs) {
      return { synced: false, lagMs, detail: `lag ${lagMs}ms above --max-lag ${maxLagMs}ms` };
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
    : { synced: true, lagMs, detail: `lag ${lagMs}ms within ${maxLagMs}ms; every db replicated` };
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
  txid: bigint | undefined;
  checksum: string | undefined;
  empty: boolean;
  /** Why it counts as empty, when it does. */
  emptyBecause: string | undefined;
  /** Set when the db could not be read (EIO, EACCES...): its state is unknown, not empty. */
  unreadable: string | undefined;
}

/**
 * empty = missing, zero bytes, no SQLite header, or TXID 0 (DESIGN.md section 3).
 * In standalone mode a db is a plain file: empty = missing or zero bytes (section 10).
 */
export function dbViewOf(db: DbObservation, standalone: boolean): DbView {
  const pos = db.pos.kind === 'present' ? db.pos.value : undefined;
  let emptyBecause: string | undefined;
  if (db.error !== undefined) emptyBecause = undefined;
  else if (!db.exists) emptyBecause = 'the file does not exist';
  else if (db.sizeBytes === 0) emptyBecause = 'the file is zero bytes';
  else if (!standalone && !db.validHeader) emptyBecause = 'the file has no SQLite header';
  else if (!standalone && pos && pos.txid === 0n) emptyBecause = 'its TXID is 0';
  return {
    name: db.name,
    exists: db.exists,
    sizeBytes: db.sizeBytes,
    validHeader: db.validHeader,
    txid: pos?.txid,
    checksum: pos?.checksum,
    empty: emptyBecause !== undefined,
    emptyBecause,
    unreadable: db.error,
  };
}

export function dbViewsOf(obs: Observation | undefined, config: Config): DbView[] {
  if (!obs) return [];
  return obs.dbs.map((db) => dbViewOf(db, config.standalone));
}

/**
 * Merge a LiteFS /events message into the latest observation, the way LiteFS would show
 * it in /info and the mount dir (LITEFS.md): a primaryChange sets isPrimary and the
 * primary's hostname (omitted while no primary is known); a tx moves that db's position.
 */
export function applyLitefsEvent(obs: Observation, ev: LitefsEvent, now: number): Observation {
  if (ev.type === 'init' || ev.type === 'primaryChange') {
    if (!obs.info.ok) return obs; // nothing to merge into; the next poll fills it in
    const hostname = ev.hostname ?? '';
    return {
      ...obs,
      at: now,
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
          }
        : db,
    );
    return { ...obs, at: now, dbs };
  }
  return obs;
}

/** This node's cluster ID as LiteFS reports it ('' while unset or unknown). */
export function clusterIdOf(obs: Observation | undefined): string {
  if (!obs?.info.ok) return '';
  return obs.info.value.clusterIdHeader || obs.info.value.clusterId;
}
