// Helpers for tests on real processes (test/process/*): waiting for a pid to be gone,
// reading fixture output files, counting live timers.

import { readFileSync } from 'node:fs';
import { waitFor } from './wait.js';

export function readOr(file: string, otherwise: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return otherwise;
  }
}

/**
 * kill(pid, 0) succeeds for a zombie too: an orphaned grandchild is reparented to PID 1, and
 * in a container PID 1 may never reap it. A zombie is dead for our purposes.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = readOr(`/proc/${pid}/stat`, '');
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

export const waitGone = (pid: number) =>
  waitFor(() => !isAlive(pid), { message: `pid ${pid} to exit`, timeoutMs: 10_000 });

export const timerCount = () =>
  process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
