// The real-LiteFS files (test/real/), in a serial pass of their own after the fast suite: each
// starts LiteFS nodes, a Consul stand-in and FUSE mounts, and their timings (leases, TTLs,
// handoffs) must not compete with another file for the 2 cores. One tap run per file, one at a
// time; each file's wall time is printed (`real-litefs: FILE Ns`). Exits non-zero when any
// file failed.
//
// No silent skip in CI (CI=true): the run fails when real LiteFS cannot run here (everything
// missing is named, scripts/real-preflight.mjs), and when any file or subtest reports itself
// skipped (tap's `# SKIP` lines and the `skip:` count of its summary), each skip listed with
// its reason; ALLOW_REAL_SKIP=1 lets a CI run skip. Elsewhere skips are allowed and listed.
//
//   node scripts/test-real.mjs [FILE...]   (default: every test/real/*.test.ts)

import { spawn } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { realPreflight } from './real-preflight.mjs';

/**
 * The skips in one tap run's TAP output: `count` from the last summary line (`# { total: ...,
 * skip: N }`), or the number of `# SKIP` test points when there is none; `lines`, each of those
 * test points (its name and reason).
 */
export function tapSkips(text) {
  const lines = text
    .split('\n')
    .filter((l) => /^\s*(not )?ok \d+\b.*# SKIP\b/i.test(l))
    .map((l) => l.trim());
  const summary = text.match(/^# \{ total: .*\}\s*$/gm)?.at(-1);
  const fromSummary = summary ? Number(/\bskip: (\d+)/.exec(summary)?.[1] ?? 0) : undefined;
  return { count: Math.max(fromSummary ?? 0, lines.length), lines };
}

/** Runs one file with tap; resolves to its exit status and skips (parsed when piped). */
function runFile(file, pipe) {
  return new Promise((resolve) => {
    const child = spawn('npx', ['tap', '--jobs=1', '--disable-coverage', file], {
      stdio: ['ignore', pipe ? 'pipe' : 'inherit', 'inherit'],
    });
    let text = '';
    child.stdout?.setEncoding('utf8').on('data', (d) => {
      text += d;
      process.stdout.write(d);
    });
    child.on('close', (code, signal) => {
      resolve({ status: code ?? (signal ? 1 : 0), skips: pipe ? tapSkips(text) : undefined });
    });
  });
}

async function main(args) {
  const ci = process.env.CI === 'true';
  const allowSkip = process.env.ALLOW_REAL_SKIP === '1';
  const strict = ci && !allowSkip;
  if (strict) {
    const { missing } = realPreflight();
    if (!existsSync('dist/cli/main.js'))
      missing.push('dist/cli/main.js: not built (npm run build)');
    if (missing.length > 0) {
      console.error('test-real: CI=true and the real-LiteFS suite cannot run here; missing:');
      for (const m of missing) console.error(`  - ${m}`);
      console.error('test-real: (ALLOW_REAL_SKIP=1 lets a CI run skip it)');
      return 1;
    }
  }
  const dir = 'test/real';
  const files =
    args.length > 0
      ? args
      : readdirSync(dir)
          .filter((f) => f.endsWith('.test.ts'))
          .sort()
          .map((f) => join(dir, f));
  // tap's own reporter when a person watches outside CI; TAP, parsed for skips, otherwise.
  const pipe = strict || !process.stdout.isTTY;
  let failed = 0;
  const times = [];
  const skipped = [];
  for (const file of files) {
    const started = Date.now();
    const r = await runFile(file, pipe);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const skips = r.skips?.count ?? 0;
    const notes = [];
    if (r.status !== 0) notes.push('failed');
    if (skips > 0) {
      notes.push(`${skips} skipped${strict ? ', not allowed in CI' : ''}`);
      skipped.push(
        ...(r.skips?.lines.length ? r.skips.lines : ['(no # SKIP line)']).map(
          (l) => `${file}: ${l}`,
        ),
      );
    }
    times.push(`real-litefs: ${file} ${seconds}s${notes.length ? ` (${notes.join('; ')})` : ''}`);
    console.log(times.at(-1));
    if (r.status !== 0 || (strict && skips > 0)) failed += 1;
  }
  console.log(times.join('\n'));
  if (skipped.length > 0) {
    const why = strict
      ? 'CI=true: a CI run must run every real-LiteFS test (ALLOW_REAL_SKIP=1 allows skips)'
      : `allowed here (${ci ? 'ALLOW_REAL_SKIP=1' : 'CI is not true'})`;
    console.error(`test-real: skipped real-LiteFS tests, ${why}:`);
    for (const s of skipped) console.error(`  ${s}`);
  }
  return failed === 0 ? 0 : 1;
}

if (process.argv[1] && pathToFileURL(realpathSync(process.argv[1])).href === import.meta.url) {
  process.exitCode = await main(process.argv.slice(2));
}
