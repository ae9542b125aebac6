// Shapes of what LiteFS shows us (docs/litefs-facts.md). Produced by the strict parsers in
// src/core/parse.ts; a parse failure is a ParseResult error, never a silent default.

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** GET /info body, plus the headers LiteFS adds to it. */
export interface LitefsInfo {
  clusterId: string; // '' when the cluster ID is not set yet
  isPrimary: boolean;
  candidate: boolean;
  path: string;
  /** primary.hostname: own hostname when primary, the primary's when a connected replica, '' otherwise. */
  primaryHostname: string;
  /** `Litefs-Id` response header (16 hex chars), undefined when absent. */
  nodeId: string | undefined;
  /** `Litefs-Cluster-Id` response header, undefined when absent. */
  clusterIdHeader: string | undefined;
}

/** `<db>-pos`: `%016x/%016x\n`. TXIDs are kept as bigint: they are 64-bit. */
export interface Position {
  txid: bigint;
  checksum: string; // 16 hex chars, as LiteFS prints it
}

/** `.lag`: `%+010d\n`, milliseconds. */
export type Lag = { kind: 'ms'; ms: number } | { kind: 'unsynced' }; // +2147483647

/** One line of GET /events. */
export type LitefsEvent =
  | { type: 'init'; isPrimary: boolean; hostname: string | undefined }
  | { type: 'primaryChange'; isPrimary: boolean; hostname: string | undefined }
  | {
      type: 'tx';
      db: string;
      txid: bigint;
      checksum: string;
      pageSize: number;
      commit: number;
      timestamp: string;
    }
  | { type: 'unknown'; rawType: string };

/** GET /debug/vars -> key `store`. */
export interface StoreVars {
  isPrimary: boolean;
  candidate: boolean;
  dbs: Record<string, { txid: bigint; checksum: string }>;
}

/**
 * Whether the old primary's writes were halted across a lease move (docs/design.md section 4,
 * "Writes halted across a lease move"; src/litefs/halt.ts).
 */
export type HaltOutcome =
  /** Every db's write lock was held from before the move until `heldMs` after it was asked. */
  | { kind: 'held'; dbs: string[]; waitedMs: number; heldMs: number; releaseError?: string }
  /** The move went ahead without the lock; `why` says what stopped it. */
  | { kind: 'skipped'; why: string };

/**
 * Whether a node's write lock was taken (src/litefs/halt.ts takeWriteLocks): every db's lock
 * granted within the wait (`waitedMs`), or none held and why.
 */
export type HaltTaken =
  | { kind: 'held'; dbs: string[]; waitedMs: number }
  | { kind: 'skipped'; why: string };
