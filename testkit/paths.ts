// Where the repository is, for a testkit module run either way: as TypeScript (testkit/x.ts,
// under tap) or built (dist-testkit/testkit/x.js, for the demo and the benchmarks). The two sit
// at different depths, so the root is the nearest folder up that holds a package.json.

import { existsSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

function repoRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir.endsWith(sep) ? dir : `${dir}${sep}`;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/** The repository's root folder, with a trailing separator. */
export const ROOT = repoRoot(dirname(fileURLToPath(import.meta.url)));
/** The built CLI (npm run build): what the demo and the harnesses run, as users do. */
export const CLI = join(ROOT, 'dist/cli/main.js');
