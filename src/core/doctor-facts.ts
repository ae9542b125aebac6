// The facts `litefs-supervisor doctor` judges: gathered read-only (S12) by src/cli/doctor.ts and
// src/litefs/data-dir.ts, judged by diagnose (doctor.ts). Types only.

import type { RecordRead } from './cluster-record.js';
import type { ParseResult } from './litefs-types.js';
import type { LtxHeader } from './ltx.js';
import type { DbObservation, DiskSpace, FileRead, Observation } from './observation.js';
import type { PeerReport } from './peer-types.js';

/** The LTX files of one db in the data dir. */
export type LtxFacts =
  | {
      ok: true;
      /** Files with an LTX name (`<min>-<max>.ltx`). */
      count: number;
      minTxid: bigint | undefined;
      maxTxid: bigint | undefined;
      /** The file LiteFS restores the position from (the highest max TXID). */
      latest: string | undefined;
      /** Its header, checked as LiteFS checks it at start; undefined without files. */
      latestHeader: ParseResult<LtxHeader> | undefined;
      /** Its post-apply checksum (trailer), `%016x`, when readable. */
      latestChecksum: string | undefined;
    }
  | { ok: false; error: string };

export interface DataDirDb {
  name: string;
  /** `<data.dir>/dbs/<db>`. */
  dir: string;
  /** `<dir>/database`, read like a db in the mount (stat, SQLite header). */
  database: Pick<
    DbObservation,
    'exists' | 'sizeBytes' | 'validHeader' | 'pageSize' | 'pageCount' | 'error'
  >;
  /** Size of `<dir>/wal`; undefined when there is none. */
  walBytes: number | undefined;
  /** Size of `<dir>/journal` (a rollback journal LiteFS rolls back at start); undefined: none. */
  journalBytes?: number | undefined;
  ltx: LtxFacts;
  /**
   * LiteFS's checksum of `<dir>/database` (ltx-checksum.ts), in the newest LTX file's page size:
   * over every whole page of the file, and over its first `commit` pages (the size that file
   * gives the db). Undefined when there is no readable newest LTX header or the file cannot be
   * read through.
   */
  checksum?: DatabaseFileChecksum | undefined;
}

export interface DatabaseFileChecksum {
  /** Whole pages in the file. */
  pages: number;
  /** Over all of them. */
  all: string;
  /** Over the first min(pages, commit) of them. */
  commit: string;
}

export interface DataDirFacts {
  path: string;
  /** `path` is a directory. */
  exists: boolean;
  /** Why it could not be read (not ENOENT). */
  error: string | undefined;
  /** `<path>/clusterid`, trimmed. */
  clusterId: FileRead<string>;
  dbs: DataDirDb[];
}

/** The state file, read without the supervisor's repair (no `.corrupt` rename: doctor writes nothing). */
export type StateFileRead =
  | { kind: 'ok'; clusterId: string; dbs: Record<string, bigint> }
  | { kind: 'missing' }
  | { kind: 'corrupt'; error: string }
  | { kind: 'unreadable'; error: string };

export interface DoctorFacts {
  /** The mount and /info, as the supervisor observes them (src/litefs/observe.ts). */
  observation: Observation;
  /** The data dir that was read: LiteFS's own (/info `path`) when it answers, else the configured one. */
  dataDir: DataDirFacts | undefined;
  state: StateFileRead;
  /** Whether the state file shares a filesystem with the data dir; undefined when unknown. */
  stateOnDataVolume: boolean | undefined;
  disk: DiskSpace | undefined;
  /** Peers' evidence, asked only when LiteFS answers here and --peers is set. */
  peers: PeerReport | undefined;
  /** The cluster record as read from Consul; undefined when it is off (or not asked). */
  record?: RecordRead | undefined;
}
