// Signals go to a child's whole process group, never to the child alone (docs/design.md section 6,
// docs/design.md section 12, point 8): Debian's /bin/sh is dash, which does not exec the last command of `sh -c`,
// so a signal sent only to the shell never reaches `node migrate.js`. Children are spawned with
// `detached: true` (setsid), which makes the group ID equal to the child's pid.

import { readdirSync, readFileSync } from 'node:fs';

function assertGroupLeader(pid: number): void {
  // kill(-0) would signal our own group and kill(-1) every process we may signal: a bad pid
  // here must fail loudly rather than take down the supervisor or the whole machine.
  if (!Number.isSafeInteger(pid) || pid <= 1) {
    throw new RangeError(`process group id must be an integer > 1, got ${String(pid)}`);
  }
}

/**
 * Sends `signal` to every process in the group led by `pid`. Returns true when at least one
 * member got it, false when the group is already gone (ESRCH) or none of its members may be
 * signalled by us (EPERM: they all changed user, e.g. through a setuid program). It never
 * throws for those: it is called from timers and signal handlers, where a throw would crash the
 * supervisor instead of letting it report and exit.
 */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  assertGroupLeader(pid);
  try {
    process.kill(-pid, signal);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH' || code === 'EPERM') return false;
    throw err;
  }
}

/**
 * Whether the group still has a live member. kill(-pid, 0) alone is not enough: it also
 * succeeds for zombies, and a grandchild orphaned by the shell is reparented to PID 1, which in
 * a container (`litefs mount`, a bare firecracker init) may never reap it. So on Linux a group
 * whose members are all zombies counts as gone: read /proc to tell. Without /proc, trust kill.
 */
export function groupAlive(pid: number): boolean {
  assertGroupLeader(pid);
  try {
    process.kill(-pid, 0);
  } catch (err) {
    // EPERM: the group exists, we just may not signal it.
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true;
  }
  return entries.some((entry) => /^\d+$/.test(entry) && isLiveMember(entry, pid));
}

function isLiveMember(procPid: string, pgid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${procPid}/stat`, 'utf8');
  } catch {
    return false; // exited while we looked
  }
  // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after the
  // last ')'.
  const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(pgrp) === pgid && state !== 'Z' && state !== 'X';
}

/** SIGTERM, then SIGKILL after a delay, for one process group (docs/design.md section 12, point 8). */
export interface GroupStopper {
  /**
   * Sends `signal` to the group now and, unless it is SIGKILL, schedules a SIGKILL to the group
   * `killAfterMs` later. A second call forwards its signal again but keeps the first deadline,
   * so repeated signals cannot postpone the kill. Returns whether the signal was delivered; no
   * SIGKILL is scheduled when the group is already gone.
   */
  stop(signal: NodeJS.Signals, killAfterMs: number): boolean;
  /**
   * Call once the leader has exited. When a stop is pending, resolves once the group is empty
   * (dropping the SIGKILL) or once the SIGKILL was sent, whichever comes first; without a
   * pending stop it resolves at once. Either way no timer is left behind.
   */
  finish(): Promise<void>;
}

/** How often `finish` looks whether the group has emptied. */
const GROUP_POLL_MS = 25;

export function groupStopper(pid: number): GroupStopper {
  assertGroupLeader(pid);
  let timer: NodeJS.Timeout | undefined;
  let killed: Promise<void> | undefined;
  return {
    stop(signal, killAfterMs) {
      const delivered = signalGroup(pid, signal);
      if (delivered && signal !== 'SIGKILL' && killed === undefined) {
        killed = new Promise((resolve) => {
          timer = setTimeout(() => {
            timer = undefined;
            signalGroup(pid, 'SIGKILL');
            resolve();
          }, killAfterMs);
        });
      }
      return delivered;
    },
    async finish() {
      // A grandchild still shutting down after the leader died (npm, or dash, exits first)
      // gets until the SIGKILL deadline; we return as soon as the group is empty.
      while (timer !== undefined) {
        if (!groupAlive(pid)) {
          clearTimeout(timer);
          timer = undefined;
          return;
        }
        let poll: NodeJS.Timeout | undefined;
        await Promise.race([
          killed,
          new Promise((resolve) => {
            poll = setTimeout(resolve, GROUP_POLL_MS);
          }),
        ]);
        clearTimeout(poll);
      }
    },
  };
}
