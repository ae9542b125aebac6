// scripts/test-real.mjs (the real-LiteFS pass of npm test): a skipped file or subtest is seen in
// tap's output, and with CI=true it fails the run unless ALLOW_REAL_SKIP=1.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { realPreflight } from '../../scripts/real-preflight.mjs';
import { tapSkips } from '../../scripts/test-real.mjs';
import { CLI, ROOT } from '../../testkit/paths.js';

t.test('tapSkips: a whole file skipped, a subtest skipped, none', async (t) => {
  const fileSkipped = [
    'TAP version 14',
    '1..1',
    '# Subtest: test/real/app-ready.test.ts',
    '    # real LiteFS suite skipped: fusermount3: not on PATH (Debian package fuse3)',
    '    1..0 # fusermount3: not on PATH (Debian package fuse3)',
    'ok 1 - test/real/app-ready.test.ts # SKIP fusermount3: not on PATH (Debian package fuse3)',
    '',
    '# { total: 1, pass: 0, skip: 1 }',
  ].join('\n');
  t.same(tapSkips(fileSkipped), {
    count: 1,
    lines: [
      'ok 1 - test/real/app-ready.test.ts # SKIP fusermount3: not on PATH (Debian package fuse3)',
    ],
  });
  const subtest = [
    '    ok 1 - runs # time=3.474ms',
    '        ok 2 - inner # SKIP',
    '    ok 2 - skipped # SKIP the reason it gives',
    '# { total: 3, pass: 1, skip: 2 }',
  ].join('\n');
  t.same(tapSkips(subtest), {
    count: 2,
    lines: ['ok 2 - inner # SKIP', 'ok 2 - skipped # SKIP the reason it gives'],
  });
  t.same(tapSkips('    ok 1 - a\n# { total: 1, pass: 1 }\n'), { count: 0, lines: [] });
  t.same(tapSkips('    ok 1 - a # SKIP why\n'), { count: 1, lines: ['ok 1 - a # SKIP why'] });
});

const FIXTURE = 'test/fixtures/tap/skips-one.mjs';
/** The script on the fixture, with tap's own variables for this test process removed. */
function testReal(env: Record<string, string>) {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('TAP') && k !== 'NODE_OPTIONS' && k !== 'CI' && k !== 'ALLOW_REAL_SKIP') {
      base[k] = v;
    }
  }
  return spawnSync(process.execPath, [join(ROOT, 'scripts/test-real.mjs'), FIXTURE], {
    cwd: ROOT,
    env: { ...base, ...env },
    encoding: 'utf8',
  });
}

// With CI=true the script first runs the preflight: where the real suite cannot run at all,
// that (not the skip) ends the run, and real-preflight.test.ts covers it.
const { missing } = realPreflight();
if (!existsSync(CLI)) missing.push(`${CLI} not built`);
const cannotRun = missing.length > 0 ? { skip: `no real suite here: ${missing.join('; ')}` } : {};

t.test('CI=true: a skipped subtest fails the run, named with its reason', cannotRun, async (t) => {
  const run = testReal({ CI: 'true' });
  t.equal(run.status, 1, 'exit 1');
  t.match(
    run.stdout,
    /^real-litefs: test\/fixtures\/tap\/skips-one\.mjs [\d.]+s \(1 skipped, not allowed in CI\)$/m,
  );
  t.match(run.stderr, /test-real: skipped real-LiteFS tests, CI=true/);
  t.match(run.stderr, /skips-one\.mjs: ok 2 - skipped # SKIP the reason it gives/);
});

t.test(
  'CI=true with ALLOW_REAL_SKIP=1: the skip is listed, the run passes',
  cannotRun,
  async (t) => {
    const run = testReal({ CI: 'true', ALLOW_REAL_SKIP: '1' });
    t.equal(run.status, 0, 'exit 0');
    t.match(
      run.stdout,
      /^real-litefs: test\/fixtures\/tap\/skips-one\.mjs [\d.]+s \(1 skipped\)$/m,
    );
    t.match(
      run.stderr,
      /allowed here \(ALLOW_REAL_SKIP=1\):\n {2}\S+skips-one\.mjs: ok 2 - skipped # SKIP the reason it gives/,
    );
  },
);
