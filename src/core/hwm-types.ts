// The high-water mark file (docs/design.md section 3): the largest TXID this node has ever seen
// for each db in one cluster. Read and written by src/state/state-file.ts, judged in decide.
// `retired`: the mark a history-lost primary retired (S13), kept as evidence of what the
// cluster held until the db has a history again; absent otherwise (older versions never see it).

export interface HwmFile {
  version: 1;
  /** The cluster these marks belong to; a different cluster ID means start afresh. */
  clusterId: string;
  dbs: Record<string, { txid: bigint; updatedAt: string; retired?: bigint | undefined }>;
}

/** What loading the file found. Never throws: a damaged file is kept aside (S10). */
export type HwmLoad =
  | { kind: 'ok'; file: HwmFile }
  | { kind: 'missing' }
  /** The file did not parse; it was renamed to `movedTo` (`<file>.corrupt`). */
  | { kind: 'corrupt'; error: string; movedTo: string | undefined }
  /** It could not be read at all (EACCES, EIO...). */
  | { kind: 'unreadable'; error: string };
