// What `litefs-supervisor doctor` reports (the JSON of --json, and what src/cli/doctor.ts prints),
// and the wording the families of findings share.

import { formatTxid } from './parse.js';
import { HISTORY_LOST_REPAIR } from './rules.js';
import type { Role } from './state.js';

/** `error`: data at risk or a write refused; `warn`: a protection is weaker than it should be. */
export type Level = 'ok' | 'info' | 'warn' | 'error';

export interface Finding {
  /** Stable, dotted: `db.history-lost`, `disk.low`, ... */
  id: string;
  level: Level;
  /** The db it is about, if any. */
  db?: string;
  /** What was seen, with the numbers. */
  summary: string;
  /** What it means. */
  means: string;
  /** The documented way out; undefined when nothing needs doing. */
  wayOut?: string;
}

export interface DoctorDb {
  name: string;
  /** Where the content was read: the mount (LiteFS running) or the data dir's `database`. */
  source: 'mount' | 'data-dir' | 'none';
  exists: boolean;
  sizeBytes: number;
  validHeader: boolean;
  pageSize: number | null;
  pageCount: number | null;
  txid: string | null;
  /** `-pos` (LiteFS running) or `ltx` (the highest LTX file, as LiteFS would restore it). */
  txidFrom: '-pos' | 'ltx' | null;
  checksum: string | null;
  ltxFiles: number | null;
  ltxMinTxid: string | null;
  ltxMaxTxid: string | null;
  walBytes: number | null;
  hasData: boolean;
  historyLost: boolean;
  empty: boolean;
  hwm: string | null;
}

export interface DoctorReport {
  ok: boolean;
  litefs: {
    url: string;
    running: boolean;
    error: string | null;
    role: Role | null;
    lagMs: number | null;
    synced: boolean | null;
    clusterId: string | null;
    nodeId: string | null;
  };
  mountDir: string;
  dataDir: string | null;
  stateFile: string;
  dbs: DoctorDb[];
  /** The cluster record as read (its key; never the Consul URL); null when off. */
  clusterRecord: { key: string; read: string } | null;
  findings: Finding[];
}

/** How each family of findings hands one to diagnose, in the order they were seen. */
export type AddFinding = (x: Finding) => void;

export const hex = (txid: bigint) => formatTxid(txid);
export const NEVER_EDIT = "never edit LiteFS's data dir (data.dir) by hand";

/** S13's repair for `db`; `litefs export`/`import` talk to :20202 unless given `-url`. */
export function repair(db: string, litefsUrl: string): string {
  const text = HISTORY_LOST_REPAIR.replaceAll('DB', db);
  let port = '';
  try {
    port = new URL(litefsUrl).port;
  } catch {}
  return port === '' || port === '20202'
    ? text
    : `${text} (LiteFS's API is not on :20202 here: add \`-url ${litefsUrl}\` to both)`;
}
