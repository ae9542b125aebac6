// biome-ignore-all lint/suspicious/noTemplateCurlyInString: litefs.yml's own ${VAR} syntax, in plain strings on purpose
// What `litefs-supervisor init --write` makes of an Epic Stack app's litefs.yml and of the seed
// incident's runs on two real LiteFS 0.5.11 nodes (the shipped-config test's way,
// test/real/shipped.test.ts): the file as init wrote it, with only what cannot exist on one test
// machine substituted outside the exec block (data.dir, the advertised URL, lease.hostname, and
// an http.addr per node; --peers with each node's health port), and the environment the Dockerfile and Fly give (LITEFS_DIR,
// DATABASE_*, INTERNAL_PORT, PORT, FLY_*). The commands are the apps' own lines: `node
// ./other/setup-swap.js` (a stand-in script at that path), `npx prisma migrate deploy` and `npm
// start` (stand-ins on PATH that log their argv and run the example's migration and app), and
// the seed's `sqlite3 $DATABASE_PATH "PRAGMA journal_mode = WAL;"` with the real sqlite3 CLI.

import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { waitFor } from '../helpers/wait.js';
import {
  CLI,
  createCluster,
  EXAMPLE,
  freePort,
  type LitefsNode,
  ROOT,
  skipUnlessReal,
} from './harness.js';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'init');

function lines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** Runs the built `litefs-supervisor init --write` on a copy of the fixture; the file it wrote. */
function initWrite(t: Test, fixture: string): string {
  const dir = t.testdir({ 'litefs.yml': readFileSync(join(FIXTURES, fixture), 'utf8') });
  const r = spawnSync(process.execPath, [CLI, 'init', '--write'], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: dir },
    encoding: 'utf8',
  });
  t.equal(r.status, 0, `init --write on ${fixture}: ${r.stderr}`);
  return readFileSync(join(dir, 'litefs.yml'), 'utf8');
}

/**
 * The example app laid out as an app directory (its migrations, better-sqlite3 resolvable), and
 * stand-ins for `npx` and `npm` on PATH, next to `litefs-supervisor`: each logs its argv.
 */
function appAndBin(base: string) {
  const app = join(base, 'app');
  mkdirSync(app, { recursive: true });
  for (const f of ['app.mjs', 'migrate.mjs', 'paths.mjs']) cpSync(join(EXAMPLE, f), join(app, f));
  cpSync(join(EXAMPLE, 'migrations'), join(app, 'migrations'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'));
  const bin = join(base, 'bin');
  mkdirSync(bin, { recursive: true });
  symlinkSync(CLI, join(bin, 'litefs-supervisor'));
  const stub = (name: string, body: string) => {
    writeFileSync(
      join(bin, name),
      `#!/bin/sh\nprintf '%s|' "$@" >> "$ARGV_LOG.${name}"\necho >> "$ARGV_LOG.${name}"\n${body}\n`,
    );
    chmodSync(join(bin, name), 0o755);
  };
  stub('npx', `exec "${process.execPath}" "${app}/migrate.mjs"`);
  stub('npm', `[ "$1" = start ] || exit 64\nexec "${process.execPath}" "${app}/app.mjs"`);
  return { app, bin };
}

/** The node's litefs.yml: init's file with what one test machine cannot share substituted. */
function forNode(t: Test, text: string, n: LitefsNode): string {
  const exec = text.slice(text.indexOf('\nexec:'));
  const out = `http:\n  addr: "127.0.0.1:${n.httpPort}"\n${text}`
    .replace("dir: '/data/litefs'", `dir: '${n.dataDir}'`)
    .replace(
      "advertise-url: 'http://${HOSTNAME}.vm.${FLY_APP_NAME}.internal:20202'",
      `advertise-url: '${n.url}'\n  hostname: '\${HOSTNAME}'`,
    );
  t.ok(out.endsWith(exec), `${n.name}: the exec block is init's, byte for byte`);
  t.notMatch(
    out,
    /\/data\/litefs|\.internal:20202/,
    `${n.name}: dirs and the advertised URL substituted`,
  );
  return out;
}

async function runTwoNodes(t: Test, fixture: string, expect: { setup: boolean; wal: boolean }) {
  const text = initWrite(t, fixture);
  const c = await createCluster(t, ['machine-a', 'machine-b']);
  const { bin } = appAndBin(c.dir);
  const argvLog = join(c.dir, 'argv');
  const setupLog = join(c.dir, 'setup.log');
  const ports = new Map<LitefsNode, { proxy: number; app: number }>();
  for (const n of c.nodes) {
    const p = { proxy: await freePort(), app: await freePort() };
    ports.set(n, p);
    // The Epic Stack's setup-swap.js, where its line expects it (LiteFS runs exec in its cwd).
    mkdirSync(join(n.dir, 'other'), { recursive: true });
    writeFileSync(
      join(n.dir, 'other', 'setup-swap.js'),
      "require('node:fs').appendFileSync(process.env.SETUP_LOG, `${process.env.HOSTNAME}\\n`);\n",
    );
    n.configure({
      configText: forNode(t, text, n),
      env: {
        PATH: `${bin}:${process.env.PATH}`,
        ARGV_LOG: argvLog,
        SETUP_LOG: setupLog,
        LITEFS_DIR: n.mountDir,
        DATABASE_FILENAME: 'app.db',
        DATABASE_PATH: join(n.mountDir, 'app.db'),
        CACHE_DATABASE_PATH: join(n.mountDir, 'cache.db'),
        INTERNAL_PORT: String(p.proxy),
        PORT: String(p.app),
        HOST: '127.0.0.1',
        NODE_ENV: 'production',
        FLY_REGION: 'ams',
        PRIMARY_REGION: 'ams',
        FLY_APP_NAME: 'epic-app',
        FLY_IMAGE_REF: 'registry.fly.io/epic-app:deployment-1',
        HOSTNAME: n.name,
        FLY_CONSUL_URL: `${c.consul.url}/some-token-path`,
        LITEFS_SUPERVISOR_HEALTH_ADDR: `127.0.0.1:${n.healthPort}`,
        // Each node's supervisor on its own health port (on Fly all answer on 9090).
        LITEFS_SUPERVISOR_PEERS: c.nodes.map((m) => `${m.url}#health=${m.healthPort}`).join(','),
      },
    });
  }
  const [a, b] = c.nodes as [LitefsNode, LitefsNode];
  a.start();
  await a.waitLog(/primary lease acquired/);
  b.start();
  for (const n of [a, b]) {
    await n.waitEvent('app.start', 40_000);
    await waitFor(async () => (await n.health('/health')).status === 200, {
      timeoutMs: 30_000,
      message: `${n.name} /health 200`,
    });
    t.same(
      n
        .records()
        .filter((r) => r.event === 'config.warning')
        .map((r) => r.msg),
      [],
      `${n.name}: init's file draws no warning`,
    );
    const events = n.events();
    if (expect.setup) {
      t.ok(
        events.indexOf('setup.done') !== -1 &&
          events.indexOf('setup.done') < events.indexOf('app.start'),
        `${n.name}: the swap setup ran before its app`,
      );
    }
  }
  if (expect.setup) {
    t.same(lines(setupLog).sort(), ['machine-a', 'machine-b'], 'the setup ran once on each node');
  }
  t.same(
    lines(`${argvLog}.npx`),
    ['prisma|migrate|deploy|'],
    'the migration ran once, with its argv',
  );
  t.same(lines(`${argvLog}.npm`), ['start|', 'start|'], 'the app started on both nodes');
  const migrated = c.nodes.filter((n) => n.events().includes('migrate.start'));
  t.same(
    migrated.map((n) => n.name),
    ['machine-a'],
    'migrations ran on the node that held the lease only',
  );
  if (expect.wal) {
    const mode = spawnSync('sqlite3', [join(a.mountDir, 'app.db'), 'PRAGMA journal_mode;'], {
      encoding: 'utf8',
    });
    t.equal(mode.stdout.trim(), 'wal', "the seed's WAL pragma ran on the primary's database");
    t.equal(
      a.records().filter((r) => r.event === 'migrate.done').length,
      3,
      'the three migrations of the seed succeeded',
    );
  }
  // The app through LiteFS's proxy on the primary; the replica receives the write.
  const primary = (await c.primary()) ?? a;
  const replica = primary === a ? b : a;
  await waitFor(async () => (await primary.health('/primary')).status === 200, {
    timeoutMs: 20_000,
    message: `${primary.name} /primary 200`,
  });
  const res = await fetch(`http://127.0.0.1:${ports.get(primary)!.proxy}/`);
  t.equal(res.status, 200, `GET / through the proxy on ${primary.name}`);
  await waitFor(() => replica.rows('visits') === 1, {
    timeoutMs: 10_000,
    message: `the visit on ${replica.name}`,
  });
  t.same(
    await primary.stop('SIGINT'),
    { code: 0, signal: null },
    `${primary.name} LiteFS exited 0`,
  );
  await replica.waitPrimary(15_000);
}

if (!skipUnlessReal(t)) {
  t.setTimeout(180_000);

  t.test('an Epic Stack app, converted by init, on two nodes', async (t) => {
    await runTwoNodes(t, 'epic-stack-litefs.yml', { setup: true, wal: false });
  });

  t.test("the seed incident's litefs.yml, converted by init, on two nodes", async (t) => {
    await runTwoNodes(t, 'seed-litefs.yml', { setup: false, wal: true });
  });
}
