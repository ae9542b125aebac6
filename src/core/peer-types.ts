// What other LiteFS nodes of the cluster told us (DESIGN.md section 3, "peers"). Produced by
// src/litefs/peers.ts at decision points only; read by decide for S2, S3, S4 and S11.

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
      /** Per-db position from its /debug/vars `store.dbs`. */
      dbs: Record<string, { txid: bigint; checksum: string }>;
    }
  | { url: string; ok: false; error: string };

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
}
