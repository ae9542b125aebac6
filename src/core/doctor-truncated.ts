// doctor's finding for a database file that does not match its own LTX history (truncated to
// zero bytes, or removed, with `ltx/*` kept, as the nemesis's `truncate-db` does): LiteFS 0.5.11
// refuses to open its store on it (docs/litefs-facts.md, "A truncated database file: LiteFS refuses to start"), so the
// node's LiteFS exits before any exec command, on every start, and no supervisor runs to say
// why. Judged from the data dir while LiteFS is down; the way out (the db's directory moved
// aside, the db received again from the primary) is named as safe only when a peer shows that
// it holds the data.

import type { DataDirDb, DoctorFacts } from './doctor-facts.js';
import { type Finding, hex } from './doctor-report.js';
import { type AnsweredPeer, peerDb, sameCluster } from './peers.js';

/** A WAL of at most this many bytes has no frame (sqlite.org/fileformat.html, section 4). */
const WAL_HEADER_BYTES = 32;

/**
 * The `db.truncated` finding, or undefined. At every start LiteFS 0.5.11 writes the newest LTX
 * file's pages over the database file, cuts it to that file's commit and compares LiteFS's
 * checksum of the result with the file's post-apply checksum (db.go Open, ApplyLTXNoLock); a
 * mismatch ends the start. doctor names it when that is certain from the data dir: LiteFS is
 * down here (a running one opened the file), the newest LTX file is not a snapshot (a snapshot
 * holds every page and rebuilds the file), no WAL frame or rollback journal is left for LiteFS to
 * copy or roll back first (db.go recover), and the file matches neither the state that file
 * leads to (post-apply: already applied, as a failed start leaves it) nor the one it starts from
 * (pre-apply: a crash between the LTX file and the database write, which LiteFS finishes). The
 * one case left is a crash part way through writing a transaction's pages to the file; the
 * finding says so.
 */
export function truncatedFinding(
  f: DoctorFacts,
  name: string,
  dataDb: DataDirDb | undefined,
  running: boolean,
): Omit<Finding, 'db'> | undefined {
  if (running || dataDb === undefined || f.dataDir === undefined) return undefined;
  const { database, ltx, walBytes, journalBytes, checksum } = dataDb;
  if (database.error !== undefined || !ltx.ok || !ltx.latestHeader?.ok) return undefined;
  const head = ltx.latestHeader.value;
  if (head.commit === 0 || head.minTxid === 1n || ltx.latestChecksum === undefined) {
    return undefined;
  }
  if (walBytes !== undefined && walBytes > WAL_HEADER_BYTES) return undefined;
  if (journalBytes !== undefined && journalBytes > 0) return undefined;
  const needs = head.commit * head.pageSize;
  const short = !database.exists || database.sizeBytes < needs;
  if (!short) {
    // A whole file: compare checksums. Unknown (not read through) says nothing.
    if (checksum === undefined) return undefined;
    if (checksum.commit === ltx.latestChecksum) return undefined;
  }
  if (checksum !== undefined && checksum.all === head.preApplyChecksum) return undefined;

  const file = `${dataDb.dir}/database`;
  const what = !database.exists
    ? `${file} does not exist`
    : short
      ? `${file} is ${database.sizeBytes} bytes`
      : `${file} (${database.sizeBytes} bytes) has LiteFS checksum ${checksum?.commit}`;
  const says = short
    ? `says ${head.commit} pages of ${head.pageSize} bytes (${needs} bytes)`
    : `leaves it at checksum ${ltx.latestChecksum}`;
  const aside = `${f.dataDir.path}/${name}.truncated`;
  const move = `\`mv ${dataDb.dir} ${aside}\``;
  const holder = holderOf(f, name);
  const steps = `with LiteFS stopped on this node, move the db's directory out of LiteFS's dbs dir, on the same volume: ${move}; then start the node: LiteFS opens its store without ${name} and receives it from the primary as a replica (the supervisor keeps an empty node from writing as primary: S2). Remove ${aside} once the node is synced. Never do this with LiteFS's own exec block (lease.promote: true), whose emptied node can take the lease and replicate the empty db (the seed incident)`;
  return {
    id: 'db.truncated',
    level: 'error',
    summary: `${what} but its newest LTX file ${ltx.latest} (TXID ${hex(head.minTxid)}-${hex(head.maxTxid)}) ${says}`,
    means: `the database file was truncated, removed or damaged under its LTX files. LiteFS 0.5.11 refuses to start on it: at every start it writes the newest LTX file's pages again, which are only the pages that transaction changed, and the checksum of the result cannot match (\`cannot open store: open databases: open database("${name}"): recover ltx: database checksum ... does not match LTX post-apply checksum\`; a failed start leaves the file at the full size, the missing pages zero). LiteFS exits before its exec command, so no supervisor runs on this node to say why, and it does not rebuild the db from the other LTX files. (Only a crash part way through writing that transaction to the file looks the same and recovers by itself: if LiteFS starts, ignore this.)`,
    wayOut: holder
      ? `peer ${holder.url} (node ${holder.nodeId}) holds ${name} at TXID ${hex(peerDb(holder, name)?.txid ?? 0n)}${(peerDb(holder, name)?.txid ?? 0n) < head.maxTxid ? ` (below this node's ${hex(head.maxTxid)}: the transactions after it were only here, and are lost with the file)` : ''}: ${steps}`
      : `first make sure another node holds ${name}: on the primary, \`litefs-supervisor doctor\` (or \`litefs-supervisor status\`) shows it with data, at TXID ${hex(head.maxTxid)} or above if this node was the last primary. Only then: ${steps}. If no node holds it, restore the newest backup on the primary with \`litefs import -name ${name} FILE\``,
  };
}

/** The answering same-cluster peer holding the most of `name` (by TXID), if any has data. */
function holderOf(f: DoctorFacts, name: string): AnsweredPeer | undefined {
  if (f.peers === undefined) return undefined;
  const clusterId = f.dataDir?.clusterId.kind === 'present' ? f.dataDir.clusterId.value : '';
  let best: AnsweredPeer | undefined;
  for (const p of sameCluster(f.peers, clusterId)) {
    const e = peerDb(p, name);
    if (!e?.hasData) continue;
    if (best === undefined || e.txid > (peerDb(best, name)?.txid ?? 0n)) best = p;
  }
  return best;
}
