// Memory account by module (docs/performance.md, "Memory, by module"): what the shipped bundle evaluates at start and
// as a synced replica at idle, and what each piece costs; then what each cut saves.
//
// 1. Phases: RSS of a bare `node` HTTP server, and of the supervisor (a synced replica of a fake
//    LiteFS) when the health API listens, when the app has started, and at idle.
// 2. By module: the bundle is rebuilt with the options of scripts/bundle-options.mjs into a temp
//    dir, and esbuild's `__commonJS` helper (which runs each CommonJS module's body once, on its
//    first require) is wrapped so that each module body runs between two forced full GCs: the
//    growth of the V8 heap across the body, minus that of the modules it requires, is what the
//    module itself keeps (its objects, closures and the bytecode compiled while it ran). ES
//    modules (our code, zod/mini, yaml) are hoisted by esbuild into their chunk's top level and
//    are not wrapped: they, and the source text of every chunk, are the "unattributed" rest.
// 3. RSS as a replica at idle split into V8 heap spaces, malloc, and pages of the node binary.
// 4. Cuts: the idle RSS with each cut undone (a variant build, or a preload), median of
//    BENCH_MEMORY_RUNS (default 3).
//
// `node bench/memory.mjs` (after npm run build) prints `name=value` lines and tables.

import { spawn } from 'node:child_process';
import {
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { FakeLitefs } from '../dist-testkit/testkit/fake-litefs.js';
import { bundleOptions, LAZY, NEVER_LOADED } from '../scripts/bundle-options.mjs';
import { IDLE_APP, litefsArgs, median, NODE, procStats, ROOT, tmp } from './lib.mjs';

const runs = Number(process.env.BENCH_MEMORY_RUNS ?? 3);
const idleMs = Number(process.env.BENCH_MEMORY_IDLE_MS ?? 10_000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes) => (bytes / 2 ** 20).toFixed(1);

// --- the preload that the supervisor runs with: samples and the module account ----------------
const PRELOAD = `
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import v8 from 'node:v8';
const out = process.env.MEM_OUT;
const records = [];
const stack = [];
let order = 0;
const heap = () => { globalThis.gc(); globalThis.gc(); return process.memoryUsage().heapUsed; };
if (process.env.MEM_ACCOUNT === '1') globalThis.__memAccount = (name, run) => {
  const frame = { name, order: order++, children: 0, depth: stack.length };
  const h0 = heap();
  stack.push(frame);
  try { return run(); } finally {
    stack.pop();
    const inclusive = heap() - h0;
    records.push({ name: frame.name, order: frame.order, depth: frame.depth, inclusive, exclusive: inclusive - frame.children });
    if (stack.length) stack.at(-1).children += inclusive;
  }
};
if (process.env.MEM_KEEP_TIERUP === '1') {
  // The "wasm tier-up" variant: the supervisor's --liftoff-only is ignored.
  v8.setFlagsFromString = () => {};
  syncBuiltinESMExports();
}
// Samples without forcing a GC (that would shrink the young generation and the RSS); once the
// parent creates <MEM_OUT>.gc, one last sample after full GCs, with the heap they leave.
let heapAfterGc;
const sample = () => {
  if (heapAfterGc === undefined && existsSync(out + '.gc')) heapAfterGc = heap();
  const m = process.memoryUsage();
  const h = v8.getHeapStatistics();
  const smaps = readFileSync('/proc/self/smaps_rollup', 'utf8');
  const kb = (k) => Number(new RegExp(k + ':\\\\s+(\\\\d+)').exec(smaps)?.[1] ?? 0) * 1024;
  const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }]));
  writeFileSync(out, JSON.stringify({ records, heapAfterGc, rss: m.rss, external: m.external, arrayBuffers: m.arrayBuffers, malloced: h.malloced_memory, peakMalloced: h.peak_malloced_memory, sharedClean: kb('Shared_Clean'), privateDirty: kb('Private_Dirty'), spaces }));
};
setInterval(sample, 250).unref();
`;

const work = mkdtempSync(join(tmpdir(), 'bench-memory-'));
const preload = join(work, 'preload.mjs');
writeFileSync(preload, PRELOAD);

// --- the bundle, instrumented, with optional cuts undone ----------------------------------------
async function buildVariant(
  name,
  { keepCompilers = false, wholeUndici = false, eagerRequires = false } = {},
) {
  // dist/cli/main.js reads ../../package.json for its version.
  const root = join(work, name);
  const outdir = join(root, 'x/cli');
  const plugins = [
    {
      name: 'variant',
      setup(b) {
        if (keepCompilers) {
          // Undo the cut: no compilersFactory, and the real compiler packages in the bundle.
          b.onLoad({ filter: /src\/http\/server\.ts$/ }, (args) => ({
            contents: readFileSync(args.path, 'utf8').replace(
              /\n\s*schemaController: \{ compilersFactory: NO_SCHEMA_COMPILERS \},/,
              '',
            ),
            loader: 'ts',
          }));
        }
      },
    },
    ...bundleOptions.plugins.map((p) =>
      trimVariant(p, { keepCompilers, wholeUndici, eagerRequires }),
    ),
  ];
  const result = await build({ ...bundleOptions, outdir, plugins, metafile: true });
  copyFileSync(join(ROOT, 'package.json'), join(root, 'package.json'));
  let wrapped = 0;
  for (const f of readdirSync(outdir)) {
    const path = join(outdir, f);
    const src = readFileSync(path, 'utf8');
    const next = src.replace(
      /var __commonJS=\(cb,mod\)=>function\(\)\{[^\n]*?catch\(e\)\{throw mod=0,e\}\};/,
      () => {
        wrapped++;
        return 'var __commonJS=(cb,mod)=>function(){if(mod)return mod.exports;const k=__getOwnPropNames(cb)[0];mod={exports:{}};try{globalThis.__memAccount?globalThis.__memAccount(k,()=>(0,cb[k])(mod.exports,mod)):(0,cb[k])(mod.exports,mod);return mod.exports}catch(e){throw mod=0,e}};';
      },
    );
    writeFileSync(path, next);
  }
  if (wrapped !== 1) {
    throw new Error(
      `expected esbuild's __commonJS helper once in the bundle, found it ${wrapped} times: esbuild changed its output; update bench/memory.mjs`,
    );
  }
  return { main: join(outdir, 'main.js'), metafile: result.metafile };
}

function trimVariant(plugin, { keepCompilers, wholeUndici, eagerRequires }) {
  return {
    name: plugin.name,
    setup(b) {
      plugin.setup({
        ...b,
        onResolve(opts, cb) {
          const filter = String(opts.filter);
          if (keepCompilers && NEVER_LOADED.some((p) => filter.includes(p.split('/').pop())))
            return;
          if (wholeUndici && filter.includes('undici')) return;
          if (eagerRequires && LAZY.some((l) => filter === String(new RegExp(`^${l.module}$`)))) {
            return;
          }
          b.onResolve(opts, cb);
        },
        onLoad: (opts, cb) => b.onLoad(opts, cb),
      });
    },
  };
}

// --- one supervisor as a synced replica: RSS at its phases, and the preload's last sample -------
async function replica(main, env = {}) {
  const fake = await FakeLitefs.start({ role: { replicaOf: 'primary-host' }, dbs: ['sqlite.db'] });
  const { dir, done } = tmp('memory');
  const out = join(dir, 'mem.json');
  const child = spawn(
    NODE,
    [
      '--expose-gc',
      '--import',
      preload,
      main,
      ...litefsArgs(fake, dir),
      '--health-addr',
      '127.0.0.1:0',
      '--',
      ...IDLE_APP,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env, MEM_OUT: out } },
  );
  const phases = {};
  let err = '';
  const seen = new Set();
  child.stderr.setEncoding('utf8').on('data', (d) => {
    err += d;
    for (const [event, phase] of [
      ['event=health.listen', 'listening'],
      ['event=app.started', 'app_started'],
    ]) {
      if (!seen.has(event) && err.includes(event)) {
        seen.add(event);
        phases[phase] = procStats(child.pid).rssBytes;
      }
    }
  });
  const t0 = performance.now();
  while (!seen.has('event=app.started')) {
    // With the account on, every module body runs between full GCs: slow.
    if (performance.now() - t0 > 120_000) throw new Error(`no app.started within 120 s:\n${err}`);
    await sleep(20);
  }
  await sleep(idleMs);
  phases.idle = procStats(child.pid).rssBytes;
  // Then the sample taken after full GCs (the RSS above was read before them).
  writeFileSync(`${out}.gc`, '');
  let sample;
  for (let i = 0; i < 100 && sample?.heapAfterGc === undefined; i++) {
    await sleep(100);
    sample = JSON.parse(readFileSync(out, 'utf8'));
  }
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
  await fake.close();
  done();
  return { phases, sample };
}

/** A bare `node` HTTP server: its RSS, and its heap after full GCs (printed on SIGTERM). */
async function bareNode() {
  const child = spawn(
    NODE,
    [
      '--expose-gc',
      '-e',
      "require('http').createServer((q,s)=>s.end('ok')).listen(0,'127.0.0.1');process.on('SIGTERM',()=>{gc();gc();console.log(process.memoryUsage().heapUsed);process.exit(0)})",
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => {
    out += d;
  });
  await sleep(1500);
  const rss = procStats(child.pid).rssBytes;
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
  return { rss, heapAfterGc: Number(out.trim()) };
}

// --- 1..3: the shipped bundle ---------------------------------------------------------------------
const shipped = await buildVariant('shipped');
const bare = [];
const reps = [];
for (let i = 0; i < runs; i++) {
  bare.push(await bareNode());
  reps.push(await replica(shipped.main));
}
const med = (f) => median(reps.map(f));
const account = (await replica(shipped.main, { MEM_ACCOUNT: '1' })).sample;
console.log('# phases (RSS, MB; median of runs)');
console.log(`memory_runs=${runs}`);
const bareRss = median(bare.map((b) => b.rss));
const bareHeap = median(bare.map((b) => b.heapAfterGc));
console.log(`memory_bare_node_rss_mb=${mb(bareRss)}`);
console.log(`memory_bare_node_heap_after_gc_mb=${mb(bareHeap)}`);
console.log(`memory_replica_listening_rss_mb=${mb(med((r) => r.phases.listening))}`);
console.log(`memory_replica_app_started_rss_mb=${mb(med((r) => r.phases.app_started))}`);
console.log(`memory_replica_idle_rss_mb=${mb(med((r) => r.phases.idle))}`);
console.log(`memory_replica_idle_over_bare_mb=${mb(med((r) => r.phases.idle) - bareRss)}`);

const last = reps.at(-1).sample;
console.log('# idle replica: where the RSS is (MB, last run, no account)');
console.log(`memory_idle_rss_after_gc_mb=${mb(last.rss)}`);
console.log(`memory_idle_node_binary_pages_mb=${mb(last.sharedClean)}`);
console.log(`memory_idle_private_dirty_mb=${mb(last.privateDirty)}`);
for (const [space, s] of Object.entries(last.spaces)) {
  if (s.size > 0)
    console.log(`memory_idle_v8_${space}_committed_mb=${mb(s.size)} used=${mb(s.used)}`);
}
console.log(`memory_idle_heap_used_after_gc_mb=${mb(last.heapAfterGc)}`);
console.log(`memory_idle_external_mb=${mb(last.external)}`);
console.log(`memory_idle_malloc_mb=${mb(last.malloced)} peak=${mb(last.peakMalloced)}`);

// By module and by package.
const records = account.records;
const attributed = records.filter((r) => r.depth === 0).reduce((a, r) => a + r.inclusive, 0);
console.log('# by module: heap kept by each CommonJS module body (KB, after full GCs)');
console.log(`memory_modules_evaluated=${records.length}`);
console.log(`memory_modules_attributed_mb=${mb(attributed)}`);
console.log(`memory_account_heap_after_gc_mb=${mb(account.heapAfterGc)}`);
console.log(
  `memory_unattributed_mb=${mb(account.heapAfterGc - attributed)} of which a bare node server's heap ${mb(bareHeap)}; the rest: ES modules, chunk sources, runtime state`,
);
const top = [...records].sort((a, b) => b.exclusive - a.exclusive).slice(0, 25);
for (const r of top) {
  console.log(`  ${(r.exclusive / 1024).toFixed(0).padStart(6)} KB  ${r.name}`);
}
const byPkg = {};
for (const r of records) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(r.name);
  const k = m ? m[1] : r.name;
  byPkg[k] = byPkg[k] ?? { kb: 0, modules: 0 };
  byPkg[k].kb += r.exclusive / 1024;
  byPkg[k].modules++;
}
console.log('# the same by package (KB, modules evaluated)');
for (const [k, v] of Object.entries(byPkg)
  .sort((a, b) => b[1].kb - a[1].kb)
  .slice(0, 15)) {
  console.log(`  ${v.kb.toFixed(0).padStart(6)} KB  ${String(v.modules).padStart(3)}  ${k}`);
}
// Bytes of source per output chunk that a replica loads (parsed at start, kept as strings).
console.log('# bundle chunks (KB of JavaScript; * = loaded by a replica)');
const subcommand = /src\/cli\/(help|check|status)\.ts$/;
for (const [out, o] of Object.entries(shipped.metafile.outputs).sort(
  (a, b) => b[1].bytes - a[1].bytes,
)) {
  const loaded = !Object.keys(o.inputs).some((i) => subcommand.test(i));
  const pkgs = {};
  for (const [inp, i] of Object.entries(o.inputs)) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(inp);
    const k = m ? m[1] : inp.split('/').slice(0, 2).join('/');
    pkgs[k] = (pkgs[k] ?? 0) + i.bytesInOutput;
  }
  const main = Object.entries(pkgs)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([k, v]) => `${k} ${(v / 1024).toFixed(0)}`)
    .join(', ');
  console.log(
    `${loaded ? '*' : ' '} ${(o.bytes / 1024).toFixed(0).padStart(5)} KB  ${out.split('/').pop()}: ${main}`,
  );
}

// --- 4: each cut undone ----------------------------------------------------------------------------
console.log('# cuts: idle RSS and heap with one cut undone (MB, median of runs)');
const variants = [
  ['shipped', shipped.main, {}],
  ['keep_schema_compilers', (await buildVariant('compilers', { keepCompilers: true })).main, {}],
  ['whole_undici', (await buildVariant('undici', { wholeUndici: true })).main, {}],
  ['eager_https_http2_semver', (await buildVariant('eager', { eagerRequires: true })).main, {}],
  ['wasm_tier_up', shipped.main, { MEM_KEEP_TIERUP: '1' }],
];
const shippedFig = { rss: med((r) => r.phases.idle), heap: med((r) => r.sample.heapAfterGc) };
for (const [name, main, env] of variants) {
  const rs = name === 'shipped' ? reps : [];
  for (let i = rs.length; i < runs; i++) rs.push(await replica(main, env));
  const rss = median(rs.map((r) => r.phases.idle));
  const heap = median(rs.map((r) => r.sample.heapAfterGc));
  console.log(
    `memory_cut_${name}_idle_rss_mb=${mb(rss)} heap_after_gc_mb=${mb(heap)} rss_saved_mb=${mb(rss - shippedFig.rss)} heap_saved_mb=${mb(heap - shippedFig.heap)} (min ${mb(Math.min(...rs.map((r) => r.phases.idle)))} max ${mb(Math.max(...rs.map((r) => r.phases.idle)))})`,
  );
}
rmSync(work, { recursive: true, force: true });
