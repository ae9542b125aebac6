#!/usr/bin/env node
// What the real-LiteFS suite (test/real) needs on this machine, each checked and every missing
// one named: LiteFS (LITEFS_BIN, `litefs` on PATH or ../shared/litefs/litefs, and it runs), the
// Consul stand-in (CONSUL_STANDIN or ../shared/litefs/consul-standin.mjs), /dev/fuse,
// fusermount3 on PATH (Debian package fuse3) and root. `.ci/run` runs it before anything else
// (after trying to install fuse3), so a CI machine that cannot run the real suite fails there,
// naming what is missing, instead of skipping the proof on real LiteFS. The test harness
// (testkit/real-litefs.ts, realSkipReason) and scripts/test-real.mjs ask the same functions.
// Dependency-free: it runs before `npm ci`.
//
//   node scripts/real-preflight.mjs   exit 0: all present (listed on stdout);
//                                     exit 1: what is missing, one per line on stderr

import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, realpathSync, statSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** CI clones the repository next to `shared/`: resolve from the repo root, never from /work. */
export const SHARED_LITEFS = resolve(ROOT, '..', 'shared', 'litefs');

function executable(p) {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The first executable `name` on the PATH of `env`, or undefined. */
export function onPath(name, env = process.env) {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, name);
    if (executable(p)) return p;
  }
  return undefined;
}

/** The LiteFS binary: LITEFS_BIN, else `litefs` on PATH, else ../shared/litefs/litefs. */
export function findLitefs(env = process.env) {
  const fromEnv = env.LITEFS_BIN;
  if (fromEnv) {
    return executable(fromEnv)
      ? { bin: fromEnv }
      : { missing: `LiteFS: LITEFS_BIN=${fromEnv} is not an executable file` };
  }
  const path = onPath('litefs', env);
  if (path) return { bin: path };
  const shared = join(SHARED_LITEFS, 'litefs');
  if (executable(shared)) return { bin: shared };
  return {
    missing: `LiteFS: no binary (set LITEFS_BIN, put litefs on PATH, or provide ${shared})`,
  };
}

/** The Consul stand-in: CONSUL_STANDIN, else ../shared/litefs/consul-standin.mjs. */
export function findConsulStandin(env = process.env) {
  const p = env.CONSUL_STANDIN || join(SHARED_LITEFS, 'consul-standin.mjs');
  return existsSync(p)
    ? { script: p }
    : {
        missing: `the Consul stand-in: no ${p} (set CONSUL_STANDIN or provide ${join(SHARED_LITEFS, 'consul-standin.mjs')})`,
      };
}

/**
 * Every check, in order. `found` names what is present; `missing` has one line per thing that
 * is not, each starting with its name. Empty `missing`: the real suite can run here.
 */
export function realPreflight(env = process.env) {
  const found = [];
  const missing = [];
  if (process.platform !== 'linux') {
    missing.push(`Linux: real LiteFS needs it (this is ${process.platform})`);
  }
  const lfs = findLitefs(env);
  if ('missing' in lfs) missing.push(lfs.missing);
  else {
    // It must run here, not only exist (a binary for another architecture does not).
    const v = spawnSync(lfs.bin, ['version'], { encoding: 'utf8', timeout: 10_000, env });
    const version = `${v.stdout ?? ''}`.trim().split('\n')[0];
    if (v.status === 0 && version) found.push(`LiteFS ${lfs.bin} (${version})`);
    else {
      const why = v.error ? v.error.message : `exit ${v.status ?? v.signal}`;
      missing.push(`LiteFS: ${lfs.bin} version did not run (${why})`);
    }
  }
  const consul = findConsulStandin(env);
  if ('missing' in consul) missing.push(consul.missing);
  else found.push(`Consul stand-in ${consul.script}`);
  try {
    accessSync('/dev/fuse', constants.R_OK | constants.W_OK);
    found.push('/dev/fuse');
  } catch {
    missing.push('/dev/fuse: missing or not readable and writable');
  }
  const fusermount = onPath('fusermount3', env);
  if (fusermount) found.push(`fusermount3 ${fusermount}`);
  else missing.push('fusermount3: not on PATH (Debian package fuse3)');
  const uid = process.getuid?.();
  if (uid === 0) found.push('root');
  else missing.push(`root: FUSE mounts need root here (running as uid ${uid ?? 'unknown'})`);
  return { found, missing };
}

const main = process.argv[1] && pathToFileURL(realpathSync(process.argv[1])).href;
if (main === import.meta.url) {
  const { found, missing } = realPreflight();
  if (missing.length > 0) {
    console.error('real-preflight: the real-LiteFS suite (test/real) cannot run here; missing:');
    for (const m of missing) console.error(`  - ${m}`);
    process.exit(1);
  }
  console.log(`real-preflight: ok: ${found.join(', ')}`);
}
