// scripts/real-preflight.mjs (run by .ci/run before anything else): it fails naming every
// thing the real-LiteFS suite needs and this machine lacks, and passes where all are present.
import { spawnSync } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import t from 'tap';
import { ROOT } from '../../testkit/paths.js';
import { tmpDir } from '../helpers/wait.js';

const PREFLIGHT = join(ROOT, 'scripts/real-preflight.mjs');

/** Runs the preflight with exactly this environment (no PATH unless given). */
const preflight = (env: NodeJS.ProcessEnv) =>
  spawnSync(process.execPath, [PREFLIGHT], { cwd: ROOT, env, encoding: 'utf8' });

/** An executable shell script (run by /bin/sh, so it needs nothing on PATH). */
function script(path: string, body: string): string {
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

t.test('a PATH without fusermount3 (nor apt-get to install it): fails naming it', async (t) => {
  const dir = tmpDir(t);
  // LiteFS and the stand-in are present, so fusermount3 is the thing missing that is named.
  script(join(dir, 'litefs'), 'echo "LiteFS v0.5.11, commit=stub"');
  const standin = join(dir, 'consul-standin.mjs');
  writeFileSync(standin, '');
  const run = preflight({ PATH: dir, CONSUL_STANDIN: standin });
  t.equal(run.status, 1, 'exit 1');
  t.match(run.stderr, /real-preflight: the real-LiteFS suite \(test\/real\) cannot run here/);
  t.match(run.stderr, /^ {2}- fusermount3: not on PATH \(Debian package fuse3\)$/m);
  t.notMatch(run.stderr, /LiteFS:|Consul stand-in/, 'what is present is not named');
  t.equal(run.stdout, '', 'nothing on stdout');
});

t.test('every missing thing is named at once', async (t) => {
  const dir = tmpDir(t);
  const run = preflight({
    PATH: dir,
    LITEFS_BIN: join(dir, 'no-litefs'),
    CONSUL_STANDIN: join(dir, 'no-standin.mjs'),
  });
  t.equal(run.status, 1, 'exit 1');
  t.match(run.stderr, /- LiteFS: LITEFS_BIN=\S+no-litefs is not an executable file/);
  t.match(run.stderr, /- the Consul stand-in: no \S+no-standin\.mjs/);
  t.match(run.stderr, /- fusermount3: not on PATH/);
});

t.test('a LiteFS binary that does not run is named', async (t) => {
  const dir = tmpDir(t);
  const bin = script(join(dir, 'litefs'), 'exit 3');
  const run = preflight({ PATH: dir, LITEFS_BIN: bin });
  t.equal(run.status, 1, 'exit 1');
  t.match(run.stderr, /- LiteFS: \S+litefs version did not run \(exit 3\)/);
});

/** What this machine lacks for the real suite, checked here without the preflight's code. */
function lacking(): string[] {
  const out: string[] = [];
  const runs = (p: string | undefined) => {
    try {
      accessSync(p ?? '', constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  const path = (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '');
  const litefs =
    process.env.LITEFS_BIN ??
    [...path.map((d) => join(d, 'litefs')), join(ROOT, '../shared/litefs/litefs')].find(runs);
  if (!runs(litefs)) out.push('LiteFS');
  const standin = process.env.CONSUL_STANDIN || join(ROOT, '../shared/litefs/consul-standin.mjs');
  if (!existsSync(standin)) out.push('the Consul stand-in');
  try {
    accessSync('/dev/fuse', constants.R_OK | constants.W_OK);
  } catch {
    out.push('/dev/fuse');
  }
  if (!path.some((d) => runs(join(d, 'fusermount3')))) out.push('fusermount3');
  if (process.getuid?.() !== 0) out.push('root');
  if (process.platform !== 'linux') out.push('Linux');
  return out;
}

const lack = lacking();
t.test(
  'everything present: passes and lists what it found',
  lack.length > 0 ? { skip: `this machine lacks ${lack.join(', ')}` } : {},
  async (t) => {
    const run = preflight(process.env);
    t.equal(run.status, 0, `exit 0 ${run.stderr}`);
    t.match(
      run.stdout,
      /^real-preflight: ok: LiteFS \S+ \(LiteFS v[^)]+\), Consul stand-in \S+, \/dev\/fuse, fusermount3 \S+, root\n$/,
    );
    t.equal(run.stderr, '', 'nothing on stderr');
  },
);
