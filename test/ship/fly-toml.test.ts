// fly.example.toml against the supervisor and litefs.yml.example: the check that the supervisor
// answers is on its port and path, the check that affects routing is a service-level one, the
// stop timeouts leave LiteFS time to release the lease, the deploy waits out a migration, and
// the volume holds LiteFS's data dir and the supervisor's files.

import { posix } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { httpAddrPort } from '../../src/config/litefs-yml.js';
import type { Config } from '../../src/config/types.js';
import { parseDuration } from '../../src/core/duration.js';
import { loadExampleExec, readRepoFile } from './example-config.js';
import { parseToml, type TomlTable, type TomlValue } from './toml.js';

t.test('the TOML reader', async (t) => {
  const doc = parseToml(
    [
      '# comment',
      'app = "x" # trailing comment',
      "literal = 'C:\\path'",
      'n = 8_080',
      'f = 1.5',
      'yes = true',
      'list = [ "a", \'b\',',
      '  "c", ] # across lines',
      'dotted.key = "v"',
      'inline = { a = 1, "b c" = "d" }',
      'esc = "tab\\there \\u00e9"',
      '[mounts]',
      '  source = "data"',
      '[http_service]',
      '  internal_port = 8080',
      '  [[http_service.checks]]',
      '    path = "/a"',
      '  [[http_service.checks]]',
      '    path = "/b"',
      '[checks]',
      '  [checks.one]',
      '    port = 9090',
    ].join('\n'),
  );
  t.same(doc, {
    app: 'x',
    literal: 'C:\\path',
    n: 8080,
    f: 1.5,
    yes: true,
    list: ['a', 'b', 'c'],
    dotted: { key: 'v' },
    inline: { a: 1, 'b c': 'd' },
    esc: 'tab\there é',
    mounts: { source: 'data' },
    http_service: { internal_port: 8080, checks: [{ path: '/a' }, { path: '/b' }] },
    checks: { one: { port: 9090 } },
  });
  for (const bad of [
    'a = 1\na = 2',
    '[t]\n[t]',
    'a = """multi"""',
    'a = 1979-05-27',
    'a = "unterminated',
    'a = 1 b = 2',
    '[a\n',
  ]) {
    t.throws(() => parseToml(bad), JSON.stringify(bad));
  }
});

const fly = parseToml(readRepoFile('fly.example.toml'));
const example = loadExampleExec();
if (!example.loaded.ok) throw new Error('litefs.yml.example exec line refused');
const config: Config = example.loaded.config;

function table(v: TomlValue | undefined, name: string): TomlTable {
  if (typeof v !== 'object' || Array.isArray(v)) throw new Error(`${name} is not a table`);
  return v;
}

/** A fly.toml duration: a string with units ("10s", "15m"); a bare number is milliseconds. */
function ms(v: TomlValue | undefined, name: string): number {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') throw new Error(`${name} is not a duration`);
  const r = parseDuration(v);
  if (!r.ok) throw new Error(`${name}: ${r.error}`);
  return r.value;
}

/** kill_timeout: whole seconds as a number, or a duration string. */
function killTimeoutMs(v: TomlValue | undefined): number {
  return typeof v === 'number' ? v * 1000 : ms(v, 'kill_timeout');
}

// Time LiteFS needs after the supervisor exits: close its servers, unmount FUSE and release
// the Consul lease (cmd/litefs/main.go: it waits for the exec process, then Close()).
const LITEFS_RELEASE_MS = 2000;

t.test('the stop signal reaches the app and leaves LiteFS time to release the lease', async (t) => {
  // cmd/litefs/main.go: signal.Notify(signalCh, syscall.SIGINT, syscall.SIGTERM); any other
  // signal would not be forwarded to the supervisor.
  t.ok(['SIGINT', 'SIGTERM'].includes(fly.kill_signal as string), `kill_signal ${fly.kill_signal}`);
  const kill = killTimeoutMs(fly.kill_timeout);
  // Handover on stop: a primary first hands the lease over (at most --handoff-timeout), then stops.
  t.ok(
    kill >= config.handoffTimeout + config.shutdownTimeout + LITEFS_RELEASE_MS,
    `kill_timeout ${kill}ms >= --handoff-timeout ${config.handoffTimeout}ms + --shutdown-timeout ${config.shutdownTimeout}ms + ${LITEFS_RELEASE_MS}ms for LiteFS`,
  );
  t.ok(kill <= 300_000, 'kill_timeout within Fly maximum (300 s)');
  t.ok(
    example.argv.includes('--shutdown-timeout'),
    'the exec line states --shutdown-timeout, so the two numbers sit side by side',
  );
});

t.test("a top-level check asks the supervisor's /health on its port", async (t) => {
  const checks = Object.entries(table(fly.checks, 'checks')).map(
    ([name, v]) => [name, table(v, `checks.${name}`)] as const,
  );
  const health = config.healthAddr;
  if (health === 'off') throw new Error('health API off in the example');
  t.ok(['', '0.0.0.0', '::'].includes(health.host), 'listens on all interfaces (Fly requires it)');
  const found = checks.find(([, c]) => c.port === health.port);
  t.ok(found, `a [checks.*] on port ${health.port} (--health-addr)`);
  const c = found?.[1] ?? {};
  t.equal(c.type, 'http');
  t.equal(c.path, '/health', 'GET /health: 503 while waiting, migrating or fenced');
  t.equal(String(c.method ?? 'get').toLowerCase(), 'get');
  // A grace period longer than a minute is capped by Fly, so it cannot be what waits for a
  // long migration: [deploy] wait_timeout does (next test).
  t.ok(ms(c.grace_period, 'grace_period') <= 60_000, 'grace_period at most 1m');
  t.ok(ms(c.timeout, 'timeout') < ms(c.interval, 'interval'), 'timeout < interval');
});

t.test('the routing check is service-level, on the LiteFS proxy port', async (t) => {
  const svc = table(fly.http_service, 'http_service');
  const yml = parse(readRepoFile('litefs.yml.example')) as { proxy: { addr: string } };
  const proxyAddr = yml.proxy.addr;
  t.equal(svc.internal_port, httpAddrPort(proxyAddr), 'internal_port = proxy.addr port');
  const checks = svc.checks;
  t.ok(Array.isArray(checks) && checks.length > 0, '[[http_service.checks]] present');
  for (const c of Array.isArray(checks) ? checks : []) {
    const check = table(c, 'http_service.checks[]');
    // flyctl internal/appconfig/service.go ServiceHTTPCheck: no port field; the check goes to
    // internal_port.
    t.notOk('port' in check, 'a service check has no port of its own');
    t.equal(check.path, '/healthz', "the example app's health route");
    t.ok(ms(check.grace_period, 'grace_period') <= 60_000, 'grace_period at most 1m');
  }
  t.ok(readRepoFile('example/app.mjs').includes("pathname === '/healthz'"), 'the app serves it');
  t.equal(svc.auto_stop_machines, 'off', 'stopped machines would be invisible to --peers');
});

t.test('a deploy waits longer than a migration may take', async (t) => {
  const deploy = table(fly.deploy, 'deploy');
  t.equal(deploy.strategy, 'rolling', 'volumes rule out canary and bluegreen');
  t.equal(deploy.max_unavailable, 1);
  const wait = ms(deploy.wait_timeout, 'wait_timeout');
  t.ok(
    wait > config.migrateTimeout,
    `wait_timeout ${wait}ms > --migrate-timeout ${config.migrateTimeout}ms`,
  );
});

t.test('the volume holds data.dir, the state file and the backups', async (t) => {
  const mounts = table(fly.mounts, 'mounts');
  const dest = mounts.destination as string;
  t.equal(dest, posix.dirname(config.dataDir ?? ''), 'destination is the parent of data.dir');
  const on = (p: string | undefined) => p?.startsWith(`${dest}/`) === true;
  t.ok(on(config.dataDir), `data.dir ${config.dataDir}`);
  t.ok(on(config.stateFile), `--state-file ${config.stateFile}`);
  t.ok(on(config.backupDir), `--backup-dir ${config.backupDir}`);
  t.notOk(on(config.mountDir), 'the FUSE mount is not on the volume');
  t.type(fly.primary_region, 'string', 'primary_region (PRIMARY_REGION for lease.candidate)');
});
