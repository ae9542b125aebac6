// Compaction's question to the peers (docs/design.md, "Compaction"): how much room each one's data
// volume has, from its supervisor's /status `disk` (every replica receives the import as one LTX
// file). A peer without a supervisor, or one that does not answer, is reported as unknown: it
// does not block, the command names it.

import type { PeerRoom } from '../core/compact.js';
import { isRecord } from '../core/values.js';
import { describeError } from '../system/http-error.js';
import { discoverPeers, healthUrlOf, type PeersSpec } from './peers.js';

export async function peerRoom(o: {
  spec: PeersSpec | undefined;
  port: number;
  healthPort: number | undefined;
  /** This node's LiteFS node ID: its own /status is left out. */
  selfNodeId: () => Promise<string | undefined>;
  timeoutMs: number;
}): Promise<PeerRoom[]> {
  if (!o.spec) return [];
  const [found, self] = await Promise.all([
    discoverPeers(o.spec, { port: o.port, timeoutMs: o.timeoutMs }),
    o.selfNodeId(),
  ]);
  const explicit = o.spec.kind === 'urls' ? o.spec.healthPorts : {};
  const rooms = await Promise.all(
    found.urls.map(async (url): Promise<PeerRoom | undefined> => {
      const health = healthUrlOf(url, explicit[url] ?? o.healthPort);
      if (health === undefined)
        return { peer: url, ok: false, error: 'no supervisor health port known' };
      try {
        const res = await fetch(`${health}/status`, { signal: AbortSignal.timeout(o.timeoutMs) });
        const body: unknown = await res.json();
        if (!isRecord(body)) return { peer: url, ok: false, error: '/status is not a JSON object' };
        if (self !== undefined && body.nodeId === self) return undefined;
        const disk = body.disk;
        if (
          !isRecord(disk) ||
          typeof disk.freeBytes !== 'number' ||
          typeof disk.totalBytes !== 'number'
        ) {
          return {
            peer: url,
            ok: false,
            error: 'its /status reports no disk (an older supervisor?)',
          };
        }
        return { peer: url, ok: true, freeBytes: disk.freeBytes, totalBytes: disk.totalBytes };
      } catch (err) {
        return { peer: url, ok: false, error: describeError(err, o.timeoutMs) };
      }
    }),
  );
  return rooms.filter((r): r is PeerRoom => r !== undefined);
}
