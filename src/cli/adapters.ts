// The I/O adapters the supervisor is built with (docs/design.md section 12, point 3), loaded by main.ts only
// after the health API listens: they pull in execa and (under LiteFS) undici, most of the
// start-up cost. The LiteFS ones live in ./adapters-litefs.ts, imported only when needed, so
// `--standalone` never evaluates undici (docs/performance.md).

import type { Config } from '../config/types.js';
import { observeStandalone } from '../litefs/observe.js';
import type { IoPorts, Logger } from '../ports.js';
import { startApp } from '../process/app.js';
import { startCommand } from '../process/command.js';
import { probeFor, watchReady } from '../process/ready.js';
import { standalonePorts } from './adapters-none.js';

export interface Adapters {
  /** Every I/O port of the runner (src/ports.ts); the clock and logger come from main. */
  deps: IoPorts;
  warnAboutStateFileVolume(): Promise<void>;
  /** Compaction: removes a copy a crash left behind (docs/design.md, "Compaction"). */
  cleanCompactLeftovers(): Promise<void>;
  close(): Promise<void>;
}

export async function buildAdapters(
  config: Config,
  logger: Logger,
  now: () => number,
): Promise<Adapters> {
  const processes = {
    startCommand: (opts) => startCommand(opts),
    startApp: (opts) => startApp(opts),
    // decide asks only when --app-ready is not `none` (steps/app-events.ts).
    watchAppReady: () => watchReady(probeFor(config.appReady)),
  } satisfies Pick<IoPorts, 'startCommand' | 'startApp' | 'watchAppReady'>;
  if (config.standalone) {
    const deps = {
      ...processes,
      observe: () => observeStandalone({ mountDir: config.mountDir, dbs: config.db, now }),
      ...standalonePorts,
    } satisfies IoPorts;
    return {
      deps,
      warnAboutStateFileVolume: async () => {},
      cleanCompactLeftovers: async () => {},
      close: async () => {},
    };
  }
  const { buildLitefsAdapters } = await import('./adapters-litefs.js');
  return buildLitefsAdapters(config, logger, now, processes);
}

/**
 * The port peers' supervisors answer on: peers run the same configuration, so our own health
 * port unless --peer-health-port says otherwise (docs/design.md, Peers); none when ours is off
 * or chosen by the OS.
 */
export function peerHealthPort(config: Config): number | undefined {
  return (
    config.peerHealthPort ??
    (config.healthAddr !== 'off' && config.healthAddr.port !== 0
      ? config.healthAddr.port
      : undefined)
  );
}
