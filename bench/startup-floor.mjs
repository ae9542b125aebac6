// What start-up within 1.5x of bare node would take (docs/performance.md, "Start-up and a compile
// cache"): prototypes that answer HTTP as soon as the options are parsed and the logger exists,
// from a plain node:http server (fastify not evaluated yet), built with the bundle's options;
// one with `yaml` left out (it is only needed when a YAML file is read: with --litefs-config
// none and no --config, none is). Timed like bench/startup.mjs against a bare `node` server and
// the shipped CLI, interleaved; CPU time at the first answer. Prints name=value lines.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { bundleOptions } from '../scripts/bundle-options.mjs';
import { CLI, freePort, median, NODE, procStats, ROOT, runs, tmp, until } from './lib.mjs';

const work = mkdtempSync(join(tmpdir(), 'bench-floor-'));
const src = (p) => JSON.stringify(join(ROOT, p));
writeFileSync(
  join(work, 'entry.ts'),
  `import http from 'node:http';
import { hostname } from 'node:os';
import { loadConfig, nodeReadFile, parseArgs } from ${src('src/config/load.ts')};
import { createLogger } from ${src('src/log/logger.ts')};
const parsed = parseArgs(process.argv.slice(2));
if (!parsed.ok || parsed.command !== 'run') throw new Error('bad arguments');
const loaded = loadConfig({ mode: 'run', options: parsed.options, command: parsed.app, env: process.env, cwd: process.cwd(), home: process.env.HOME, readFile: nodeReadFile, hostname: hostname() });
if (!loaded.ok) throw new Error('bad configuration');
const logger = createLogger({ format: loaded.config.logFormat, level: loaded.config.logLevel });
const addr = loaded.config.healthAddr;
http.createServer((q, s) => s.end('{"ok":true}')).listen(addr === 'off' ? 0 : addr.port, '127.0.0.1', () => logger.log('info', { event: 'health.listen' }, 'listening'));
`,
);
const noYaml = {
  name: 'no-yaml',
  setup(b) {
    b.onResolve({ filter: /^yaml$/ }, () => ({ path: 'yaml', namespace: 'no-yaml' }));
    b.onLoad({ filter: /.*/, namespace: 'no-yaml' }, () => ({
      contents: 'export function parseDocument() { throw new Error("yaml left out"); }',
      loader: 'js',
    }));
  },
};
for (const [name, plugins] of [
  ['early', bundleOptions.plugins],
  ['early_no_yaml', [noYaml, ...bundleOptions.plugins]],
]) {
  await build({
    ...bundleOptions,
    plugins,
    entryPoints: { main: join(work, 'entry.ts') },
    outdir: join(work, name),
  });
}

const cli = (main) => (port, d) => [
  main,
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
  bare: (port) => [
    '-e',
    `require('http').createServer((q,s)=>s.end('ok')).listen(${port},'127.0.0.1')`,
  ],
  shipped: cli(CLI),
  early_listener: cli(join(work, 'early/main.js')),
  early_listener_no_yaml: cli(join(work, 'early_no_yaml/main.js')),
};
const res = {};
for (let i = 0; i < runs; i++) {
  for (const [name, args] of Object.entries(variants)) {
    const port = await freePort();
    const { dir, done } = tmp('floor');
    const t0 = performance.now();
    const child = spawn(NODE, args(port, dir), { stdio: 'ignore' });
    const path = name === 'shipped' ? '/health/live' : '/';
    const t1 = await until(`http://127.0.0.1:${port}${path}`);
    res[name] = res[name] ?? [];
    res[name].push({ ms: t1 - t0, cpuMs: procStats(child.pid).cpuSeconds * 1000 });
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    done();
  }
}
const bareCpu = median(res.bare.map((r) => r.cpuMs));
for (const [name, xs] of Object.entries(res)) {
  const cpu = median(xs.map((r) => r.cpuMs));
  console.log(`floor_${name}_cpu_ms=${cpu.toFixed(0)}`);
  console.log(`floor_${name}_cpu_ratio=${(cpu / bareCpu).toFixed(2)}`);
  console.log(`floor_${name}_wall_ms=${median(xs.map((r) => r.ms)).toFixed(1)}`);
}
console.log(`floor_runs=${runs}`);
rmSync(work, { recursive: true, force: true });
