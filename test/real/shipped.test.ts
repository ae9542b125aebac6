// What we ship runs as shipped, on two real LiteFS 0.5.11 nodes:
// litefs.yml.example as the config, the Dockerfile's runtime layout (the example app and its
// migrations in an app dir, `litefs-supervisor` on PATH, DATABASE_PATH/HOST/PORT/NODE_ENV), and
// the environment Fly sets (FLY_REGION, PRIMARY_REGION, FLY_APP_NAME, HOSTNAME, FLY_CONSUL_URL).
// Substituted, because they cannot exist on one test machine: absolute dirs (/litefs, /data,
// /app, /etc), ports (two nodes share 127.0.0.1), the advertised hostname (no .internal DNS),
// lease.hostname (both nodes share one OS hostname; LiteFS's default), and the supervisor's
// --health-addr and --peers (given in its environment: :9090 twice, and no .internal DNS).

import { cpSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
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

/** The Dockerfile's /app: the example's files and migrations, with better-sqlite3 resolvable. */
function appDir(base: string): string {
  const app = join(base, 'app');
  mkdirSync(app, { recursive: true });
  for (const f of ['app.mjs', 'migrate.mjs', 'paths.mjs']) cpSync(join(EXAMPLE, f), join(app, f));
  cpSync(join(EXAMPLE, 'migrations'), join(app, 'migrations'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'));
  return app;
}

/** `litefs-supervisor` on PATH, as the Dockerfile's symlink to the package's bin. */
function binDir(base: string): string {
  const bin = join(base, 'bin');
  mkdirSync(bin, { recursive: true });
  symlinkSync(CLI, join(bin, 'litefs-supervisor'));
  return bin;
}

if (!skipUnlessReal(t)) {
  t.setTimeout(120_000);

  t.test(
    'litefs.yml.example, the Dockerfile layout and Fly environment on two nodes',
    async (t) => {
      const c = await createCluster(t, ['machine-a', 'machine-b']);
      const shipped = readFileSync(join(ROOT, 'litefs.yml.example'), 'utf8');
      const app = appDir(c.dir);
      const bin = binDir(c.dir);
      const ports = new Map<LitefsNode, { proxy: number; app: number }>();
      for (const n of c.nodes) {
        const p = { proxy: await freePort(), app: await freePort() };
        ports.set(n, p);
        const data = join(n.dir, 'data');
        const text = shipped
          .replace('dir: "/litefs"', `dir: "${n.mountDir}"`)
          .replace('dir: "/data/litefs"', `dir: "${join(data, 'litefs')}"`)
          .replace('addr: ":20202"', `addr: "127.0.0.1:${n.httpPort}"`)
          .replace('addr: ":8080"', `addr: "127.0.0.1:${p.proxy}"`)
          .replace('target: "localhost:8081"', `target: "localhost:${p.app}"`)
          .replace(
            // biome-ignore lint/suspicious/noTemplateCurlyInString: litefs.yml's own ${VAR} syntax
            'advertise-url: "http://${HOSTNAME}.vm.${FLY_APP_NAME}.internal:20202"',
            `advertise-url: "${n.url}"\n  hostname: "\${HOSTNAME}"`,
          )
          .replaceAll('/app/', `${app}/`)
          .replace('--backup-dir /data/backups', `--backup-dir ${join(data, 'backups')}`);
        const settings = text
          .split('\n')
          .filter((l) => !l.trimStart().startsWith('#'))
          .join('\n');
        t.notMatch(
          settings,
          /dir: "\/litefs"|dir: "\/data\/|[ "]\/app\/|[ "]\/data\/backups|":20202"|":8080"|localhost:8081/,
          `${n.name}: every absolute dir and port substituted`,
        );
        n.configure({
          configText: text,
          env: {
            PATH: `${bin}:${process.env.PATH}`,
            FLY_REGION: 'ams',
            PRIMARY_REGION: 'ams',
            FLY_APP_NAME: 'litefs-example',
            HOSTNAME: n.name,
            FLY_CONSUL_URL: `${c.consul.url}/some-token-path`,
            NODE_ENV: 'production',
            DATABASE_PATH: join(n.mountDir, 'app.db'),
            HOST: '127.0.0.1',
            PORT: String(p.app),
            LITEFS_SUPERVISOR_HEALTH_ADDR: `127.0.0.1:${n.healthPort}`,
            LITEFS_SUPERVISOR_PEERS: c.peers(),
          },
        });
      }
      const [a, b] = c.nodes as [LitefsNode, LitefsNode];
      a.start();
      await a.waitLog(/primary lease acquired/);
      b.start();
      await a.waitEvent('app.start', 40_000);
      await b.waitEvent('app.start', 40_000);
      for (const n of [a, b]) {
        await waitFor(async () => (await n.health('/health')).status === 200, {
          timeoutMs: 20_000,
          message: `${n.name} /health 200`,
        });
        const warnings = n.records().filter((r) => r.event === 'config.warning');
        t.same(
          warnings.map((r) => r.msg),
          [],
          `${n.name}: the shipped config draws no warning`,
        );
        t.match(n.output(), /proxy server listening/, `${n.name}: LiteFS's proxy is up`);
      }
      const boot = (n: LitefsNode) =>
        n.records().filter((r) => r.event === 'migrate.start' && r.bootstrap === 'true').length;
      t.equal(boot(a), 1, 'machine-a initialised the new cluster: one bootstrap migration');
      t.equal(boot(b), 0, 'machine-b never bootstrapped');
      // As shipped, --promote is on every machine: machine-b asks for the lease once synced and,
      // as the new primary, runs the migrations again (none pending: nothing written). A later
      // issue ("deploys without a write gap") takes that on; here it is recorded, not hidden.
      const primary = (await c.primary()) ?? a;
      const replica = primary === a ? b : a;
      t.comment(
        `after both started the primary is ${primary.name}; migrate.start on machine-b: ${b.events().filter((e) => e === 'migrate.start').length}`,
      );
      await waitFor(async () => (await primary.health('/primary')).status === 200, {
        timeoutMs: 20_000,
        message: `${primary.name} /primary 200`,
      });

      // The app through LiteFS's proxy: a visit on the primary is written and replicated.
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`http://127.0.0.1:${ports.get(primary)!.proxy}/`);
        t.equal(res.status, 200, `GET / through the proxy on ${primary.name}`);
        t.match(await res.json(), { recorded: true });
      }
      t.equal(primary.rows('visits'), 3, `three visits on ${primary.name}`);
      await waitFor(() => replica.rows('visits') === 3, {
        timeoutMs: 10_000,
        message: `visits on ${replica.name}`,
      });
      t.equal(replica.rows('_migrations'), 2, 'both migrations replicated');
      const viaReplica = await fetch(`http://127.0.0.1:${ports.get(replica)!.proxy}/`);
      t.equal(viaReplica.status, 200, `GET / through the proxy on ${replica.name}`);
      t.match(await viaReplica.json(), { visits: 3, recorded: false }, 'a replica never writes');

      // Stop as Fly does (SIGINT): lease released, mount gone, the other machine takes over.
      t.same(
        await primary.stop('SIGINT'),
        { code: 0, signal: null },
        `${primary.name} LiteFS exited 0`,
      );
      t.notOk(primary.mounted(), `${primary.name} unmounted`);
      await replica.waitPrimary(10_000);
      t.equal(replica.rows('visits'), 3, 'no visit lost');
    },
  );
}
