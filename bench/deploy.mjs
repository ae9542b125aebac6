// A rolling deploy on real LiteFS 0.5.11 (issue 11), three setups side by side in one run:
//
//   litefs-exec  LiteFS's own exec block: lease.promote: true, the migration `if-candidate`,
//                then the app (what the seed thread ran)
//   before       the supervisor as it was before issue 11: --promote --promote-when always
//                --handoff-timeout 0 (every start asks for the lease; a stopping primary just
//                stops, and LiteFS destroys the lease as it exits)
//   after        the supervisor with its defaults: --promote (new-version) and the handover on
//                stop (--handoff-timeout 1s)
//
// Each setup: three candidate nodes (node-a primary, node-b and node-c replicas) at version v1,
// then a rolling deploy to v2, the primary first (so that each setup stops a primary once),
// then the two others: stop (SIGINT to litefs, as Fly does), start with FLY_IMAGE_REF=v2, wait until
// healthy (the supervisor's /health, or for LiteFS's exec block the app's /healthz), next.
// Meanwhile a writer (bench/deploy-writer.mjs, its own process) commits one row every 10 ms
// through the mount of the node that is primary, and a watcher asks every node's /info every
// 10 ms. Printed: lease moves (and how many LiteFS took by a handoff), total and longest time
// with no primary, failed writes, migrations run.
//
// Needs root, /dev/fuse, fusermount3 and ../shared/litefs (testkit/real-litefs.ts says what is
// missing). Not part of npm test: `npm run bench:deploy` (BENCH_DEPLOY_SETUPS=after,before to
// pick setups; BENCH_RESTART_DELAY_MS, default 2000, is the pause between a node's stop and its
// start, where Fly replaces the machine).

import { fork } from 'node:child_process';
import { join } from 'node:path';
// The real-LiteFS harness (dev only, built to dist-testkit/ by npm run build:testkit).
import {
  createCluster,
  EXAMPLE,
  ROOT,
  realSkipReason,
  waitFor,
  withPeerHealth,
} from '../dist-testkit/testkit/real-litefs.js';

const SETUPS = ['litefs-exec', 'before', 'after'];
const MIGRATION_MARK = 'bench-migrate-run';
const RESTART_DELAY_MS = Number(process.env.BENCH_RESTART_DELAY_MS ?? 2000);

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
  const env = { FLY_IMAGE_REF: version };
  if (setup === 'litefs-exec') {
    n.configure({
      promote: true,
      env,
      exec: [
        {
          cmd: `sh -c "echo ${MIGRATION_MARK}; exec node ${join(EXAMPLE, 'migrate.mjs')}"`,
          ifCandidate: true,
        },
        { cmd: `node ${join(EXAMPLE, 'app.mjs')}` },
      ],
    });
    return;
  }
  const extra = setup === 'before' ? ['--promote-when', 'always', '--handoff-timeout', '0'] : [];
  n.configure({
    promote: false,
    env,
    exec: [{ cmd: withPeerHealth(c, c.supervisorCmd(n, { extra })) }],
  });
}

/** Resolves 'healthy', or 'exited' when its LiteFS exits first (a failed exec command). */
async function healthy(n, setup) {
  const exited = () => (n.running() ? false : 'exited');
  if (setup !== 'litefs-exec') {
    return waitFor(
      async () =>
        exited() ||
        ((await n.health('/health').catch(() => ({ status: 0 }))).status === 200 && 'healthy'),
      { timeoutMs: 60_000, intervalMs: 50, message: `${n.name} /health 200` },
    );
  }
  return waitFor(
    async () => {
      if (exited()) return 'exited';
      const url = /example app listening on (http:\/\/\S+)/.exec(n.output())?.[1];
      if (!url) return false;
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) }).catch(
        () => undefined,
      );
      await res?.arrayBuffer();
      return res?.status === 200 && 'healthy';
    },
    { timeoutMs: 60_000, intervalMs: 50, message: `${n.name} app /healthz 200` },
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

/** Which nodes say isPrimary, every 10 ms; tells the writer where to write. */
function watchPrimary(nodes, onPrimary) {
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
      onPrimary(primary);
      const spent = Date.now() - started;
      if (spent < 10) await new Promise((r) => setTimeout(r, 10 - spent));
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

async function runSetup(setup) {
  const { t, teardown } = owner();
  let c;
  try {
    c = await createCluster(t, ['node-a', 'node-b', 'node-c']);
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
    const writer = fork(join(ROOT, 'bench/deploy-writer.mjs'), [], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    let current = null;
    const watcher = watchPrimary(nodes, (p) => {
      const mount = p?.mountDir ?? null;
      if (mount !== current) {
        current = mount;
        writer.send({ mount });
      }
    });
    const started = Date.now();
    const crashes = [];
    await new Promise((r) => setTimeout(r, 1000));
    for (const n of order) {
      await n.stop('SIGINT', 15_000);
      // Fly replaces the machine between stop and start (seconds); an instant restart here
      // would let the stopped node win the election it just left.
      await new Promise((r) => setTimeout(r, RESTART_DELAY_MS));
      configure(c, n, setup, 'v2');
      await bringUp(n, setup, crashes);
    }
    await new Promise((r) => setTimeout(r, 1000));
    const deployMs = Date.now() - started;
    const watched = await watcher.stop();
    const counts = await new Promise((resolve) => {
      writer.once('message', resolve);
      writer.send({ stop: true });
    });

    const during = nodes.map((n) => n.allOutput().slice(offsets.get(n.name) ?? 0)).join('\n');
    if (process.env.BENCH_DUMP) {
      for (const n of nodes) console.error(`--- ${n.name} (${setup}) ---\n${n.output()}`);
    }
    const byHandoff = countIn(during, /acquiring existing lease from handoff/g);
    // LiteFS logs "primary lease acquired" after a handoff too.
    const byElection = countIn(during, /primary lease acquired/g) - byHandoff;
    const migrations =
      setup === 'litefs-exec'
        ? countIn(during, new RegExp(`^${MIGRATION_MARK}$`, 'gm'))
        : countIn(during, /event=migrate\.start\b/g);
    const timeline = watched.holders
      .map((h) => `${h.at - started}ms ${h.name ?? 'none'}`)
      .join(', ');
    return {
      setup,
      moves: watched.moves,
      byHandoff,
      byElection,
      gapTotalMs: watched.gaps.reduce((s, g) => s + g, 0),
      gapLongestMs: Math.max(0, ...watched.gaps),
      gaps: watched.gaps.length,
      attempts: counts.attempts,
      failed: counts.failed,
      migrations,
      deployMs,
      errors: counts.errors,
      crashes,
      setupCrashes,
      timeline,
    };
  } catch (err) {
    for (const n of c?.nodes ?? []) console.error(`--- ${n.name} ---\n${n.output().slice(-4000)}`);
    throw err;
  } finally {
    await teardown();
  }
}

function table(results) {
  const rows = [
    ['lease moves (seen by /info)', (r) => String(r.moves)],
    ['  taken by a handoff / by election', (r) => `${r.byHandoff} / ${r.byElection}`],
    ['time with no primary, total', (r) => `${r.gapTotalMs} ms`],
    ['time with no primary, longest', (r) => `${r.gapLongestMs} ms`],
    ['spells with no primary', (r) => String(r.gaps)],
    ['failed writes (of attempted)', (r) => `${r.failed} / ${r.attempts}`],
    ['migrations run', (r) => String(r.migrations)],
    ['starts that failed (LiteFS exited)', (r) => String(r.crashes.length)],
    ['deploy duration', (r) => `${(r.deployMs / 1000).toFixed(1)} s`],
  ];
  const head = ['', ...results.map((r) => r.setup)];
  const body = rows.map(([name, f]) => [name, ...results.map(f)]);
  const widths = head.map((_, i) => Math.max(...[head, ...body].map((row) => row[i].length)));
  const line = (row) => row.map((c, i) => c.padEnd(widths[i])).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

async function main() {
  const skip = realSkipReason();
  if (skip) {
    console.error(`bench:deploy needs real LiteFS: ${skip}`);
    process.exit(2);
  }
  const chosen = process.env.BENCH_DEPLOY_SETUPS?.split(',') ?? SETUPS;
  const results = [];
  for (const setup of chosen) {
    console.error(`running ${setup} ...`);
    results.push(await runSetup(setup));
  }
  console.log(
    `rolling deploy of 3 candidates on real LiteFS, writer every 10 ms (${new Date().toISOString()})`,
  );
  console.log(table(results));
  for (const r of results) {
    const errs = Object.entries(r.errors)
      .map(([k, v]) => `${v}x ${k}`)
      .join('; ');
    console.log(`${r.setup} primary over time: ${r.timeline}`);
    if (errs) console.log(`${r.setup} write errors: ${errs}`);
    for (const x of r.crashes) console.log(`${r.setup} failed start during the deploy: ${x}`);
    for (const x of r.setupCrashes) console.log(`${r.setup} failed start before the deploy: ${x}`);
  }
}

await main();
