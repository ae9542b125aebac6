// The cluster record's write (docs/design.md section 3, "cluster record"): a primary that passed
// its checks and is not fenced records in Consul every gated db it holds data in that the
// record does not list yet. Written only when it gains something; the adapter re-reads it,
// checks that Consul's lease value names this node, and writes with check-and-set.

import { unrecorded } from '../../cluster-record.js';
import { clusterIdOf, dbViewsOf } from '../../derive.js';
import { keepsRecord } from '../../policy.js';
import { due } from '../deadlines.js';
import type { Draft, Verdict } from '../draft.js';

/** The pipeline's step: ask for a write when the record would gain a db. Never ends the decision. */
export function recordData(d: Draft): Verdict {
  const { s, config } = d;
  if (!keepsRecord(config) || s.shutdown || s.fence || s.role !== 'primary') return 'continue';
  if (!s.term.cleared || s.record.writing !== undefined) return 'continue';
  if (s.record.retryAt !== undefined) {
    if (!due('record-retry', s, config, d.now)) return 'continue';
    s.record.retryAt = undefined; // the retry is due: write now if the record lacks a db
  }
  const withData = dbViewsOf(s.observation, config)
    .filter((db) => db.hasData)
    .map((db) => db.name);
  const gains = unrecorded(s.record.last, withData);
  const node = s.selfHostname ?? config.hostname;
  if (gains.length === 0 || node === undefined) return 'continue';
  const token = s.nextToken++;
  s.record.writing = token;
  s.record.retryAt = undefined;
  d.actions.push({
    type: 'write-record',
    token,
    dbs: gains,
    clusterId: clusterIdOf(s.observation),
    node,
  });
  return 'continue';
}
