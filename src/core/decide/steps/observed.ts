// Steps that act on what an observation or a peers' answer recorded: the state-file write of
// the high-water mark, and S11 (a replica that sees a new primary asks the peers, and raises
// the rewind alarm on their answer). None of them ends the decision.

import { clusterIdOf, dbViewsOf } from '../../derive.js';
import { formatTxid } from '../../parse.js';
import { asksPeers } from '../../policy.js';
import { s11Rewinds } from '../../rules.js';
import type { Input } from '../../state.js';
import { HWM_WRITE_INTERVAL_MS } from '../deadlines.js';
import type { Draft, Verdict } from '../draft.js';

/** docs/design.md section 3: at most one state-file write per HWM_WRITE_INTERVAL_MS. */
export function writeHwm(d: Draft): Verdict {
  const hwm = d.s.hwm;
  if (
    d.news.hwmUpdated &&
    hwm.dirty &&
    (hwm.lastPersistAt === undefined || d.now >= hwm.lastPersistAt + HWM_WRITE_INTERVAL_MS)
  ) {
    d.persistHwm();
  }
  return 'continue';
}

/** S11: a replica that sees a new primary asks the peers where it stands. */
export function askAboutNewPrimary(d: Draft): Verdict {
  if (d.news.newPrimary && asksPeers(d.config)) {
    d.askPeers('rewind');
  }
  return 'continue';
}

/** S11: best effort, never blocks: the peers answered; is the new primary behind this node? */
export function raiseRewindAlarms(d: Draft, input: Input): Verdict {
  const q = d.s.peers;
  if (input.type !== 'peers' || q?.token !== input.token || q.purpose !== 'rewind') {
    return 'continue';
  }
  const { s, config } = d;
  const own = dbViewsOf(s.observation, config).map((db) => ({
    ...db,
    txid: q.ownTxids[db.name] ?? db.txid,
  }));
  // The peak mark: a poll that straddles the lease change may already have lowered hwm.dbs.
  for (const r of s11Rewinds(own, s.hwm.peak, input.report, clusterIdOf(s.observation))) {
    s.rewindAlarms += 1;
    d.log(
      'error',
      'rewind.alarm',
      `the new primary is behind this replica (${r.why}): LiteFS will overwrite ${r.db} with a snapshot of the primary's older database`,
      {
        db: r.db,
        txid: formatTxid(r.own),
        primaryTxid: formatTxid(r.primary),
        primary: r.peer,
        backup: config.backupDir ? 'saving a copy now' : 'no --backup-dir: nothing saved',
      },
    );
    if (config.backupDir) {
      const db = own.find((x) => x.name === r.db);
      d.actions.push({ type: 'backup', db: r.db, txid: r.own, expectedBytes: db?.sizeBytes ?? 0 });
    }
  }
  return 'continue';
}
