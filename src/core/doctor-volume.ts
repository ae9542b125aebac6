// doctor's findings about this node's volume: LiteFS's data dir and its cluster ID, the state
// file (the high-water marks of S10, and whether it lives and dies with the data dir), and the
// free space S9 guards.

import type { DoctorFacts } from './doctor-facts.js';
import { type AddFinding, hex, NEVER_EDIT } from './doctor-report.js';
import { freePercent } from './observation.js';
import type { Policy } from './policy.js';
import { s9DiskGuard } from './rules.js';

export function clusterFindings(f: DoctorFacts, nodeClusterId: string, add: AddFinding): void {
  const dir = f.dataDir;
  if (dir === undefined) {
    add({
      id: 'data-dir.unknown',
      level: 'warn',
      summary:
        'no LiteFS data dir known (no litefs.yml data.dir, no --data-dir) and LiteFS does not answer',
      means: 'the LTX history, the cluster ID and the volume cannot be examined',
      wayOut: 'pass --litefs-config FILE (the litefs.yml LiteFS uses) or --data-dir DIR',
    });
    return;
  }
  if (dir.error !== undefined) {
    add({
      id: 'data-dir.unreadable',
      level: 'warn',
      summary: dir.error,
      means: "LiteFS's own files cannot be examined",
      wayOut: `run doctor as the user LiteFS runs as (root on Fly); ${NEVER_EDIT}`,
    });
    return;
  }
  if (!dir.exists) {
    add({
      id: 'data-dir.missing',
      level: 'info',
      summary: `${dir.path} does not exist`,
      means:
        'LiteFS has never run on this volume (a fresh volume, a new machine), or the volume is not mounted where litefs.yml says',
    });
    return;
  }
  const file = dir.clusterId;
  const path = `${f.dataDir?.path}/clusterid`;
  if (file.kind === 'error') {
    add({
      id: 'cluster-id.unreadable',
      level: 'warn',
      summary: file.error,
      means: 'LiteFS fails to start when it cannot read its cluster ID ("load cluster id")',
      wayOut: `fix the volume or the permissions; ${NEVER_EDIT}`,
    });
    return;
  }
  if (file.kind === 'absent') {
    add({
      id: 'cluster-id.none',
      level: 'info',
      summary: `${path} does not exist${nodeClusterId ? `; LiteFS reports ${nodeClusterId}` : ''}`,
      means:
        'this data dir never joined a cluster (a fresh volume), or it was wiped; LiteFS sets it when the node first gets the lease or connects to a primary',
    });
    return;
  }
  if (!/^LFSC.{16}$/.test(file.value)) {
    add({
      id: 'cluster-id.invalid',
      level: 'error',
      summary: `${path} holds ${JSON.stringify(file.value.slice(0, 40))}, not a LiteFS cluster ID (LFSC + 16 characters)`,
      means: 'LiteFS 0.5.11 refuses to start with it ("load cluster id: invalid cluster id")',
      wayOut: `restore the volume from a snapshot or replace the machine; ${NEVER_EDIT}`,
    });
    return;
  }
  if (nodeClusterId !== '' && nodeClusterId !== file.value) {
    add({
      id: 'cluster-id.mismatch',
      level: 'error',
      summary: `${path} says ${file.value} but LiteFS reports ${nodeClusterId}`,
      means: 'the data dir read here is not the one this LiteFS uses, or it changed underneath it',
      wayOut: `pass the data dir LiteFS uses (--data-dir, --litefs-config); ${NEVER_EDIT}`,
    });
    return;
  }
  add({
    id: 'cluster-id',
    level: 'ok',
    summary: `cluster ID ${file.value}${nodeClusterId ? ' (the same in /info)' : ''}`,
    means: 'this node belongs to that cluster',
  });
}

export function stateFileFindings(
  f: DoctorFacts,
  config: Policy,
  nodeClusterId: string,
  add: AddFinding,
): void {
  const path = config.stateFile;
  const s = f.state;
  if (s.kind === 'missing') {
    add({
      id: 'state-file.none',
      level: 'info',
      summary: `no state file at ${path}`,
      means:
        'no high-water mark: the supervisor has not run here with this --state-file (a new node, or a new volume). Only peers can then show that data exists elsewhere',
    });
  } else if (s.kind === 'unreadable') {
    add({
      id: 'state-file.unreadable',
      level: 'warn',
      summary: s.error,
      means: 'the supervisor runs without its high-water mark until it can read the file (S10)',
      wayOut: 'fix the permissions or the volume; do not delete the file',
    });
  } else if (s.kind === 'corrupt') {
    add({
      id: 'state-file.corrupt',
      level: 'warn',
      summary: `the state file ${path} does not parse: ${s.error}`,
      means:
        'at its next start the supervisor keeps it aside as .corrupt and runs without a high-water mark (S10); only peers protect this node then',
      wayOut: 'keep the file for inspection; the supervisor writes a fresh one',
    });
  } else {
    const marks = Object.entries(s.dbs)
      .map(([db, txid]) => `${db} TXID ${hex(txid)}`)
      .join(', ');
    const other = nodeClusterId !== '' && s.clusterId !== '' && s.clusterId !== nodeClusterId;
    add({
      id: other ? 'state-file.other-cluster' : 'state-file',
      level: other ? 'warn' : 'ok',
      summary: `state file ${path}: cluster ${s.clusterId || '(none yet)'}, high-water marks ${marks || 'none'}`,
      means: other
        ? `it belongs to another cluster than this node's (${nodeClusterId}); the supervisor will start a fresh mark and its old marks protect nothing here`
        : 'the largest TXIDs this node has seen; a position below them is behind',
      ...(other
        ? {
            wayOut:
              'if this node was moved to a new cluster on purpose, nothing; otherwise find out why its cluster ID changed (a wiped data dir gets a new one)',
          }
        : {}),
    });
  }
  if (f.dataDir === undefined) return;
  if (f.stateOnDataVolume === false) {
    add({
      id: 'state-file.other-volume',
      level: 'warn',
      summary: `the state file ${path} is not on the same filesystem as the data dir ${f.dataDir.path}`,
      means:
        'a wiped or replaced data volume keeps an old high-water mark here (a node that then refuses forever), or the mark is lost with its own volume while the data survives; the mark protects only when both live and die together',
      wayOut:
        "put --state-file on the data dir's volume, next to data.dir (the default is <parent of data.dir>/litefs-supervisor.json)",
    });
  } else if (f.stateOnDataVolume === undefined) {
    add({
      id: 'state-file.volume-unknown',
      level: 'info',
      summary: `could not tell whether ${path} and ${f.dataDir.path} share a filesystem`,
      means: 'one of them could not be examined',
    });
  }
}

export function diskFindings(f: DoctorFacts, config: Policy, add: AddFinding): void {
  const guard = s9DiskGuard(f.disk, config.minFreeDisk);
  const free = f.disk ? freePercent(f.disk) : undefined;
  if (!f.disk || !free?.ok) {
    add({
      id: 'disk.unknown',
      level: 'warn',
      summary: guard.ok && guard.note ? guard.note : 'free disk space not measured',
      means:
        'a full volume is what started the seed incident; the supervisor cannot guard it (S9) without a measurement',
      wayOut: "pass --data-dir (or --litefs-config) so the data dir's volume can be measured",
    });
    return;
  }
  if (!guard.ok) {
    add({
      id: 'disk.low',
      level: 'error',
      summary: guard.why,
      means:
        'the supervisor refuses to migrate (S9, exit 3) and skips backups (S8); when the volume fills up LiteFS cannot write LTX files and replication stops',
      wayOut: `see what compaction would free: \`litefs-supervisor compact --dry-run --db ${config.db[0] ?? 'NAME'}\` on the primary, then \`litefs-supervisor compact --db ${config.db[0] ?? 'NAME'}\` (through LiteFS's import, every row checked); or extend the volume (\`fly volumes extend\`), or delete files of your own on it (backups, logs); never delete LTX files or anything else in data.dir`,
    });
    return;
  }
  add({
    id: 'disk',
    level: 'ok',
    summary: `${free.pct.toFixed(1)}% free (${free.freeBytes} of ${free.totalBytes} bytes) on the volume of ${f.disk.path}, --min-free-disk ${config.minFreeDisk}%`,
    means: 'room for migrations and backups',
  });
}
