// The primary term: what a node establishes while it holds the lease (S2/S3 cleared, S3
// bootstrap, S8 backups taken, S1 retry counts, S14 a hand-back received) holds for that term only. This is the one
// place it is reset: when the role leaves primary (record-observation.ts).

import { newPrimaryTerm, type SupervisorState } from '../state.js';

export function endPrimaryTerm(s: SupervisorState, now: number): void {
  // A new primary term starts from scratch: checks, bootstrap, backups (S2/S3/S8).
  s.term = newPrimaryTerm();
  // S1 retries count per primary term: a failed migration is tried afresh next term, at once
  // (its retryAt stays set, so /status and /metrics still show it failed). A node that hands
  // the lease back between tries (S14) keeps counting: the next try is its own, at its time.
  if (s.handBack?.why === 'retry') {
    clearCheckAnswers(s);
    return;
  }
  for (const c of s.commands) {
    c.failures = 0;
    if (c.retryAt !== undefined) c.retryAt = now;
  }
  clearCheckAnswers(s);
}

/** The peers' answers were about this term's checks (S2/S3). */
function clearCheckAnswers(s: SupervisorState): void {
  if (s.peers?.purpose === 'check') s.peers = undefined;
}
