#!/usr/bin/env node
// Each test that guards a behaviour must fail when the behaviour is gone. For every entry of
// test/mutations/mutations.json: a scratch worktree of HEAD, the patch that removes the
// behaviour applied, a build, then each listed test run on its own: it must FAIL. Not part of
// npm test (it builds once per mutation and runs real-LiteFS files): `node scripts/mutations.mjs
// [NAME...]`. Prints one line per mutation and exits 1 when any test survived its mutation.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIR = join(ROOT, 'test/mutations');
const only = process.argv.slice(2);
const all = JSON.parse(readFileSync(join(DIR, 'mutations.json'), 'utf8'));
const chosen = all.filter((m) => only.length === 0 || only.some((o) => m.patch.startsWith(o)));

const run = (cmd, args, cwd) => spawnSync(cmd, args, { cwd, encoding: 'utf8', stdio: 'pipe' });

let survived = 0;
for (const m of chosen) {
  // Beside the repository, as the real-LiteFS harness finds ../shared/litefs from it.
  const scratch = mkdtempSync(join(dirname(ROOT.replace(/\/$/, '')), 'mutation-'));
  rmSync(scratch, { recursive: true });
  const add = run('git', ['worktree', 'add', '--detach', scratch, 'HEAD'], ROOT);
  if (add.status !== 0) throw new Error(`git worktree add: ${add.stderr}`);
  try {
    symlinkSync(join(ROOT, 'node_modules'), join(scratch, 'node_modules'));
    const applied = run('git', ['apply', join(DIR, m.patch)], scratch);
    if (applied.status !== 0) {
      console.log(`${m.patch}: the patch no longer applies: ${applied.stderr.trim()}`);
      survived += 1;
      continue;
    }
    for (const script of ['build', 'build:testkit']) {
      const b = run('npm', ['run', script, '--silent'], scratch);
      if (b.status !== 0) throw new Error(`${m.patch}: npm run ${script} failed: ${b.stderr}`);
    }
    for (const test of m.tests) {
      const started = Date.now();
      const r = run('npx', ['tap', '--jobs=1', '--disable-coverage', test], scratch);
      const secs = ((Date.now() - started) / 1000).toFixed(0);
      const failed = r.status !== 0;
      // A test that skipped (no real LiteFS here) proves nothing either way.
      const skipped = /# \{ total: \d+.*skip: [1-9]/.test(r.stdout) || /# SKIP/.test(r.stdout);
      if (!failed || skipped) survived += 1;
      if (skipped && !failed) {
        console.log(`${m.patch}: ${test} SKIPPED: it could not run here, so it proves nothing`);
        continue;
      }
      const why = (r.stdout.match(/^\s*not ok \d+ - .*$/m)?.[0] ?? '').trim().slice(0, 200);
      console.log(
        `${m.patch} (${m.removes}): ${test} ${failed ? `FAILED as it must (${secs}s): ${why}` : `PASSED: the test does not guard it (${secs}s)`}`,
      );
    }
  } finally {
    run('git', ['worktree', 'remove', '--force', scratch], ROOT);
  }
}
process.exit(survived === 0 ? 0 : 1);
