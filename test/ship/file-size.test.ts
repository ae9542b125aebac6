// The team's rule: no source file over 600 lines. A file that grows past it is split by concern
// (as src/core/doctor*.ts and src/config/options/ are), not trimmed to fit.

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SRC = join(ROOT, 'src');
const MAX_LINES = 600;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? files(p) : [p];
  });
}

/** Lines as `wc -l` counts them: newline characters. */
function lineCount(path: string): number {
  return readFileSync(path, 'utf8').split('\n').length - 1;
}

t.test(`no file under src/ is over ${MAX_LINES} lines`, async (t) => {
  const sizes = files(SRC).map((p) => ({ path: relative(ROOT, p), lines: lineCount(p) }));
  // Guards against a walk that finds nothing and passes for that reason.
  t.ok(
    sizes.some((s) => s.path === join('src', 'config', 'schema.ts')),
    'the walk sees src/config/schema.ts',
  );
  const over = sizes
    .filter((s) => s.lines > MAX_LINES)
    .map((s) => `${s.path}: ${s.lines} lines (at most ${MAX_LINES}; split it by concern)`);
  t.same(over, [], 'files over the limit');
});
