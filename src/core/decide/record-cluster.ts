// Recording what the cluster record in Consul said (docs/design.md section 3, "cluster record"):
// a read that came with the peers' answers, or the answer to this node's write. Logs what
// arrived; the rules that use it are S2/S3 (rules.ts) and the write step (steps/record.ts).

import { describeRecord } from '../cluster-record.js';
import { clusterIdOf, dbViewsOf } from '../derive.js';
import type { PeerReport } from '../peer-types.js';
import type { Input } from '../state.js';
import type { Draft } from './draft.js';

/** After a write that did not land, the next is tried this much later. */
export const RECORD_RETRY_MS = 10_000;

/** A read that came with the peers' answers. */
export function recordRecordRead(d: Draft, report: PeerReport): void {
  const read = report.record;
  if (read === undefined) return;
  const s = d.s;
  s.record.last = read;
  s.record.at = report.at;
  const ownCluster = clusterIdOf(s.observation);
  if (read.kind === 'present' && read.record.clusterId !== '' && ownCluster !== '') {
    if (read.record.clusterId !== ownCluster && !s.record.warned.otherCluster) {
      s.record.warned.otherCluster = true;
      d.log(
        'warn',
        'record.other-cluster',
        `the cluster record was created by LiteFS cluster ${read.record.clusterId}, this node is in ${ownCluster}: a lease key changed, or a new cluster took this app's record. The record still counts (it says where data was); reset it only if that data is gone for good`,
        { key: d.config.clusterRecord, record: describeRecord(read) },
      );
    }
  }
  if (read.kind === 'absent' && !s.record.warned.absent) {
    const here = dbViewsOf(s.observation, d.config).filter((db) => db.hasData);
    // A peer's high-water mark says the cluster held data, even where its db is gone now.
    const peers = report.answers.filter(
      (a) => a.ok && Object.values(a.dbs).some((e) => e.hasData || (e.hwm ?? 0n) > 0n),
    );
    if (here.length > 0 || peers.length > 0) {
      s.record.warned.absent = true;
      d.log(
        'warn',
        'record.absent',
        'no cluster record in Consul although data exists: expected on the first run of a supervisor that keeps one; otherwise --cluster-record or the lease key it defaults from changed, and the old record is elsewhere. The primary writes it once it has passed its checks',
        {
          key: d.config.clusterRecord,
          dataHere: here.map((db) => db.name).join(',') || undefined,
          dataOnPeers: peers.map((a) => a.url).join(',') || undefined,
        },
      );
    }
  }
}

/** The answer to this node's write (steps/record.ts). */
export function recordRecordWritten(
  d: Draft,
  input: Extract<Input, { type: 'record-written' }>,
): void {
  const rec = d.s.record;
  if (rec.writing !== input.token) return;
  rec.writing = undefined;
  const r = input.result;
  const key = d.config.clusterRecord;
  switch (r.kind) {
    case 'written':
      rec.last = r.read;
      rec.at = d.now;
      rec.writes += 1;
      d.log(
        'info',
        'record.write',
        `recorded in Consul that the cluster holds data in ${r.gained.join(', ')}`,
        {
          key,
          record: describeRecord(r.read),
        },
      );
      return;
    case 'unchanged':
      rec.last = r.read;
      rec.at = d.now;
      d.log('debug', 'record.write', 'the cluster record already lists these dbs', {
        key,
        record: describeRecord(r.read),
      });
      return;
    case 'not-holder':
      rec.retryAt = d.now + RECORD_RETRY_MS;
      d.log(
        'warn',
        'record.write-fail',
        `not writing the cluster record: Consul's lease names ${r.holder === '' ? 'no holder' : r.holder}, not this node`,
        { key, retryInMs: RECORD_RETRY_MS },
      );
      return;
    case 'failed':
      rec.retryAt = d.now + RECORD_RETRY_MS;
      d.log('warn', 'record.write-fail', `could not write the cluster record: ${r.error}`, {
        key,
        retryInMs: RECORD_RETRY_MS,
      });
      return;
  }
}
