// The I/O adapters the supervisor is built with (docs/design.md section 12, point 3), loaded by main.ts only
// after the health API listens: they pull in undici and execa, most of the start-up cost.

import { dirname } from 'node:path';
import type { Config } from '../config/types.js';
import type { SupervisorState } from '../core/state.js';
import { backupDb } from '../litefs/backup.js';
import { LitefsClient } from '../litefs/client.js';
import { EventsWatcher } from '../litefs/events.js';
import { observe, observeStandalone } from '../litefs/observe.js';
import { askPeers, parsePeersOption } from '../litefs/peers.js';
import { startApp } from '../process/app.js';
import { startCommand } from '../process/command.js';
import { loadStateFile, sameFilesystem, writeStateFile } from '../state/state-file.js';
import type { Logger, SupervisorDeps } from '../supervisor.js';
import { diskSpace } from '../system/disk.js';

/** Per peer, /info and /debug/vars together (docs/design.md section 3: per-peer timeouts). */
const PEER_TIMEOUT_MS = 2000;

type AdapterDeps = Omit<SupervisorDeps, 'config' | 'logger' | 'clock' | 'env'>;

export function buildAdapters(
  config: Config,
  logger: Logger,
  now: () => number,
  getState: () => SupervisorState,
) {
  const processes = {
    startCommand: (opts) => startCommand(opts),
    startApp: (opts) => startApp(opts),
  } satisfies Partial<AdapterDeps>;
  if (config.standalone) {
    const deps: AdapterDeps = {
      ...processes,
      observe: () => observeStandalone({ mountDir: config.mountDir, dbs: config.db, now }),
    };
    return { deps, warnAboutStateFileVolume: async () => {}, close: async () => {} };
  }

  const client = new LitefsClient({ url: config.litefsUrl });
  // S8/S9: the FUSE mount does not report real free space; the data dir's volume does.
  const diskPath = config.dataDir ?? dirname(config.stateFile);
  const litefsPort = Number(new URL(config.litefsUrl).port || 80);
  const peersSpec = config.peers === undefined ? undefined : parsePeersOption(config.peers);
  const deps: AdapterDeps = {
    ...processes,
    observe: async () => {
      const [o, disk] = await Promise.all([
        observe({ client, mountDir: config.mountDir, dbs: config.db, now }),
        diskSpace(diskPath),
      ]);
      return { ...o, disk };
    },
    watchEvents: (onEvent) => {
      const watcher = new EventsWatcher({
        url: config.litefsUrl,
        onEvent,
        onConnect: () => logger.log('debug', { event: 'litefs.events' }, '/events connected'),
        onDisconnect: (error) =>
          logger.log('debug', { event: 'litefs.events', error }, '/events stream ended'),
        onError: (e) =>
          logger.log('debug', { event: 'litefs.events', error: e.error }, '/events error'),
      }).start();
      return { close: () => void watcher.close() };
    },
    loadHwm: () => loadStateFile(config.stateFile),
    persistHwm: (file) => writeStateFile(config.stateFile, file),
    promote: async () => {
      const r = await client.promote();
      return r.ok ? { ok: true, status: 200 } : { ok: false, status: r.status, error: r.error };
    },
    handoff: async (nodeId) => {
      const r = await client.handoff(nodeId);
      return r.ok ? { ok: true } : { ok: false, error: r.error };
    },
    backup: ({ db, txid, expectedBytes }) =>
      config.backupDir === undefined
        ? Promise.resolve({ kind: 'skipped' as const, why: 'no --backup-dir' })
        : backupDb({
            client,
            db,
            txid,
            expectedBytes,
            dir: config.backupDir,
            keep: config.backupKeep,
            minFreeDiskPct: config.minFreeDisk,
            now,
          }),
    ...(peersSpec
      ? {
          askPeers: () => {
            const obs = getState().observation;
            const selfNodeId = obs?.info.ok ? obs.info.value.nodeId : undefined;
            return askPeers({
              spec: peersSpec,
              port: litefsPort,
              selfNodeId,
              dbs: config.db,
              healthPort: peerHealthPort(config),
              timeoutMs: PEER_TIMEOUT_MS,
              now,
            });
          },
        }
      : {}),
  };
  return {
    deps,
    async warnAboutStateFileVolume() {
      if (config.dataDir === undefined) return;
      if ((await sameFilesystem(config.stateFile, config.dataDir)) === false) {
        logger.log(
          'warn',
          { event: 'hwm.other-volume', stateFile: config.stateFile, dataDir: config.dataDir },
          'the state file is not on the same volume as the LiteFS data dir: a wiped or replaced volume would keep an old high-water mark, or lose it; put --state-file next to data.dir',
        );
      }
    },
    close: () => client.close(),
  };
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
