// Test waiting and temp dirs (docs/design.md section 12, point 9): poll with a deadline, never a fixed sleep;
// one temp dir per test, because tap runs test files in parallel.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';

export { type WaitForOptions, waitFor } from '../../testkit/wait.js';

/** A fresh temp dir for this test, removed on teardown. */
export function tmpDir(t: Pick<Test, 'teardown'>, prefix = 'lfs-sup-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
