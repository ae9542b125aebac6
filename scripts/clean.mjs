#!/usr/bin/env node
// Empty a build folder before tsc writes it (npm run build, npm run build:testkit): tsc never
// deletes the output of a source that moved or was removed, and a stale file left in dist/ would
// be published (package.json "files" takes all of dist/), as dist/sim/ would have been after the
// fakes moved to testkit/.
// Usage: node scripts/clean.mjs <folder>... (each relative to the repository's root).

import { rmSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const folders = process.argv.slice(2);
if (folders.length === 0) {
  console.error('usage: node scripts/clean.mjs <folder>...');
  process.exit(2);
}
for (const folder of folders) {
  const target = resolve(root, folder);
  const rel = relative(root, target);
  // Never the root itself nor anything outside it, whatever the argument.
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    console.error(`clean: refusing ${folder}: not a folder inside ${root}`);
    process.exit(2);
  }
  rmSync(join(root, rel), { recursive: true, force: true });
}
