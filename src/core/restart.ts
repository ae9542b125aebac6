// The app restart policy (docs/design.md section 6, --restart): exponential backoff from
// --restart-delay to 30 s, at most --restart-max restarts in a 10-minute window, then exit
// with the app's code.

import type { Policy } from './policy.js';

export const RESTART_WINDOW_MS = 10 * 60 * 1000;
const MAX_DELAY_MS = 30_000;

/**
 * Delay before the next restart, given how many restarts already happened in the window:
 * `firstMs` (--restart-delay), doubling, at most 30 s (or `firstMs` when that is longer).
 */
export function restartDelayMs(restartsInWindow: number, firstMs: number): number {
  return Math.min(Math.max(MAX_DELAY_MS, firstMs), firstMs * 2 ** Math.max(0, restartsInWindow));
}

export type RestartVerdict =
  | { restart: true; delayMs: number; recentRestarts: number[] }
  | { restart: false; why: string };

/**
 * Whether an app that exited by itself (not a stop we asked for) is started again.
 * `restartTimes` are earlier restarts (ms); the ones outside the window are dropped.
 */
export function restartVerdict(
  config: Pick<Policy, 'restart' | 'restartMax' | 'restartDelay'>,
  exitCode: number,
  restartTimes: number[],
  now: number,
): RestartVerdict {
  const { restart: policy, restartMax } = config;
  if (policy === 'never') return { restart: false, why: '--restart is never' };
  if (policy === 'on-failure' && exitCode === 0) {
    return { restart: false, why: 'the app exited 0 and --restart is on-failure' };
  }
  const recent = restartTimes.filter((t) => now - t < RESTART_WINDOW_MS);
  if (recent.length >= restartMax) {
    return {
      restart: false,
      why: `${recent.length} restarts in the last 10 minutes reached --restart-max ${restartMax}`,
    };
  }
  return {
    restart: true,
    delayMs: restartDelayMs(recent.length, config.restartDelay),
    recentRestarts: recent,
  };
}
