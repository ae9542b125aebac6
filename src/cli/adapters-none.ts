// The explicit adapters for ports that have nothing behind them in a mode: every port of the
// runner is required (src/ports.ts: an absent one used to do nothing silently), so a mode says here
// what each such port does, instead of leaving it out and having the runner silently do nothing.
// - A port decide never calls in that mode rejects with a PortUnavailableError naming it: the
//   call is a bug, and the run ends with 70 as on any internal error.
// - A port that legitimately has nothing to do gives its "nothing" value.
// Imports nothing but types, so standalone pulls in no LiteFS code (docs/performance.md).

import { type IoPorts, PortUnavailableError } from '../ports.js';

/** The ports that answer later and so can reject. */
type AsyncPort =
  | 'loadHwm'
  | 'persistHwm'
  | 'askPeers'
  | 'writeRecord'
  | 'promote'
  | 'handoff'
  | 'haltSelf'
  | 'backup'
  | 'compact';

/** A port decide never calls here: calling it rejects with an error that names it (exit 70). */
export function unavailable<K extends AsyncPort>(port: K, why: string): IoPorts[K] {
  const reject = () => Promise.reject(new PortUnavailableError(port, why));
  return reject as IoPorts[K];
}

/** No LiteFS /events stream: a source never connected, that never emits (polling only). */
export const noEvents: IoPorts['watchEvents'] = () => ({ close() {}, connected: () => false });

/**
 * No state file: loading says `not-kept`, so the runner sends decide no `hwm-loaded`, and
 * decide, which writes a mark only once one was loaded, never asks to write one.
 */
export function noStateFile(why: string): Pick<IoPorts, 'loadHwm' | 'persistHwm'> {
  return {
    loadHwm: () => Promise.resolve({ kind: 'not-kept' }),
    persistHwm: unavailable('persistHwm', `${why}, and no mark was loaded to write back`),
  };
}

/** Without --peers: decide asks the peers (S2/S3/S11, handoffs) only when --peers names them. */
export const noPeers: Pick<IoPorts, 'askPeers'> = {
  askPeers: unavailable('askPeers', 'no --peers is configured, so there is no one to ask'),
};

/** Without a cluster record (no Consul lease, or --cluster-record off): decide never writes one. */
export const noRecord: Pick<IoPorts, 'writeRecord'> = {
  writeRecord: unavailable(
    'writeRecord',
    'the cluster record is off (no Consul lease, or --cluster-record off)',
  ),
};

/**
 * S7 without LiteFS's halt API: decide never asks for the lock (`haltSelf` rejects, naming it);
 * releasing it, which the runner also does when it stops, has nothing to release.
 */
export function noSelfHalt(why: string): Pick<IoPorts, 'haltSelf' | 'unhaltSelf'> {
  return {
    haltSelf: unavailable('haltSelf', why),
    unhaltSelf: () => Promise.resolve({ error: undefined }),
  };
}

/**
 * Where compaction has nothing to run on (--standalone: no LiteFS to import through): decide
 * refuses the request first, so the port is never called.
 */
export const noCompaction: Pick<IoPorts, 'compact' | 'compactCancel' | 'compactSettle'> = {
  compact: unavailable('compact', 'there is no LiteFS to compact through'),
  compactCancel: () => {},
  compactSettle: () => Promise.resolve(),
};

/**
 * --standalone (docs/design.md section 10): no LiteFS, so no /events, no state file (no HWM),
 * no peers, no lease to promote to or hand off. Backups (S8) are asked for when --backup-dir
 * is given, and there is no LiteFS /export to save from: skipped with decide's warning
 * (`backup.skip`), as S8 skips what it cannot do safely, and the migration goes on.
 */
export const standalonePorts: Omit<
  IoPorts,
  'observe' | 'startCommand' | 'startApp' | 'watchAppReady'
> = {
  watchEvents: noEvents,
  ...noStateFile('--standalone keeps no state file'),
  askPeers: unavailable('askPeers', '--standalone has no peers'),
  writeRecord: unavailable(
    'writeRecord',
    '--standalone has no Consul lease to keep a record beside',
  ),
  promote: unavailable('promote', '--standalone has no LiteFS to promote this node'),
  handoff: unavailable('handoff', '--standalone has no LiteFS lease to hand off'),
  ...noSelfHalt('--standalone has no LiteFS to halt'),
  backup: () =>
    Promise.resolve({
      kind: 'skipped',
      why: '--standalone has no LiteFS to export it from',
    }),
  ...noCompaction,
};
