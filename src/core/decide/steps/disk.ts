// The low-disk alarm (docs/design.md, "Low-disk alarm"): below --min-free-disk on the data volume
// a running supervisor logs `disk.low` when it begins and again every DISK_LOW_LOG_MS while it
// lasts, `disk.ok` when it ends; /status and /metrics show it. It never stops the app: a full
// volume is an operator's matter (litefs-supervisor compact, a bigger volume), and an app stopped
// for disk would only turn a slow problem into an outage.

import { freePercent } from '../../observation.js';
import type { Input } from '../../state.js';
import type { Draft, Verdict } from '../draft.js';

/** How often disk.low is logged again while the volume stays low. */
export const DISK_LOW_LOG_MS = 5 * 60_000;

export function diskAlarm(d: Draft, input: Input): Verdict {
  if (input.type !== 'observation' || d.config.standalone) return 'continue';
  const disk = input.observation.disk;
  if (!disk) return 'continue';
  const free = freePercent(disk);
  if (!free.ok) return 'continue'; // unmeasured is not low (S9 says the same)
  const s = d.s;
  const limit = d.config.minFreeDisk;
  const fields = {
    path: disk.path,
    freePct: Number(free.pct.toFixed(1)),
    freeBytes: free.freeBytes,
    totalBytes: free.totalBytes,
    minFreeDisk: limit,
  };
  if (free.pct >= limit) {
    if (s.diskLow) {
      d.log('info', 'disk.ok', `the data volume has ${free.pct.toFixed(1)}% free again`, {
        ...fields,
        lowForMs: d.now - s.diskLow.since,
      });
      s.diskLow = undefined;
    }
    return 'continue';
  }
  const again = s.diskLow !== undefined && d.now - s.diskLow.loggedAt >= DISK_LOW_LOG_MS;
  if (!s.diskLow || again) {
    d.log(
      'warn',
      'disk.low',
      `only ${free.pct.toFixed(1)}% free on the data volume (${disk.path}), below --min-free-disk ${limit}%: migrations are refused (S9) and backups skipped (S8); the app keeps running. Run litefs-supervisor compact --dry-run --db ${d.config.db[0] ?? 'NAME'} on the primary to see what compaction would free, or extend the volume`,
      { ...fields, lowForMs: s.diskLow ? d.now - s.diskLow.since : 0 },
    );
  }
  s.diskLow = {
    since: s.diskLow?.since ?? d.now,
    loggedAt: !s.diskLow || again ? d.now : s.diskLow.loggedAt,
    freeBytes: free.freeBytes,
    totalBytes: free.totalBytes,
    pct: free.pct,
  };
  return 'continue';
}
