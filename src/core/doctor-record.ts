// doctor's findings about the cluster record in Consul (docs/design.md section 3, "cluster
// record"), set against what this node holds: whether S2 would fence this node as primary
// because the record says the cluster has data it lacks, whether S3 would wait on an unreadable
// record, and whether the record is missing while data exists. Pure, like the rest of doctor.

import { RECORD_RESET, type RecordRead, recordedData } from './cluster-record.js';
import type { Finding } from './doctor-report.js';

/** Per gated db: whether this node holds data in it (as doctor read it). */
export interface HeldDb {
  name: string;
  hasData: boolean;
}

export function recordFindings(
  read: RecordRead | undefined,
  key: string | undefined,
  dbs: readonly HeldDb[],
  nodeClusterId: string,
): Finding[] {
  if (key === undefined || read === undefined) return [];
  if (read.kind === 'unreadable') {
    return [
      {
        id: 'record.unreadable',
        level: 'warn',
        summary: `the cluster record at ${key} could not be read: ${read.error}`,
        means:
          'an empty primary counts it as a witness that did not answer: it waits --peer-wait, then is fenced (it never bootstraps on it)',
        wayOut:
          "check that Consul answers and that the token's ACL allows reading and writing the key",
      },
    ];
  }
  if (read.kind === 'absent') {
    const held = dbs.filter((db) => db.hasData);
    return [
      held.length > 0
        ? {
            id: 'record.absent',
            level: 'warn',
            summary: `no cluster record at ${key}, while this node holds data in ${held.map((db) => db.name).join(', ')}`,
            means:
              'until a primary records the data, a stopped machine that holds it cannot protect it: an empty node that gets the lease is judged by the peers that answer alone',
            wayOut:
              'the primary writes it once it has passed its checks (expected on the first run with the supervisor); if a primary has been running, check --cluster-record and the lease key it defaults from',
          }
        : {
            id: 'record.absent',
            level: 'ok',
            summary: `no cluster record at ${key}, and this node holds no data: a new cluster as far as the record knows`,
            means: 'an empty primary may bootstrap once every peer answered with no data',
          },
    ];
  }
  const out: Finding[] = [];
  const recordCluster = read.record.clusterId;
  if (recordCluster !== '' && nodeClusterId !== '' && recordCluster !== nodeClusterId) {
    out.push({
      id: 'record.other-cluster',
      level: 'warn',
      summary: `the cluster record at ${key} was created by LiteFS cluster ${recordCluster}; this node is in ${nodeClusterId}`,
      means:
        "a lease key changed, or a new cluster took this app's record; the record still counts: the data it lists was somewhere",
      wayOut: `if that data is gone for good: ${RECORD_RESET}`,
    });
  }
  for (const db of dbs) {
    const entry = recordedData(read, db.name);
    if (entry === undefined) {
      out.push({
        id: 'record.db',
        level: 'info',
        db: db.name,
        summary: `the cluster record does not list ${db.name}${db.hasData ? ' yet; the primary adds it once it has passed its checks' : ''}`,
        means: 'an empty primary may bootstrap it once every peer answered with no data',
      });
    } else if (!db.hasData) {
      out.push({
        id: 'record.data-elsewhere',
        level: 'error',
        db: db.name,
        summary: `the cluster record says the cluster has held data in ${db.name} since ${entry.since} (recorded by ${entry.node}), and this node has none`,
        means:
          'as primary this node is fenced (S2): no migration, no app, the lease handed to a node with the data; as a replica it receives the data from the primary',
        wayOut: `start the machine that holds the data (a stopped machine is not in DNS), or restore a backup; if the data is gone for good: ${RECORD_RESET}`,
      });
    } else {
      out.push({
        id: 'record.db',
        level: 'ok',
        db: db.name,
        summary: `the cluster record lists ${db.name} (data since ${entry.since}, recorded by ${entry.node}) and this node holds data in it`,
        means: 'an empty node that gets the lease is fenced, even while this one is stopped',
      });
    }
  }
  return out;
}
