// The safety rules of DESIGN.md section 4, each a small pure function named after its rule,
// so a reader finds S1..S12 here by name. decide (decide.ts) is the only caller.

import type { Config } from '../config/types.js';
import type { DbView } from './derive.js';
import type { CommandRecord, Role } from './state.js';

/**
 * S1 primary-only migrations: a --migrate command may start only when the role is primary
 * AND that was re-confirmed by an observation taken after the command was due (fresh /info).
 * Never on a replica, never on an unknown role. This is the `if-primary` LiteFS lacks.
 */
export function s1MayStartMigration(role: Role, confirmedFresh: boolean): boolean {
  return role === 'primary' && confirmedFresh;
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
  | { kind: 'wait'; why: string }
  | { kind: 'fence'; why: string; action: string };

/**
 * The checks a primary passes before it writes (migrations, app). This issue's scope:
 * S3's bootstrap decision for an empty primary. The high-water mark and peer checks (S2)
 * and the rest of S3 (peers that did not answer) plug in here.
 */
export function primaryChecks(dbs: DbView[], config: Config): PrimaryVerdict {
  // A db we cannot read is neither empty nor safe: decide nothing about it until it reads.
  const unreadable = dbs.filter((db) => db.unreadable !== undefined);
  if (unreadable.length > 0) {
    return {
      kind: 'wait',
      why: `cannot read ${unreadable.map((db) => `${db.name} (${db.unreadable})`).join(', ')}; not migrating until it can be read`,
    };
  }
  const emptyDbs = dbs.filter((db) => db.empty);
  if (emptyDbs.length === 0 || config.standalone) {
    return { kind: 'proceed', bootstrap: emptyDbs.length > 0, emptyDbs };
  }
  // S3: an empty primary initialises a new cluster only when allowed to.
  if (config.bootstrap === 'never') {
    const list = emptyDbs.map((db) => `${db.name} (${db.emptyBecause})`).join(', ');
    return {
      kind: 'fence',
      why: `this node is primary but its database is empty: ${list}; --bootstrap never forbids initialising a new cluster`,
      action:
        'if this is really a new cluster, restart with --bootstrap auto; otherwise restore the data or let a node that has it take the lease',
    };
  }
  return { kind: 'proceed', bootstrap: true, emptyDbs };
}

/** S10: the signals that end the supervisor when no app is running to receive them. */
export const STOP_SIGNALS: ReadonlySet<string> = new Set([
  'SIGTERM',
  'SIGINT',
  'SIGHUP',
  'SIGQUIT',
]);

/** S10: the signals that stop the supervisor too when forwarded to a running app. */
export const SHUTDOWN_SIGNALS: ReadonlySet<string> = new Set(['SIGTERM', 'SIGINT']);

/** DESIGN.md section 6: the signals forwarded to the app. */
export const FORWARDED_SIGNALS = [
  'SIGTERM',
  'SIGINT',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
] as const;
