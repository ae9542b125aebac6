// The high-water mark file (docs/design.md section 3): the largest TXID this node has ever seen
// for each db in one cluster. Read and written by src/state/state-file.ts, judged in decide.

export interface HwmFile {
  version: 1;
  /** The cluster these marks belong to; a different cluster ID means start afresh. */
  clusterId: string;
  dbs: Record<string, { txid: bigint; updatedAt: string }>;
}

/** What loading the file found. Never throws: a damaged file is kept aside (S10). */
export type HwmLoad =
  | { kind: 'ok'; file: HwmFile }
  | { kind: 'missing' }
  /** The file did not parse; it was renamed to `movedTo` (`<file>.corrupt`). */
  | { kind: 'corrupt'; error: string; movedTo: string | undefined }
  /** It could not be read at all (EACCES, EIO...). */
  | { kind: 'unreadable'; error: string };
