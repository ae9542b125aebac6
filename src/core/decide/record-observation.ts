// Recording an observation (a poll, an /events message merged into the last one) and the state
// file's content: the role and LiteFS's reachability, S13 lost history, the high-water mark.
// Only records and logs what it saw; what follows from it is decided by the steps.

import { clusterIdOf, dbViewsOf, primaryHostnameOf, roleOf, syncOf } from '../derive.js';
import type { HwmLoad } from '../hwm-types.js';
import type { Observation } from '../observation.js';
import { formatTxid } from '../parse.js';
import { HISTORY_LOST_REPAIR } from '../rules.js';
import { describeHwm } from './describe.js';
import type { Draft } from './draft.js';
import { endPrimaryTerm } from './term.js';

export function recordObservation(d: Draft, obs: Observation): void {
  const { s, config } = d;
  const wasReachable = s.litefsReachable;
  s.observation = obs;
  if (!config.standalone && wasReachable !== obs.info.ok) {
    s.litefsReachable = obs.info.ok;
    if (obs.info.ok) {
      d.log('info', 'litefs.connected', 'LiteFS API is answering', {
        url: config.litefsUrl,
        nodeId: obs.info.value.nodeId,
        clusterId: obs.info.value.clusterId || undefined,
      });
    } else {
      d.log(
        wasReachable === undefined ? 'info' : 'warn',
        'litefs.unreachable',
        'LiteFS API is not answering',
        { url: config.litefsUrl, error: obs.info.error },
      );
    }
  }
  const info = obs.info.ok ? obs.info.value : undefined;
  if (info?.isPrimary && info.primaryHostname !== '') s.selfHostname = info.primaryHostname;
  const self = d.ownHostnames();
  const role = roleOf(obs, self);
  const before = s.role;
  const primaryBefore = s.lastPrimary;
  if (role !== before) {
    d.log('info', 'role.change', `role is now ${role}`, {
      from: before,
      to: role,
      primary: primaryHostnameOf(obs),
    });
    s.role = role;
    if (role === 'primary') s.promote.done = true; // S5: nothing left to ask for
    if (before === 'primary') endPrimaryTerm(s, d.now);
  }
  noticeHistoryLost(d, obs, role);
  updateHwm(d, obs);
  // S11: a replica that sees a new primary asks the peers where it stands (steps/observed.ts).
  const primaryNow = role === 'replica' ? primaryHostnameOf(obs) : undefined;
  d.news.newPrimary =
    primaryNow !== undefined &&
    primaryNow !== primaryBefore &&
    (before === 'primary' || primaryBefore !== undefined);
  if (role === 'replica' && primaryNow !== undefined) s.lastPrimary = primaryNow;
  if (role === 'primary') s.lastPrimary = undefined;
}

/**
 * S13: a gated db with data at TXID 0 lost its LTX history. Logged once per db (again if it
 * recovers and loses it anew), on any role: on a primary the checks fence it; on a replica it
 * is reported, and counts as data for S2/S3/S11 through hasData.
 */
function noticeHistoryLost(d: Draft, obs: Observation, role: string): void {
  if (d.config.standalone) return;
  const lost = dbViewsOf(obs, d.config).filter((db) => db.historyLost);
  for (const db of lost) {
    if (d.s.historyLost.includes(db.name)) continue;
    d.log(
      'error',
      'db.history-lost',
      `${db.name} holds ${db.pageCount} pages at TXID 0: LiteFS has no transaction history for it (its LTX files are gone), so its next write would be a TXID 1 snapshot over every replica, or fail`,
      {
        db: db.name,
        pages: db.pageCount,
        pageSize: db.pageSize,
        txid: formatTxid(0n),
        role,
        hint: HISTORY_LOST_REPAIR,
      },
    );
  }
  d.s.historyLost = lost.map((db) => db.name);
}

/** docs/design.md section 3: the largest TXID seen per db; a synced replica follows its primary. */
function updateHwm(d: Draft, obs: Observation): void {
  const { s, config } = d;
  if (config.standalone || !s.hwm.loaded || !obs.info.ok) return;
  d.news.hwmUpdated = true; // steps/observed.ts writes it when due
  const clusterId = clusterIdOf(obs);
  if (clusterId !== '' && s.hwm.clusterId !== clusterId) {
    if (s.hwm.clusterId !== '' && Object.keys(s.hwm.dbs).length > 0) {
      d.log(
        'warn',
        'hwm.cluster-changed',
        'the state file belongs to another cluster; starting a fresh high-water mark',
        { stateFile: config.stateFile, fileClusterId: s.hwm.clusterId, clusterId },
      );
      s.hwm.dbs = {};
      s.hwm.peak = {};
      s.hwm.retired = {};
    }
    s.hwm.clusterId = clusterId;
    s.hwm.dirty = true;
  }
  const syncedReplica = s.role === 'replica' && syncOf(obs, config.maxLag).synced;
  if (s.role === 'primary') retireLostHistories(d, obs);
  for (const db of obs.dbs) {
    if (db.error !== undefined || db.pos.kind !== 'present') continue;
    const txid = db.pos.value.txid;
    if (txid > 0n && s.hwm.retired[db.name] !== undefined) {
      // A history again (the repair's TXID 1, or a snapshot from a primary): the old history's
      // mark no longer says anything about this db.
      delete s.hwm.retired[db.name];
      s.hwm.dirty = true;
    }
    const prev = s.hwm.dbs[db.name];
    if (txid > (s.hwm.peak[db.name] ?? -1n)) s.hwm.peak[db.name] = txid;
    if (syncedReplica) {
      // A replica at TXID 0 follows a primary with no history (empty, or history lost:
      // LiteFS streams nothing from TXID 0): never lower the mark on that (section 3).
      if (txid === 0n) continue;
      if (prev !== undefined && txid < prev) {
        d.log(
          'error',
          'hwm.rewind',
          'this synced replica is now below its high-water mark: the cluster lost transactions somewhere',
          {
            db: db.name,
            txid: formatTxid(txid),
            hwm: formatTxid(prev),
            primary: primaryHostnameOf(obs),
          },
        );
      }
      if (prev !== txid) {
        s.hwm.dbs[db.name] = txid;
        s.hwm.dirty = true;
      }
    } else if (prev === undefined || txid > prev) {
      s.hwm.dbs[db.name] = txid;
      s.hwm.dirty = true;
    }
  }
}

/**
 * S13 and the mark: a mark orders positions within one history of a db. On a primary whose db
 * holds data at TXID 0, that history is gone from this node (its LTX files are), and the only
 * way on is the repair (`litefs export`, then `litefs import`), whose new history starts again
 * at TXID 1: a mark kept from the old one would fence the repaired node for ever (S2, TXID 1 below
 * it; seen on real LiteFS). So the mark is retired here, for this node's own checks. It stays
 * the evidence of what the cluster held (`hwm.retired`, reported to peers as this node's mark):
 * without it, once this node exits 4 a stale node below it passes S2 and takes the lease, and
 * LiteFS replaces this node's rows with the stale copy when it rejoins (docs/nemesis.md,
 * finding 1). Nothing is opened by the retirement: S13 fences the node while the history is
 * lost, and a node emptied later is judged by its peers and the cluster record. Only on a primary, where LiteFS's TXID 0 is its own position, not a replica's
 * wait for a primary with no history.
 */
function retireLostHistories(d: Draft, obs: Observation): void {
  const { s, config } = d;
  for (const db of dbViewsOf(obs, config)) {
    const mark = s.hwm.dbs[db.name];
    if (!db.historyLost || mark === undefined || mark === 0n) continue; // 0 orders nothing
    // Kept as evidence for the peers' S2 (what the cluster held), never for this node's own.
    if (mark > (s.hwm.retired[db.name] ?? 0n)) s.hwm.retired[db.name] = mark;
    delete s.hwm.dbs[db.name];
    delete s.hwm.peak[db.name];
    s.hwm.dirty = true;
    d.log(
      'warn',
      'hwm.retired',
      `${db.name}'s transaction history is gone from this primary (data at TXID 0, S13): its high-water mark ordered that history and no longer orders this node's checks. The node stays fenced until the repair, whose new history starts at TXID 1; until then its peers still see the mark (what the cluster held), so a node below it is behind (S2)`,
      { db: db.name, hwm: formatTxid(mark), stateFile: config.stateFile },
    );
  }
}

export function recordHwmLoaded(d: Draft, load: HwmLoad): void {
  const hwm = d.s.hwm;
  hwm.loaded = true;
  const stateFile = d.config.stateFile;
  switch (load.kind) {
    case 'ok':
      hwm.clusterId = load.file.clusterId;
      for (const [name, v] of Object.entries(load.file.dbs)) {
        hwm.dbs[name] = v.txid;
        hwm.peak[name] = v.txid;
        if (v.retired !== undefined) hwm.retired[name] = v.retired;
      }
      d.log('info', 'hwm.loaded', 'high-water mark read from the state file', {
        stateFile,
        clusterId: load.file.clusterId || undefined,
        hwm: describeHwm(hwm.dbs),
      });
      return;
    case 'missing':
      d.log(
        'info',
        'hwm.none',
        'no state file yet: no high-water mark (a new volume); peers still apply',
        { stateFile },
      );
      return;
    case 'corrupt':
      // S10: a damaged state file is reported and kept aside; it never stops the supervisor.
      d.log(
        'error',
        'hwm.corrupt',
        `the state file is damaged (${load.error}); kept aside and treated as no high-water mark (peers still apply)`,
        { stateFile, movedTo: load.movedTo },
      );
      return;
    case 'unreadable':
      d.log(
        'error',
        'hwm.unreadable',
        `the state file cannot be read (${load.error}); treated as no high-water mark (peers still apply)`,
        { stateFile },
      );
      return;
  }
}
