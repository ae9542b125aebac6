// Before any role's path: an observation to decide on, LiteFS's API answering, and a known
// role (a primary elected). Each wait is bounded by --sync-timeout (Draft.waitIn).

import type { Draft, Verdict } from '../draft.js';

/** Nothing is decided before the first observation. */
export function haveObservation(d: Draft): Verdict {
  return d.s.observation ? 'continue' : 'done';
}

export function litefsReachable(d: Draft): Verdict {
  const info = d.s.observation?.info;
  if (!info || info.ok) return 'continue';
  return d.waitIn(
    'waiting-for-litefs',
    `LiteFS API at ${d.config.litefsUrl} is not answering: ${info.error}`,
    'litefs.wait',
  );
}

export function roleKnown(d: Draft): Verdict {
  if (d.s.role !== 'unknown') return 'continue';
  return d.waitIn(
    'waiting-for-primary',
    'no primary is known yet (election in progress or LiteFS starting)',
    'primary.wait',
  );
}
