// What other LiteFS nodes of the cluster told us (docs/design.md section 3, "peers"), and what the
// cluster record in Consul said, gathered together. Produced by src/litefs/peers.ts and
// src/consul/record.ts at decision points only; read by decide for S2, S3, S4 and S11.

import type { RecordRead } from './cluster-record.js';

export type PeerAnswer =
  | {
      url: string;
      ok: true;
      /** `Litefs-Id` header of its /info answer. */
      nodeId: string;
      /** `Litefs-Cluster-Id` header, else /info clusterID; '' when unset. */
      clusterId: string;
      candidate: boolean;
      isPrimary: boolean;
      /** /info primary.hostname: its own when primary, its primary's when a replica. */
      primaryHostname: string;
      /**
       * Where the per-db evidence came from: the peer's own supervisor (`GET /status`,
       * `evidence: 1`), or LiteFS alone (/debug/vars and the header of `GET /export`).
       */
      evidence: 'supervisor' | 'litefs';
      /** Per gated db; a db missing here means the peer has no copy of it at all. */
      dbs: Record<string, PeerDbEvidence>;
      /**
       * From its supervisor's /status only (undefined with LiteFS alone, or a supervisor that
       * predates the field): its app version (--version-env), whether it is synced, its lag.
       */
      appVersion?: string | undefined;
      synced?: boolean | undefined;
      lagMs?: number | undefined;
      /**
       * Its app answers its readiness probe (docs/design.md section 6); undefined (LiteFS alone,
       * or a supervisor without readiness) counts as ready.
       */
      appReady?: boolean | undefined;
      /**
       * S14: the node its supervisor is handing the lease to while its own app cannot serve
       * (`/status` `handBack.to`); undefined when it is not handing back, or does not say.
       */
      handingBackTo?: string | undefined;
    }
  | { url: string; ok: false; error: string };

/** What a peer shows of one db (docs/design.md section 3, "peers"). */
export interface PeerDbEvidence {
  /** Its LiteFS position (0 when LiteFS has none). */
  txid: bigint;
  checksum: string | undefined;
  /** Pages per its db's SQLite header; undefined when not known. */
  pageCount: number | undefined;
  /**
   * The db holds data here: pageCount >= 2 or TXID > 0. A high-water mark is not data (a node
   * whose db was removed keeps its mark in its state file): it is `hwm`, read on its own by S2.
   */
  hasData: boolean;
  /** Its supervisor's high-water mark; undefined without a supervisor or a mark. */
  hwm: bigint | undefined;
}

export interface PeerReport {
  /** When the answers were gathered (ms). */
  at: number;
  /** Every discovered peer except this node itself (recognised by node ID). */
  answers: PeerAnswer[];
  /**
   * Set when discovery itself failed in a way that may hide peers (DNS timeout, SERVFAIL):
   * then "every peer answered" cannot be shown (S3). A name that does not exist at all
   * (NXDOMAIN) is not an error: it means no peers.
   */
  discoveryError: string | undefined;
  /**
   * The cluster record read with these answers (docs/design.md section 3); undefined when the
   * record is off (no Consul lease, `--cluster-record off`). It is one more witness: data it
   * lists counts for S2 as a peer's data would, and `unreadable` counts for S3 as a peer that
   * did not answer.
   */
  record?: RecordRead | undefined;
}
