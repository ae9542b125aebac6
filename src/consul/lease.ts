// LiteFS's lease key as `before-mount` reads it (docs/design.md section 1, "Before the mount"):
// GET `<prefix>/<lease.consul.key>`, and when it is absent GET `<that>/clusterid` (consul/consul.go
// ClusterIDKey), to tell an expired lease (the cluster ID stays) from a cluster never started.
// Read-only; nothing here throws (a failure is the `error` kind).

import type { LeaseSeen } from '../core/free-lease-wait.js';
import { type ConsulEndpoint, keyUnder } from './endpoint.js';
import { firstEntry, type KvClient, primaryHostname } from './kv.js';

export interface LeaseReader {
  /** The lease key under Consul's prefix (safe to show). */
  readonly key: string;
  read(): Promise<LeaseSeen>;
}

export function leaseReader(endpoint: ConsulEndpoint, kv: KvClient): LeaseReader {
  const key = keyUnder(endpoint, endpoint.leaseKey);
  const clusterIdKey = `${key}/clusterid`;

  const exists = async (
    k: string,
  ): Promise<
    { ok: true; entry: ReturnType<typeof firstEntry> | undefined } | { ok: false; error: string }
  > => {
    const r = await kv.request('GET', k);
    if (!r.ok) return r;
    if (r.status === 404) return { ok: true, entry: undefined };
    if (r.status !== 200) return { ok: false, error: kv.failure('GET', k, r) };
    return { ok: true, entry: firstEntry(r.body) };
  };

  const read = async (): Promise<LeaseSeen> => {
    const lease = await exists(key);
    if (!lease.ok) return { kind: 'error', error: lease.error };
    const entry = lease.entry;
    if (entry !== undefined) {
      if (!entry.ok) return { kind: 'error', error: `GET ${key} on ${kv.where}: ${entry.error}` };
      if (entry.session === undefined) return { kind: 'released' };
      const info = primaryHostname(entry.value);
      return { kind: 'held', holder: info.ok ? info.hostname : '' };
    }
    const cluster = await exists(clusterIdKey);
    if (!cluster.ok) return { kind: 'error', error: cluster.error };
    return cluster.entry === undefined ? { kind: 'new' } : { kind: 'expired' };
  };

  return { key, read };
}
