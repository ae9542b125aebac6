// Shared helpers for the benchmarks: spawn the built CLI, wait for HTTP answers, read /proc,
// and print `name=value` lines with the median and the spread of repeated runs.

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const CLI = join(ROOT, 'dist/cli/main.js');
export const NODE = process.execPath;
/** An app that does nothing, forever, and exits 0 on SIGTERM/SIGINT. */
export const IDLE_APP = [
  NODE,
  '-e',
  "setInterval(()=>{},1<<30);for(const s of ['SIGTERM','SIGINT'])process.on(s,()=>process.exit(0))",
];

/** The supervisor's options for one fake LiteFS node; its state file and data dir in `dir`. */
export function litefsArgs(fake, dir) {
  return [
    '--litefs-config',
    'none',
    '--litefs-url',
    fake.url,
    '--mount-dir',
    fake.mountDir,
    '--data-dir',
    dir,
    '--db',
    'sqlite.db',
    '--state-file',
    join(dir, 'state.json'),
  ];
}

/** The supervisor's options in standalone mode (no LiteFS), everything in `dir`. */
export function standaloneArgs(dir) {
  return [
    '--standalone',
    '--litefs-config',
    'none',
    '--mount-dir',
    dir,
    '--db',
    'app.db',
    '--state-file',
    join(dir, 'state.json'),
  ];
}

export function tmp(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `bench-${prefix}-`));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** One GET; resolves with the status, or 0 when the connection failed. */
export function get(url, agent = false) {
  return new Promise((resolve) => {
    const req = http.get(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
  });
}

/** Poll a URL until it answers `status`; returns the time it first did (performance.now()). */
export async function until(url, status = 200, timeoutMs = 20_000) {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    if ((await get(url)) === status) return performance.now();
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms`);
}

export function spawnCli(args, opts = {}) {
  const child = spawn(NODE, [...(opts.nodeArgs ?? []), CLI, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LITEFS_SUPERVISOR_LOG_LEVEL: 'info', ...opts.env },
  });
  let err = '';
  const waiters = [];
  child.stderr.setEncoding('utf8').on('data', (d) => {
    err += d;
    for (const w of [...waiters]) {
      if (err.includes(w.text)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(performance.now());
      }
    }
  });
  const exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    exited,
    stderr: () => err,
    /** Resolves with performance.now() when stderr first contains `text`. */
    waitFor(text, timeoutMs = 20_000) {
      if (err.includes(text)) return Promise.resolve(performance.now());
      return new Promise((resolve, reject) => {
        const w = { text, resolve };
        waiters.push(w);
        setTimeout(
          () => reject(new Error(`no "${text}" within ${timeoutMs} ms; stderr:\n${err}`)),
          timeoutMs,
        ).unref();
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** CPU seconds (user+system) and RSS bytes of a process, from /proc. */
export function procStats(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpuSeconds: ticks / 100, rssBytes: rssKb * 1024 };
}

export function fdCount(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Print `name=median` plus `name_min`, `name_max` and the run count. */
export function report(name, values, unit, digits = 1) {
  const f = (x) => x.toFixed(digits);
  console.log(`${name}_${unit}=${f(median(values))}`);
  console.log(`${name}_${unit}_min=${f(Math.min(...values))}`);
  console.log(`${name}_${unit}_max=${f(Math.max(...values))}`);
  console.log(`${name}_runs=${values.length}`);
}

export const runs = Number(process.env.BENCH_RUNS ?? 7);
