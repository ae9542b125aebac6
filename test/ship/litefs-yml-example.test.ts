// biome-ignore-all lint/suspicious/noTemplateCurlyInString: LiteFS's ${...} text is what these tests feed in.
// litefs.yml.example: LiteFS can read it (known keys only), the candidate expression expands as
// intended, LiteFS splits its exec line into an argv the supervisor's own parser accepts, and
// the supervisor loads the whole thing without a single warning.

import t from 'tap';
import { parseDocument } from 'yaml';
import { expandLitefsEnv } from '../../src/config/litefs-yml.js';
import { loadConfig, parseArgs } from '../../src/config/load.js';
import { shellwords } from '../../src/config/shellwords.js';
import { exampleFacts, flyEnv, loadExampleExec, readRepoFile } from './example-config.js';

t.test('shellwords splits like go-shellwords v1.0.12 (what LiteFS uses for exec)', async (t) => {
  const rows: [line: string, args: string[], rest?: string][] = [
    ['a b  c', ['a', 'b', 'c']],
    ['  leading and trailing  ', ['leading', 'and', 'trailing']],
    ['tabs\tand\nnewlines', ['tabs', 'and', 'newlines']],
    ['--migrate "npx prisma migrate deploy"', ['--migrate', 'npx prisma migrate deploy']],
    ['--migrate \'a "b" c\'', ['--migrate', 'a "b" c']],
    ['"PRAGMA journal_mode = WAL;"', ['PRAGMA journal_mode = WAL;']],
    ['x"y z"w', ['xy zw']],
    ['empty "" and \'\' args', ['empty', '', 'and', '', 'args']],
    ['back\\ slash', ['back slash']],
    ['"in \\"double\\" quotes"', ['in "double" quotes']],
    ['"\\n is n, not a newline"', ['n is n, not a newline']],
    ["'single \\ keeps backslash'", ['single \\ keeps backslash']],
    ['$VAR and ${VAR} are not expanded', ['$VAR', 'and', '${VAR}', 'are', 'not', 'expanded']],
    ['echo $(date) x', ['echo', '$(date)', 'x']],
    ['a `b c` d', ['a', '`b c`', 'd']],
    // Operators end the command: LiteFS silently runs only what came before.
    ['migrate && npm start', ['migrate'], '&& npm start'],
    ['a; b', ['a'], '; b'],
    ['a | b', ['a'], '| b'],
    ['a 2>/dev/null', ['a'], '>/dev/null'],
    ['a > out', ['a'], '> out'],
    ['"a && b" c', ['a && b', 'c']],
  ];
  for (const [line, args, rest = ''] of rows) {
    const r = shellwords(line);
    t.same(r, { ok: true, args, rest }, line);
  }
  for (const bad of ['"unclosed', "'unclosed", 'trailing\\', 'a (b)', 'a $(b', 'a `b', 'a ) b']) {
    t.same(shellwords(bad), { ok: false, error: 'invalid command line string' }, bad);
  }
});

// The keys LiteFS's Config struct accepts (superfly/litefs cmd/litefs/config.go, v0.5.x):
// UnmarshalConfig decodes with KnownFields(true), so any other key stops `litefs mount`.
const LITEFS_KEYS: Record<string, Set<string> | null> = {
  'exit-on-error': null,
  'skip-sync': null,
  'strict-verify': null,
  exec: null,
  data: new Set(['dir', 'compress', 'retention', 'retention-monitor-interval']),
  fuse: new Set(['dir', 'allow-other', 'debug']),
  http: new Set(['addr', 'snapshot-timeout']),
  proxy: new Set([
    'addr',
    'target',
    'db',
    'max-lag',
    'debug',
    'passthrough',
    'always-forward',
    'primary-redirect-timeout',
    'read-timeout',
    'read-header-timeout',
    'write-timeout',
    'idle-timeout',
  ]),
  lease: new Set([
    'type',
    'hostname',
    'advertise-url',
    'candidate',
    'promote',
    'reconnect-delay',
    'demote-delay',
    'databases',
    'consul',
  ]),
  backup: new Set(['type', 'path', 'url', 'cluster', 'auth-token']),
  log: new Set(['format', 'timestamp', 'debug']),
  tracing: new Set(['enabled', 'path', 'max-size', 'max-count', 'compress']),
};
const CONSUL_KEYS = new Set(['url', 'key', 'ttl', 'lock-delay']);
const EXEC_KEYS = new Set(['cmd', 'if-candidate']);

t.test('litefs.yml.example uses only keys LiteFS knows (it refuses unknown ones)', async (t) => {
  const env = flyEnv();
  const doc = parseDocument(expandLitefsEnv(readRepoFile('litefs.yml.example'), (n) => env[n]));
  t.same(doc.errors, [], 'valid YAML after expansion');
  const root = doc.toJS() as Record<string, unknown>;
  for (const [key, value] of Object.entries(root)) {
    t.ok(key in LITEFS_KEYS, `top-level key ${key}`);
    const allowed = LITEFS_KEYS[key];
    if (allowed && value && typeof value === 'object') {
      for (const sub of Object.keys(value)) t.ok(allowed.has(sub), `${key}.${sub}`);
    }
  }
  const consul = (root.lease as Record<string, unknown>).consul as Record<string, unknown>;
  for (const k of Object.keys(consul)) t.ok(CONSUL_KEYS.has(k), `lease.consul.${k}`);
  for (const entry of root.exec as Record<string, unknown>[]) {
    for (const k of Object.keys(entry)) t.ok(EXEC_KEYS.has(k), `exec[].${k}`);
    t.notOk('if-candidate' in entry, 'the supervisor decides where things run, not if-candidate');
  }
  t.match(consul.url, /^https:\/\//, 'consul url expanded from FLY_CONSUL_URL');
  t.equal(consul.key, 'litefs/my-litefs-app');
  t.equal(
    (root.lease as Record<string, unknown>)['advertise-url'],
    'http://148e21ea7e3e89.vm.my-litefs-app.internal:20202',
  );
});

t.test('candidate is true only in the primary region; LiteFS never promotes', async (t) => {
  const primary = exampleFacts(flyEnv({ FLY_REGION: 'sjc', PRIMARY_REGION: 'sjc' }));
  t.equal(primary.leaseCandidate, true, 'FLY_REGION == PRIMARY_REGION');
  const other = exampleFacts(flyEnv({ FLY_REGION: 'ams', PRIMARY_REGION: 'sjc' }));
  t.equal(other.leaseCandidate, false, 'FLY_REGION != PRIMARY_REGION');
  for (const f of [primary, other]) {
    t.equal(f.leasePromote, false);
    t.equal(f.leaseType, 'consul');
    t.equal(f.fuseDir, '/litefs');
    t.equal(f.dataDir, '/data/litefs');
    t.equal(f.httpAddr, ':20202');
    t.equal(f.proxyDb, 'app.db');
    t.equal(f.execCommands.length, 1, 'one exec command: the supervisor');
  }
});

t.test('LiteFS splits the exec line into an argv the CLI accepts, nothing dropped', async (t) => {
  const { argv, dropped, loaded } = loadExampleExec();
  t.equal(argv[0], 'litefs-supervisor', 'LiteFS runs the supervisor (found on PATH)');
  t.equal(dropped, '', 'no unquoted ; & | < > cutting the line short');
  t.ok(argv.includes('--'), 'the app command follows --');
  if (!loaded.ok) {
    t.fail(`loadConfig refused it: ${loaded.errors.map((e) => e.message).join('; ')}`);
    return;
  }
  t.same(loaded.warnings, [], 'no warnings at all (promote, exec, litefs.yml)');
  const c = loaded.config;
  t.equal(c.litefsConfig, '/etc/litefs.yml', 'found by the search order, like LiteFS');
  t.equal(c.promote, true, '--promote: sync-first promotion');
  t.same(c.migrate, ['node /app/migrate.mjs'], '--migrate is one shell command');
  t.equal(c.backupDir, '/data/backups', '--backup-dir on the volume');
  t.same(c.db, ['app.db']);
  t.same(c.command, ['node', '/app/app.mjs']);
  // Defaults that come from litefs.yml, so they match what LiteFS uses.
  t.equal(c.mountDir, '/litefs');
  t.equal(c.dataDir, '/data/litefs');
  t.equal(c.litefsUrl, 'http://127.0.0.1:20202');
  t.equal(c.stateFile, '/data/litefs-supervisor.json', 'state file next to data.dir');
  t.equal(c.peers, 'my-litefs-app.internal', 'peers from FLY_APP_NAME');
  t.same(c.healthAddr, { host: '', port: 9090 }, 'health API on all interfaces for Fly');
  t.equal(loaded.litefsYml?.proxyDb, c.db[0], '--db is the proxy database');
});

t.test('the same line also loads on a machine outside the primary region', async (t) => {
  const { loaded } = loadExampleExec(flyEnv({ FLY_REGION: 'ams' }));
  t.ok(loaded.ok && loaded.warnings.length === 0, 'no warnings on a non-candidate either');
});

t.test('the check has teeth: the incident config gets its warnings', async (t) => {
  // The seed incident's litefs.yml (shortened): promote: true, a multi-command exec block, and
  // no reconnect-delay (LiteFS's 1s).
  const incident = [
    'fuse:',
    "  dir: '/litefs/data'",
    'data:',
    "  dir: '/data/litefs'",
    'lease:',
    "  type: 'consul'",
    '  candidate: ${FLY_REGION == PRIMARY_REGION}',
    '  promote: true',
    'exec:',
    '  - cmd: npx prisma migrate deploy',
    '    if-candidate: true',
    '  - cmd: litefs-supervisor --db sqlite.db -- npm start',
  ].join('\n');
  const parsed = parseArgs(['--db', 'sqlite.db', '--', 'npm', 'start']);
  if (!parsed.ok || parsed.command !== 'run') throw new Error('parseArgs');
  const loaded = loadConfig({
    mode: 'run',
    options: parsed.options,
    command: parsed.app,
    env: flyEnv(),
    cwd: '/app',
    home: '/root',
    readFile: (p) => (p === '/etc/litefs.yml' ? incident : undefined),
  });
  if (!loaded.ok) throw new Error('loadConfig');
  t.match(loaded.warnings, [
    /lease\.promote is true/,
    /exec has 2 commands/,
    /does not run/,
    /lease\.reconnect-delay is not set: LiteFS's default 1s/,
  ]);
});
