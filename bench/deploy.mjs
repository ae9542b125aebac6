// A rolling deploy on real LiteFS 0.5.11, measured the way users feel it: their writes are HTTP
// requests to LiteFS's proxy, which sends every write to the primary's app (a replica answers
// `fly-replay: instance=<primary>` and Fly's edge replays it there; docs/litefs-facts.md,
// LiteFS's proxy and writes). So a write succeeds only when a primary exists *and its app
// listens*, and an app takes time to boot. Setups side by side in one run:
//
//   litefs-exec  LiteFS's own exec block: lease.promote: true, the migration `if-candidate`,
//                then the app (what the seed thread ran)
//   before       the supervisor without the deploy rules (README, What a deploy looks like now):
//                --promote --promote-when always --handoff-timeout 0
//   after        the supervisor with its defaults: --promote (new-version) and the handover on
//                stop (--handoff-timeout 1s)
//
// Each setup: three candidate nodes, each with LiteFS's proxy in front of
// test/fixtures/app-boot-delay.mjs (listens BENCH_APP_BOOT_MS after it starts, default 2000;
// commits each POST /write?key=K). A rolling deploy v1 -> v2 (FLY_IMAGE_REF), the primary first,
// then the two others: SIGINT to litefs (as Fly stops a machine), BENCH_RESTART_DELAY_MS (default
// 2000, Fly replacing the machine), start with v2, wait for what `fly deploy` waits for (every
// check of fly.example.toml: the supervisor's /health and the app's /healthz through the proxy;
// for the exec block the latter alone), next. A node takes users' writes from the moment it
// passed its checks until it is stopped (Fly's edge routes to machines passing their service
// check). Meanwhile testkit/http-writer.ts sends a uniquely keyed write every 10 ms to those
// nodes' proxies in turn, following fly-replay, and a watcher asks every node's /info every
// 20 ms (lease moves, time with no primary).
//
// Printed, and stored in bench/results/deploy-<UTC date-time>.txt: failed writes, the longest and
// total time without an acknowledged write, write latency, acknowledged writes missing from the
// final primary's database, lease moves, migrations and each one's wall time (from its
// migrate.start to its migrate.done line), the load average and the CPU.
//
// Needs root, /dev/fuse, fusermount3 and ../shared/litefs (testkit/real-litefs.ts says what is
// missing). Not part of npm test: `npm run bench:deploy` (BENCH_DEPLOY_SETUPS=after,before to
// pick setups; BENCH_LOG_DIR=dir keeps every node's output).

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startHttpWriter } from '../dist-testkit/testkit/http-writer.js';
// The real-LiteFS harness (dev only, built to dist-testkit/ by npm run build:testkit).
import {
  createCluster,
  EXAMPLE,
  FIXTURES,
  ROOT,
  realSkipReason,
  waitFor,
  withPeerHealth,
} from '../dist-testkit/testkit/real-litefs.js';

const SETUPS = ['litefs-exec', 'before', 'after'];
const RESTART_DELAY_MS = Number(process.env.BENCH_RESTART_DELAY_MS ?? 2000);
const APP_BOOT_MS = Number(process.env.BENCH_APP_BOOT_MS ?? 2000);
const WRITE_INTERVAL_MS = 10;
/** A gap between acknowledged writes this long counts as time without a write. */
const GAP_MS = 100;
const APP = `node ${join(FIXTURES, 'app-boot-delay.mjs')}`;
const MIGRATE = `node ${join(EXAMPLE, 'migrate.mjs')}`;

/** The harness's owner of a cluster (teardowns); the bench runs them itself. */
function owner() {
  const fns = [];
  const t = {
    teardown: (fn) => fns.push(fn),
    comment: (message) => {
      if (process.env.BENCH_VERBOSE) console.error(message);
    },
    passing: () => true,
  };
  return {
    t,
    async teardown() {
      for (const fn of fns.reverse()) await fn();
    },
  };
}

function configure(c, n, setup, version) {
  const env = { FLY_IMAGE_REF: version, BOOT_DELAY_MS: String(APP_BOOT_MS) };
  if (setup === 'litefs-exec') {
    // The supervisor's migrate.start/migrate.done lines, printed around the exec block's
    // migration so that both setups' migrations are timed the same way. No `$` in the line:
    // LiteFS expands variables in litefs.yml.
    n.configure({
      promote: true,
      env,
      exec: [
        {
          cmd: `sh -c "echo level=INFO event=migrate.start; ${MIGRATE} && echo level=INFO event=migrate.done"`,
          ifCandidate: true,
        },
        { cmd: APP },
      ],
    });
    return;
  }
  const extra = setup === 'before' ? ['--promote-when', 'always', '--handoff-timeout', '0'] : [];
  n.configure({
    promote: false,
    env,
    exec: [{ cmd: withPeerHealth(c, c.supervisorCmd(n, { extra, app: APP })) }],
  });
}

async function status(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/**
 * Resolves 'healthy' once every check `fly deploy` waits for passes (fly.example.toml: the
 * supervisor's /health, and /healthz through LiteFS's proxy), or 'exited' when LiteFS exits
 * first (a failed exec command).
 */
async function healthy(n, setup) {
  return waitFor(
    async () => {
      if (!n.running()) return 'exited';
      if (setup !== 'litefs-exec' && (await status(`${n.healthUrl}/health`)) !== 200) return false;
      return (await status(`${n.proxyUrl}/healthz`)) === 200 && 'healthy';
    },
    { timeoutMs: 60_000, intervalMs: 50, message: `${n.name} healthy` },
  );
}

/**
 * Start the node and wait until it is healthy. A LiteFS that exits first (its exec command
 * failed) is started again, as Fly restarts a machine whose main process exited; at most 3 times.
 */
async function bringUp(n, setup, crashes) {
  for (let attempt = 0; ; attempt++) {
    n.start();
    if ((await healthy(n, setup)) === 'healthy') return;
    crashes.push(`${n.name}: ${/ERROR: (.*)/.exec(n.output())?.[1] ?? 'LiteFS exited'}`);
    if (attempt >= 3) throw new Error(`${n.name} never came up: ${crashes.join('; ')}`);
  }
}

/** Which node says isPrimary, every 20 ms: lease moves and time with no primary. */
function watchPrimary(nodes) {
  let stopped = false;
  const holders = [];
  let gapSince;
  const gaps = [];
  const loop = (async () => {
    while (!stopped) {
      const started = Date.now();
      const answers = await Promise.all(
        nodes.map(async (n) => {
          if (!n.running()) return false;
          try {
            const res = await fetch(`${n.url}/info`, { signal: AbortSignal.timeout(300) });
            return (await res.json()).isPrimary === true;
          } catch {
            return false;
          }
        }),
      );
      const now = Date.now();
      const primary = nodes.find((_, i) => answers[i]);
      if (primary === undefined && gapSince === undefined) gapSince = now;
      if (primary !== undefined && gapSince !== undefined) {
        gaps.push(now - gapSince);
        gapSince = undefined;
      }
      const last = holders[holders.length - 1];
      if (last?.name !== primary?.name) holders.push({ at: now, name: primary?.name });
      const spent = Date.now() - started;
      if (spent < 20) await new Promise((r) => setTimeout(r, 20 - spent));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      if (gapSince !== undefined) gaps.push(Date.now() - gapSince);
      const named = holders.filter((h) => h.name !== undefined).map((h) => h.name);
      let moves = 0;
      for (let i = 1; i < named.length; i++) if (named[i] !== named[i - 1]) moves += 1;
      return { gaps, moves, holders };
    },
  };
}

const countIn = (text, re) => (text.match(re) ?? []).length;

/** Each migration since `since`: node, start, wall time from migrate.start to its end line. */
function migrationTimes(nodes, since) {
  const out = [];
  for (const n of nodes) {
    let start;
    for (const r of n.allRecords()) {
      if (Number(r.at) < since) continue;
      if (r.event === 'migrate.start') start = r;
      else if (start && /^migrate\.(done|fail|aborted)$/.test(r.event ?? '')) {
        out.push({
          node: n.name,
          at: Number(start.at),
          ms: Number(r.at) - Number(start.at),
          end: r.event.slice('migrate.'.length),
        });
        start = undefined;
      }
    }
    if (start) out.push({ node: n.name, at: Number(start.at), ms: undefined, end: 'no end line' });
  }
  return out.sort((a, b) => a.at - b.at);
}

/** Acknowledged writes that took over a second: how many, when sent, by whom served. */
function slowAcks(records, rel) {
  const slow = records.filter((w) => w.ok && w.settledAt - w.sentAt > 1000);
  if (slow.length === 0) return 'none';
  const by = {};
  for (const w of slow) by[w.servedBy] = (by[w.servedBy] ?? 0) + 1;
  const sent = slow.map((w) => rel(w.sentAt));
  return `${slow.length}, sent ${Math.min(...sent)}..${Math.max(...sent)}ms, served by ${Object.entries(
    by,
  )
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}`;
}

/** LiteFS's lease and snapshot lines within a second of `at`, as the bench read them. */
function leaseLines(nodes, at, rel) {
  const re = /handoff|snapshot|exiting primary|primary lease acquired|existing primary found/;
  return nodes
    .flatMap((n) =>
      n
        .allRecords()
        .filter((r) => Math.abs(Number(r.at) - at) <= 1000 && re.test(r.msg ?? ''))
        .map((r) => ({ at: Number(r.at), text: `${rel(Number(r.at))}ms ${n.name} "${r.msg}"` })),
    )
    .sort((a, b) => a.at - b.at)
    .map((x) => x.text)
    .join(', ');
}

/** Acknowledged keys that the final primary's `writes` table lacks. */
function missingOn(node, ackedKeys) {
  const conn = new Database(join(node.mountDir, 'app.db'), { readonly: true, timeout: 5000 });
  try {
    const have = new Set(conn.prepare('SELECT key FROM writes').pluck().all());
    return ackedKeys.filter((k) => !have.has(k));
  } finally {
    conn.close();
  }
}

async function runSetup(setup) {
  const { t, teardown } = owner();
  const loadAtStart = loadavg()[0];
  let c;
  try {
    c = await createCluster(t, ['node-a', 'node-b', 'node-c'], { proxy: true });
    const nodes = c.nodes;
    const [a, b, cc] = nodes;
    for (const n of nodes) configure(c, n, setup, 'v1');
    const setupCrashes = [];
    if (setup === 'litefs-exec') {
      // One after another, each healthy before the next: started together, a node promoting
      // itself while node-a migrates fails node-a's migration (read only replica) and LiteFS
      // exits, the exec block's own failure mode.
      await bringUp(a, setup, setupCrashes);
      await bringUp(b, setup, setupCrashes);
      await bringUp(cc, setup, setupCrashes);
    } else {
      // A new cluster: node-a takes the lease, and bootstraps once both peers answered (S3).
      a.start();
      await a.waitLog(/primary lease acquired/, 30_000);
      b.start();
      cc.start();
      for (const n of nodes) {
        if ((await healthy(n, setup)) !== 'healthy') throw new Error(`${n.name} exited`);
      }
    }
    // The primary may have moved while the others started (promote: true, --promote always).
    const first = await waitFor(async () => await c.primary(), {
      timeoutMs: 15_000,
      message: 'a primary before the deploy',
    });
    // The primary is replaced first (the case with a stopped primary), then the others.
    const order = [first, ...nodes.filter((n) => n !== first)];

    const offsets = new Map(nodes.map((n) => [n.name, n.allOutput().length]));
    const inService = new Set(nodes.map((n) => n.name));
    const writer = startHttpWriter({
      proxies: Object.fromEntries(nodes.map((n) => [n.name, n.proxyUrl])),
      entries: () => nodes.filter((n) => inService.has(n.name)).map((n) => n.name),
      intervalMs: WRITE_INTERVAL_MS,
      durationMs: 10 * 60_000,
      gapMs: GAP_MS,
    });
    const watcher = watchPrimary(nodes);
    const started = Date.now();
    const rel = (at) => at - started;
    const steps = [];
    const step = (what) => steps.push(`${Date.now() - started}ms ${what}`);
    const crashes = [];
    await new Promise((r) => setTimeout(r, 1000));
    for (const n of order) {
      inService.delete(n.name);
      step(`stop ${n.name}`);
      await n.stop('SIGINT', 15_000);
      step(`${n.name} stopped`);
      // Fly replaces the machine between stop and start (seconds); an instant restart here
      // would let the stopped node win the election it just left.
      await new Promise((r) => setTimeout(r, RESTART_DELAY_MS));
      configure(c, n, setup, 'v2');
      step(`start ${n.name}`);
      await bringUp(n, setup, crashes);
      step(`${n.name} healthy`);
      inService.add(n.name);
    }
    await new Promise((r) => setTimeout(r, 1000));
    const deployMs = Date.now() - started;
    const writes = await writer.stop();
    const watched = await watcher.stop();

    const final = await waitFor(async () => await c.primary(), {
      timeoutMs: 15_000,
      message: 'a primary after the deploy',
    });
    const missing = missingOn(final, writes.ackedKeys);

    const during = nodes.map((n) => n.allOutput().slice(offsets.get(n.name) ?? 0)).join('\n');
    if (process.env.BENCH_DUMP) {
      for (const n of nodes) console.error(`--- ${n.name} (${setup}) ---\n${n.output()}`);
    }
    if (process.env.BENCH_LOG_DIR) {
      // Every node's whole output, each line prefixed with when the bench read it (ms since the
      // deploy started), to read a run's surprises afterwards.
      mkdirSync(process.env.BENCH_LOG_DIR, { recursive: true });
      for (const n of nodes) {
        const lines = n.allRecords().map((r) => `${rel(Number(r.at))} ${JSON.stringify(r)}`);
        writeFileSync(join(process.env.BENCH_LOG_DIR, `${setup}-${n.name}.log`), lines.join('\n'));
        writeFileSync(join(process.env.BENCH_LOG_DIR, `${setup}-${n.name}.out`), n.allOutput());
      }
    }
    const byHandoff = countIn(during, /acquiring existing lease from handoff/g);
    // LiteFS logs "primary lease acquired" after a handoff too.
    const byElection = countIn(during, /primary lease acquired/g) - byHandoff;
    return {
      setup,
      writes,
      missing: missing.length,
      missingDetail: writes.records
        .filter((w) => missing.includes(w.key))
        .map(
          (w) =>
            `${w.key} sent ${rel(w.sentAt)}ms, acked ${rel(w.settledAt)}ms by ${w.servedBy}; LiteFS around it: ${leaseLines(nodes, w.settledAt, rel)}`,
        ),
      slow: slowAcks(writes.records, rel),
      moves: watched.moves,
      byHandoff,
      byElection,
      gapTotalMs: watched.gaps.reduce((s, g) => s + g, 0),
      gapLongestMs: Math.max(0, ...watched.gaps),
      migrations: migrationTimes(nodes, started),
      deployMs,
      crashes,
      setupCrashes,
      loadAtStart,
      loadAtEnd: loadavg()[0],
      timeline: watched.holders.map((h) => `${rel(h.at)}ms ${h.name ?? 'none'}`).join(', '),
      steps: steps.join(', '),
      stretches: writes.noAck.stretches.map((s) => `${rel(s.from)}..${rel(s.to)}ms`).join(', '),
      rel,
    };
  } catch (err) {
    for (const n of c?.nodes ?? []) console.error(`--- ${n.name} ---\n${n.output().slice(-4000)}`);
    throw err;
  } finally {
    await teardown();
  }
}

function table(results) {
  const ms = (v) => (v === undefined ? '?' : `${v} ms`);
  const rows = [
    ['failed writes (of sent)', (r) => `${r.writes.failed} / ${r.writes.attempts}`],
    ['time without an acked write, longest', (r) => ms(r.writes.noAck.longestMs)],
    [`  total (gaps of ${GAP_MS} ms or more)`, (r) => ms(r.writes.noAck.totalMs)],
    ['  such gaps', (r) => String(r.writes.noAck.stretches.length)],
    [
      'acked write latency p50 / p99 / max',
      (r) => `${r.writes.latency.p50} / ${r.writes.latency.p99} / ${r.writes.latency.max} ms`,
    ],
    ['acked writes missing on final primary', (r) => String(r.missing)],
    ['lease moves (seen by /info)', (r) => String(r.moves)],
    ['  taken by a handoff / by election', (r) => `${r.byHandoff} / ${r.byElection}`],
    ['time with no primary, longest / total', (r) => `${r.gapLongestMs} / ${r.gapTotalMs} ms`],
    ['migrations run', (r) => String(r.migrations.length)],
    ['migration wall time, each', (r) => r.migrations.map((m) => ms(m.ms)).join(', ') || '-'],
    ['starts that failed (LiteFS exited)', (r) => String(r.crashes.length)],
    ['deploy duration', (r) => `${(r.deployMs / 1000).toFixed(1)} s`],
    [
      'load average 1m, start / end',
      (r) => `${r.loadAtStart.toFixed(1)} / ${r.loadAtEnd.toFixed(1)}`,
    ],
  ];
  const head = ['', ...results.map((r) => r.setup)];
  const body = rows.map(([name, f]) => [name, ...results.map(f)]);
  const widths = head.map((_, i) => Math.max(...[head, ...body].map((row) => row[i].length)));
  const line = (row) =>
    row
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(head), ...body.map(line)].join('\n');
}

function stamp(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}-${p(d.getUTCHours())}-${p(d.getUTCMinutes())}`;
}

async function main() {
  const skip = realSkipReason();
  if (skip) {
    console.error(`bench:deploy needs real LiteFS: ${skip}`);
    process.exit(2);
  }
  const runStart = new Date();
  const loadStart = loadavg();
  const chosen = process.env.BENCH_DEPLOY_SETUPS?.split(',') ?? SETUPS;
  const results = [];
  for (const setup of chosen) {
    console.error(`running ${setup} ...`);
    results.push(await runSetup(setup));
  }
  const cpu = cpus();
  const out = [
    `rolling deploy of 3 candidates on real LiteFS, HTTP writes through LiteFS's proxy every ${WRITE_INTERVAL_MS} ms`,
    `started ${runStart.toISOString()}, took ${((Date.now() - runStart) / 1000).toFixed(0)} s; app boot ${APP_BOOT_MS} ms, restart delay ${RESTART_DELAY_MS} ms`,
    `machine: ${cpu.length} x ${cpu[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`,
    `load average 1/5/15m at start ${loadStart.map((l) => l.toFixed(1)).join(' ')}, at end ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
    '',
    table(results),
    '',
  ];
  for (const r of results) {
    const reasons = Object.entries(r.writes.failures)
      .map(([k, v]) => `${v}x ${k}`)
      .join('; ');
    out.push(`${r.setup} deploy steps: ${r.steps}`);
    out.push(`${r.setup} primary over time: ${r.timeline}`);
    out.push(`${r.setup} no acked write: ${r.stretches || 'never'}`);
    if (reasons) out.push(`${r.setup} failed writes: ${reasons}`);
    out.push(
      `${r.setup} migrations: ${
        r.migrations
          .map((m) => `${m.node} at ${r.rel(m.at)}ms ${m.ms ?? '?'} ms (${m.end})`)
          .join(', ') || 'none'
      }`,
    );
    out.push(
      `${r.setup} writes served by: ${Object.entries(r.writes.servedBy)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')} (${r.writes.replayed} replayed)`,
    );
    out.push(`${r.setup} acked writes slower than 1 s: ${r.slow}`);
    for (const x of r.missingDetail)
      out.push(`${r.setup} acked but missing on the final primary: ${x}`);
    for (const x of r.crashes) out.push(`${r.setup} failed start during the deploy: ${x}`);
    for (const x of r.setupCrashes) out.push(`${r.setup} failed start before the deploy: ${x}`);
    out.push('');
  }
  const text = out.join('\n');
  console.log(text);
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `deploy-${stamp(runStart)}.txt`);
  writeFileSync(file, text);
  console.error(`stored in ${file}`);
}

await main();
