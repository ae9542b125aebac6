// File permissions for tests that run as root (CI does): root reads a mode-000 file, so a test
// of "unreadable" would see nothing. `asNobody` runs a step with the effective uid and gid of
// `nobody`; the kernel checks file access against them, so the read really fails with EACCES
// and the code path for an unreadable file runs. The real uid stays 0, which is what lets the
// process take its privileges back afterwards (seteuid(0)). Each tap test file is its own
// process, so no other file is affected. As a normal user, the step just runs.

import { chmodSync } from 'node:fs';
import { dirname } from 'node:path';

const NOBODY = 65534;

export const runsAsRoot = () => process.geteuid?.() === 0;

/**
 * Runs `fn` as `nobody` when this process is root; otherwise as is. Everything else this
 * process does meanwhile (a fake LiteFS serving from memory, tap's output on open pipes) is
 * unaffected by the effective uid.
 */
export async function asNobody<T>(fn: () => Promise<T>): Promise<T> {
  if (!runsAsRoot()) return fn();
  process.setegid?.(NOBODY);
  process.seteuid?.(NOBODY);
  try {
    return await fn();
  } finally {
    process.seteuid?.(0);
    process.setegid?.(0);
  }
}

/**
 * Opens the directories from `path` up to (and including) `top` to everyone (mode 0755):
 * mkdtemp makes them 0700, which `nobody` could not even enter, and the test is about one file
 * being unreadable, not its whole directory.
 */
export function openUpTo(path: string, top: string): void {
  for (let dir = path; ; dir = dirname(dir)) {
    chmodSync(dir, 0o755);
    if (dir === top || dirname(dir) === dir) break;
  }
}
