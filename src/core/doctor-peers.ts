// doctor's findings about the peers (--peers): none configured, discovery failed or found
// nobody, and each peer's answer (or silence) with what it holds per db, as S3 would count it.
// While LiteFS is down here they are asked too (a truncated db's way out depends on them), and
// a silent one may be this node itself.

import { clusterIdOf } from './derive.js';
import type { DoctorFacts } from './doctor-facts.js';
import type { AddFinding } from './doctor-report.js';
import { describePeerDb } from './peers.js';
import type { Policy } from './policy.js';

export function peerFindings(f: DoctorFacts, config: Policy, add: AddFinding): void {
  const up = f.observation.info.ok;
  if (!up && config.peers !== undefined && f.peers === undefined) {
    add({
      id: 'peers.not-asked',
      level: 'info',
      summary: `peers (${config.peers}) not asked: LiteFS is not running here`,
      means: 'what they hold was not compared with this node',
    });
    return;
  }
  if (!up && config.peers === undefined) return;
  if (config.peers === undefined) {
    add({
      id: 'peers.none',
      level: 'info',
      summary: 'no --peers (and no FLY_APP_NAME): no peer evidence',
      means:
        'without peers, an empty primary cannot tell a new cluster from a lost one; the high-water mark in the state file is the only protection',
    });
    return;
  }
  const report = f.peers;
  if (report === undefined) return;
  if (report.discoveryError !== undefined) {
    add({
      id: 'peers.discovery',
      level: 'warn',
      summary: `finding the peers failed: ${report.discoveryError}`,
      means: 'peers may be hidden; the supervisor will not bootstrap past this (S3)',
      wayOut: `check --peers ${config.peers} and DNS (on Fly, <app>.internal lists started machines)`,
    });
  }
  if (report.answers.length === 0 && report.discoveryError === undefined) {
    add({
      id: 'peers.none-found',
      level: 'info',
      summary: `--peers ${config.peers} found no other node`,
      means:
        'stopped machines may be missing from DNS; with no visible peer an empty primary looks like a new cluster',
    });
  }
  for (const a of report.answers) {
    if (!a.ok && !up) {
      // This node cannot tell itself apart while its LiteFS is down: its own address, if
      // listed, is among these. Nothing here decides on them (no bootstrap, no lease).
      add({
        id: 'peer.unanswered',
        level: 'info',
        summary: `peer ${a.url} did not answer: ${a.error}`,
        means:
          "this node's LiteFS is down, so this may be this node itself; otherwise it is a node that may hold data",
      });
      continue;
    }
    if (!a.ok) {
      add({
        id: 'peer.unanswered',
        level: 'warn',
        summary: `peer ${a.url} did not answer: ${a.error}`,
        means:
          'it may hold data; the supervisor counts it as unanswered, never as empty, and does not bootstrap while it is silent (S3)',
        wayOut:
          "check that LiteFS runs there and that its API (and its supervisor's health port) is reachable from this node",
      });
      continue;
    }
    const other =
      a.clusterId !== '' && f.observation.info.ok && clusterIdOf(f.observation) !== ''
        ? a.clusterId !== clusterIdOf(f.observation)
        : false;
    const dbs = config.db.map((db) => `${db}: ${describePeerDb(a.dbs[db])}`).join('; ');
    add({
      id: 'peer.evidence',
      level: 'info',
      summary: `peer ${a.url} (node ${a.nodeId}${a.isPrimary ? ', primary' : ''}${a.candidate ? ', candidate' : ''}, evidence from ${a.evidence === 'supervisor' ? 'its supervisor' : 'LiteFS alone'}): ${dbs}`,
      means: other
        ? `it belongs to another cluster (${a.clusterId}); its evidence does not count here`
        : 'what it holds, for comparison with this node',
    });
  }
}
