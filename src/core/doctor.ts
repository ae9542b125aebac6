// `litefs-supervisor doctor` (docs/design.md section 6): what is wrong with this node's data,
// and the documented way out. Pure: src/cli/doctor.ts gathers the facts (mount, LiteFS API, data
// dir, state file, disk, peers) without writing anything (S12) and prints what this returns. The
// judgements are the supervisor's own (dbViewOf, peersAhead, s9DiskGuard, HISTORY_LOST_REPAIR),
// so doctor and a running supervisor never disagree about what a db holds.
//
// diagnose runs the families of findings in a fixed order (the report keeps it within a level)
// and assembles the report. Each family has its own file: LiteFS and the role (doctor-litefs.ts),
// the peers (doctor-peers.ts), each db (doctor-db.ts), the volume: data dir and cluster ID,
// state file, disk (doctor-volume.ts), the cluster record (doctor-record.ts). The facts they read
// are in doctor-facts.ts; the report's types and shared wording in doctor-report.ts.

import { describeRecord } from './cluster-record.js';
import { clusterIdOf, roleOf, syncOf } from './derive.js';
import { dbFindings } from './doctor-db.js';
import type { DoctorFacts } from './doctor-facts.js';
import { litefsFindings } from './doctor-litefs.js';
import { peerFindings } from './doctor-peers.js';
import { recordFindings } from './doctor-record.js';
import type { DoctorReport, Finding, Level } from './doctor-report.js';
import { clusterFindings, diskFindings, stateFileFindings } from './doctor-volume.js';
import { keepsRecord, type Policy } from './policy.js';

/** What is wrong with this node, per db and as a whole. */
export function diagnose(f: DoctorFacts, config: Policy): DoctorReport {
  const obs = f.observation;
  const findings: Finding[] = [];
  const add = (x: Finding) => findings.push(x);
  const running = !config.standalone && obs.info.ok;
  const info = obs.info.ok ? obs.info.value : undefined;
  const self = config.hostname === undefined ? [] : [config.hostname];
  const role = running ? roleOf(obs, self) : null;
  const sync = running && role === 'replica' ? syncOf(obs, config.maxLag) : undefined;
  const nodeClusterId = running ? clusterIdOf(obs) : '';

  if (config.standalone) {
    add({
      id: 'mode.standalone',
      level: 'info',
      summary: '--standalone: no LiteFS, so no position, history, cluster or peers to check',
      means: 'only the database files and the free space are examined',
    });
  } else {
    litefsFindings(f, config, role, sync, add);
    peerFindings(f, config, add);
    clusterFindings(f, nodeClusterId, add);
  }

  const dbs = config.db.map((name, i) => {
    const r = dbFindings(f, config, name, i, role, nodeClusterId);
    for (const x of r.findings) add(x);
    return r.db;
  });

  if (!config.standalone) stateFileFindings(f, config, nodeClusterId, add);
  const key = keepsRecord(config) ? config.clusterRecord : undefined;
  for (const x of recordFindings(f.record, key, dbs, nodeClusterId)) add(x);
  diskFindings(f, config, add);

  return {
    ok: !findings.some((x) => x.level === 'warn' || x.level === 'error'),
    litefs: {
      url: config.litefsUrl,
      running,
      error: !config.standalone && !obs.info.ok ? obs.info.error : null,
      role,
      lagMs: role === 'primary' ? 0 : (sync?.lagMs ?? null),
      synced: role === 'primary' ? true : (sync?.synced ?? null),
      clusterId: running ? nodeClusterId || null : null,
      nodeId: info?.nodeId ?? null,
    },
    mountDir: config.mountDir,
    dataDir: f.dataDir?.path ?? null,
    stateFile: config.stateFile,
    dbs,
    clusterRecord: key === undefined ? null : { key, read: describeRecord(f.record) },
    findings: sortFindings(findings),
  };
}

const ORDER: Record<Level, number> = { error: 0, warn: 1, info: 2, ok: 3 };

function sortFindings(findings: Finding[]): Finding[] {
  return findings
    .map((x, i) => [x, i] as const)
    .sort(([a, i], [b, j]) => ORDER[a.level] - ORDER[b.level] || i - j)
    .map(([x]) => x);
}
