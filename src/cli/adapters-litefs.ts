// The adapters that talk to LiteFS (its API through undici, peers, backups, the state file,
// free disk), loaded by ./adapters.ts only when the supervisor runs under LiteFS: in
// `--standalone` none of this (undici above all) is ever evaluated (docs/performance.md).

import { dirname } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import type { Config } from '../config/types.js';
import { recordStore } from '../consul/record.js';
import type { HaltOutcome } from '../core/litefs-types.js';
import type { PeerReport } from '../core/peer-types.js';
import { backupDb } from '../litefs/backup.js';
import { LitefsClient } from '../litefs/client.js';
import { Compactor } from '../litefs/compact.js';
import { EventsWatcher } from '../litefs/events.js';
import { litefsHaltNode, randomLockId, selfWriteLock, withWritesHalted } from '../litefs/halt.js';
import { observe } from '../litefs/observe.js';
import { peerRoom } from '../litefs/peer-room.js';
import { askPeers, parsePeersOption } from '../litefs/peers.js';
import type { IoPorts, Logger } from '../ports.js';
import { loadStateFile, sameFilesystem, writeStateFile } from '../state/state-file.js';
import { diskSpace } from '../system/disk.js';
import { type Adapters, peerHealthPort } from './adapters.js';
import { noPeers, noRecord } from './adapters-none.js';

/** Per peer, /info and /debug/vars together (docs/design.md section 3: per-peer timeouts). */
const PEER_TIMEOUT_MS = 2000;

export function buildLitefsAdapters(
  config: Config,
  logger: Logger,
  now: () => number,
  processes: Pick<IoPorts, 'startCommand' | 'startApp' | 'watchAppReady'>,
): Adapters {
  // undici parses HTTP with llhttp compiled to WebAssembly. V8 first compiles it with Liftoff,
  // then recompiles it with TurboFan in the background: a 37 MB malloc peak that glibc often
  // keeps, 10 MB of idle RSS in two runs of three (docs/performance.md). The supervisor parses a
  // few small responses a second, for which Liftoff's code is ample. V8 reads this flag when it
  // compiles a module, i.e. when the first connection is made, after this line.
  setFlagsFromString('--liftoff-only');
  const client = new LitefsClient({ url: config.litefsUrl });
  // S8/S9: the FUSE mount does not report real free space; the data dir's volume does.
  const diskPath = config.dataDir ?? dirname(config.stateFile);
  const litefsPort = Number(new URL(config.litefsUrl).port || 80);
  const peersSpec = config.peers === undefined ? undefined : parsePeersOption(config.peers);
  const records =
    config.clusterRecord !== undefined && config.consul !== undefined
      ? recordStore(config.consul, config.clusterRecord)
      : undefined;
  const compactor = new Compactor({
    client,
    mountDir: config.mountDir,
    dataDir: config.dataDir,
    compactDir: config.compactDir,
    sqlite3: config.sqlite3,
    backupKeep: config.backupKeep,
    now,
    importTimeoutMs: config.compactTimeout,
    peerRoom: () =>
      peerRoom({
        spec: peersSpec,
        port: litefsPort,
        healthPort: peerHealthPort(config),
        timeoutMs: PEER_TIMEOUT_MS,
        selfNodeId: async () => {
          const info = await client.info();
          return info.ok ? info.value.nodeId : undefined;
        },
      }),
  });
  // S7: this node's own write lock while its checks run with the app running.
  const ownLock = selfWriteLock({ url: config.litefsUrl, now });
  const deps = {
    ...processes,
    compact: (io) => compactor.run(io),
    compactCancel: () => compactor.cancel(),
    compactSettle: () => compactor.settle(),
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
      return {
        close: () => void watcher.close(),
        connected: () => watcher.state === 'connected',
      };
    },
    loadHwm: () => loadStateFile(config.stateFile),
    persistHwm: (file) => writeStateFile(config.stateFile, file),
    // Section 4, "Writes halted across a lease move": the primary's writes are halted while
    // the lease moves, this node's for a handoff, the named primary's for a promotion.
    promote: ({ haltAt, haltWaitMs }) =>
      moveWithWritesHalted(now, haltAt, haltWaitMs, async () => {
        const r = await client.promote();
        return r.ok ? { ok: true, status: 200 } : { ok: false, status: r.status, error: r.error };
      }),
    handoff: (nodeId, { haltWaitMs }) =>
      moveWithWritesHalted(now, config.litefsUrl, haltWaitMs, async () => {
        const r = await client.handoff(nodeId);
        return r.ok ? { ok: true } : { ok: false, error: r.error };
      }),
    haltSelf: ({ dbs, waitMs }) => ownLock.take(dbs, waitMs),
    unhaltSelf: () => ownLock.release(),
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
    // The peers and the cluster record are read together, at the same decision points (without
    // --peers, the record alone: no answers, and no discovery that could have missed one).
    // Without either, decide never asks (noPeers says so if it ever did).
    askPeers:
      !peersSpec && !records
        ? noPeers.askPeers
        : async (selfNodeId) => {
            const [report, read] = await Promise.all([
              peersSpec
                ? askPeers({
                    spec: peersSpec,
                    port: litefsPort,
                    selfNodeId,
                    dbs: config.db,
                    healthPort: peerHealthPort(config),
                    timeoutMs: PEER_TIMEOUT_MS,
                    now,
                  })
                : Promise.resolve<PeerReport>({
                    at: now(),
                    answers: [],
                    discoveryError: undefined,
                  }),
              records?.read(),
            ]);
            return read === undefined ? report : { ...report, record: read };
          },
    writeRecord: records ? (req) => records.write(req, now()) : noRecord.writeRecord,
  } satisfies IoPorts;
  return {
    deps,
    async cleanCompactLeftovers() {
      // Compaction: a copy a crash left beside the data dir is removed at the next start.
      for (const path of await compactor.cleanLeftovers()) {
        logger.log(
          'warn',
          { event: 'compact.leftover', path },
          'removed a compaction copy a crash left behind (it was never imported)',
        );
      }
    },
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
    close: async () => {
      await Promise.all([client.close(), records?.close(), ownLock.release()]);
    },
  };
}

/**
 * `move` with the writes of the primary at `haltAt` halted across it; without a primary to
 * halt (no peer report named one), the move alone, reported as not halted.
 */
async function moveWithWritesHalted<R extends { ok: boolean }>(
  now: () => number,
  haltAt: string | undefined,
  waitMs: number,
  move: () => Promise<R>,
): Promise<R & { halt: HaltOutcome }> {
  if (haltAt === undefined) {
    const why = 'no peer report named the primary (--peers)';
    return { ...(await move()), halt: { kind: 'skipped', why } };
  }
  const node = litefsHaltNode(haltAt);
  try {
    return await withWritesHalted({
      node,
      move,
      lockId: randomLockId(),
      waitMs,
      now,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    });
  } finally {
    void node.close();
  }
}
