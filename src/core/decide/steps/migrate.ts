// A cleared primary's migrations: S8 backups first, the S9 disk guard, then each --migrate
// command behind S1 (a fresh /info confirms the role right before it starts; a failed one waits
// for its retry). `migrationsDone` says when nothing is left before the app.

import { dbViewsOf } from '../../derive.js';
import { EXIT } from '../../exit-code.js';
import { formatTxid } from '../../parse.js';
import { s9DiskGuard } from '../../rules.js';
import { reached } from '../deadlines.js';
import type { Draft, Verdict } from '../draft.js';

/** S8: a backup the migrations waited for failed: no migration without it (exit 3). */
export function backupFailed(d: Draft): Verdict {
  const failed = d.news.backupFailed;
  if (!failed) return 'continue';
  return d.exit(
    EXIT.commandFailed,
    'error',
    'backup.fail',
    `backup of ${failed.db} failed (${failed.error}); not migrating without it`,
    {
      db: failed.db,
      hint: 'fix --backup-dir (or remove it to migrate without backups) and redeploy',
    },
  );
}

/** The pipeline's step: a primary's migrations (a replica goes on). */
export function migrations(d: Draft): Verdict {
  return d.s.role === 'primary' ? migrate(d, false) : 'continue';
}

/**
 * 'continue' once every migration ran (or --on-promotion none skips them); 'done' while one
 * is backed up for, confirmed, run or waits for its retry. `appRunning`: S7.
 */
export function migrate(d: Draft, appRunning: boolean): Verdict {
  const { s, config } = d;
  const next = d.nextToRun('migrate');
  if (next && appRunning && config.onPromotion === 'none' && !s.migrationsDone) {
    s.migrationsDone = true;
    d.log(
      'info',
      'migrate.skip',
      '--on-promotion none: not migrating after a promotion while the app runs',
      {},
    );
  }
  if (next && appRunning && s.term.handedBackBy !== undefined && !s.migrationsDone) {
    // S14: a hand-back, not a promotion: the node that handed the lease here migrates itself
    // (it ran its migrations, or takes the lease back for their next try).
    d.log(
      'info',
      'migrate.skip',
      `the lease was handed back by ${s.term.handedBackBy} while its app cannot serve: not a promotion, not migrating`,
      { from: s.term.handedBackBy },
    );
    d.enter('running', 'app running as primary (the lease handed back)', 'state.running', {});
    return 'continue';
  }
  if (!next || s.migrationsDone) {
    s.migrationsDone = true;
    if (appRunning) d.enter('running', 'app running as primary', 'state.running', {});
    return 'continue';
  }
  // S1 retries: a failed migration waits for its next try (the app, if running, keeps going).
  if (next.retryAt !== undefined && !reached(next.retryAt, d.now)) return 'done';
  const dbs = dbViewsOf(s.observation, config);
  // S8: save each non-empty gated db before the first migration writes to it.
  if (config.backupDir && !s.term.bootstrap) {
    const todo = dbs.filter((db) => !db.empty && !s.term.backedUp.includes(db.name));
    if (todo.length > 0) {
      if (s.backupsPending.length === 0) {
        d.enter(
          'backing-up',
          `saving ${todo.map((db) => db.name).join(', ')} to ${config.backupDir} before migrating`,
          'backup.start',
          {},
        );
        for (const db of todo) {
          s.backupsPending.push(db.name);
          d.actions.push({
            type: 'backup',
            db: db.name,
            txid: db.txid ?? 0n,
            expectedBytes: db.sizeBytes,
          });
        }
      }
      return 'done';
    }
  }
  // S9: a migration on a nearly full volume is how the seed incident began.
  const disk = s9DiskGuard(s.observation?.disk, config.minFreeDisk);
  if (!disk.ok) {
    return d.exit(EXIT.commandFailed, 'error', 'disk.refuse', `not migrating: ${disk.why}`, {
      hint: 'extend the volume or free space (see "full volume" in docs/deploying.md), or lower --min-free-disk',
    });
  }
  next.bootstrap = s.term.bootstrap;
  const token = s.nextToken++;
  s.current = { index: next.index, confirmToken: token, stopRequested: false };
  const db = dbs[0];
  d.enter(
    'migrating',
    s.term.bootstrap
      ? 'initialising a new cluster: running migrations'
      : 'primary with synced database, running migrations',
    'migrate.confirm',
    {
      db: db?.name,
      txid: db?.txid === undefined ? undefined : formatTxid(db.txid),
      bootstrap: s.term.bootstrap || undefined,
      disk: disk.note,
    },
  );
  // S1: confirm the role with a fresh /info immediately before the command starts.
  d.actions.push({ type: 'observe', token });
  return 'done';
}
