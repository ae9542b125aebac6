// Start-up with a V8 code cache, measured on this Node (docs/performance.md, "Start-up and a compile
// cache"). Node 20 caches compiled code only for scripts (vm.Script cachedData), not for ES
// modules, so this builds the CLI as one CommonJS bundle (the options of
// scripts/bundle-options.mjs, format cjs) into a temp dir with a small loader that compiles it
// through vm.Script with, or without, the cache; then times spawn to the first 200 from
// /health/live (standalone), interleaved with a bare `node` server and the shipped bundle, and
// reads each process's CPU time at that moment. Prints name=value lines; BENCH_RUNS (default 7).

import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { bundleOptions } from '../scripts/bundle-options.mjs';
import { CLI, freePort, median, NODE, procStats, ROOT, runs, tmp, until } from './lib.mjs';

const work = mkdtempSync(join(tmpdir(), 'bench-cache-'));
const dir = join(work, 'x/cli');
mkdirSync(dir, { recursive: true });
copyFileSync(join(ROOT, 'package.json'), join(work, 'package.json')); // ../../package.json
const { splitting, chunkNames, banner, outdir, entryPoints, ...rest } = bundleOptions;
await build({
  ...rest,
  entryPoints: [entryPoints.main],
  format: 'cjs',
  outfile: join(dir, 'main.cjs'),
  // main.ts reads its version through createRequire(import.meta.url).
  define: { 'import.meta.url': '__import_meta_url' },
  banner: { js: "const __import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
});
const LOADER = `'use strict';
const { readFileSync, writeFileSync, renameSync } = require('node:fs');
const vm = require('node:vm');
const Module = require('node:module');
const file = require('node:path').join(__dirname, 'main.cjs');
const cacheFile = file + '.cache';
let cachedData;
if (process.env.CACHE === '1') cachedData = readFileSync(cacheFile);
const source = readFileSync(file, 'utf8').replace(/^#!.*/, '');
const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
if (cachedData && script.cachedDataRejected) throw new Error('cache rejected');
const mod = { exports: {} };
script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(file), mod, file, __dirname);
// The cache holds what was compiled by then: the start-up path, once the health API listens.
if (process.env.MAKE_CACHE === '1') setTimeout(() => { writeFileSync(cacheFile + '.tmp', script.createCachedData()); renameSync(cacheFile + '.tmp', cacheFile); process.exit(0); }, 1500);
`;
writeFileSync(join(dir, 'loader.cjs'), LOADER);

const supervisorArgs = (port, d) => [
  '--standalone',
  '--litefs-config',
  'none',
  '--mount-dir',
  d,
  '--db',
  'a.db',
  '--state-file',
  join(d, 's.json'),
  '--health-addr',
  `127.0.0.1:${port}`,
  '--',
  NODE,
  '-e',
  'setInterval(()=>{},1<<30)',
];
const variants = {
  bare: (port) => ({
    args: ['-e', `require('http').createServer((q,s)=>s.end('ok')).listen(${port},'127.0.0.1')`],
    path: '/',
  }),
  shipped_esm: (port, d) => ({ args: [CLI, ...supervisorArgs(port, d)] }),
  cjs_code_cache: (port, d) => ({
    args: [join(dir, 'loader.cjs'), ...supervisorArgs(port, d)],
    env: { CACHE: '1' },
  }),
  cjs_no_cache: (port, d) => ({ args: [join(dir, 'loader.cjs'), ...supervisorArgs(port, d)] }),
};

async function once(name, extraEnv = {}) {
  const port = await freePort();
  const { dir: d, done } = tmp('cache');
  const v = variants[name](port, d);
  const t0 = performance.now();
  const child = spawn(NODE, v.args, {
    stdio: 'ignore',
    env: { ...process.env, ...v.env, ...extraEnv },
  });
  const t1 = await until(`http://127.0.0.1:${port}${v.path ?? '/health/live'}`);
  const cpuMs = procStats(child.pid).cpuSeconds * 1000;
  if (!extraEnv.MAKE_CACHE) child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
  done();
  return { ms: t1 - t0, cpuMs };
}

await once('cjs_no_cache', { MAKE_CACHE: '1' });
if (!existsSync(join(dir, 'main.cjs.cache'))) throw new Error('no cache was written');
const res = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (let i = 0; i < runs; i++) {
  for (const name of Object.keys(variants)) res[name].push(await once(name));
}
const bareCpu = median(res.bare.map((r) => r.cpuMs));
for (const [name, xs] of Object.entries(res)) {
  const cpu = median(xs.map((r) => r.cpuMs));
  console.log(`cache_${name}_cpu_ms=${cpu.toFixed(0)}`);
  console.log(`cache_${name}_cpu_ratio=${(cpu / bareCpu).toFixed(2)}`);
  console.log(`cache_${name}_wall_ms=${median(xs.map((r) => r.ms)).toFixed(1)}`);
  console.log(`cache_${name}_wall_ms_min=${Math.min(...xs.map((r) => r.ms)).toFixed(1)}`);
}
console.log(`cache_runs=${runs}`);
rmSync(work, { recursive: true, force: true });
