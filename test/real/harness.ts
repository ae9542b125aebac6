// The real-LiteFS harness for tap (testkit/real-litefs.ts does the work): a test file calls
// skipUnlessReal(t) first, so without LiteFS, root or FUSE it reports itself skipped with why.

import type { Test } from 'tap';
import { realSkipReason } from '../../testkit/real-litefs.js';

export * from '../../testkit/real-litefs.js';

/** Plan-skips the file (with the reason printed) when real LiteFS cannot run; true if skipped. */
export function skipUnlessReal(t: Test): boolean {
  const reason = realSkipReason();
  if (reason === undefined) return false;
  t.comment(`real LiteFS suite skipped: ${reason}`);
  t.plan(0, reason);
  return true;
}
