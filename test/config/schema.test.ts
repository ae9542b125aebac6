import t from 'tap';
import { loadConfig } from '../../src/config/load.js';
import { OPTIONS } from '../../src/config/schema.js';

// docs/design.md section 6, plus --restart-max and --migrate-retries (S1 retries, issue 12);
// --promote-when, --version-env and --handoff-timeout (issue 11: deploys without a write gap).
const DESIGNED = [
  'config',
  'litefs-config',
  'mount-dir',
  'data-dir',
  'litefs-url',
  'db',
  'migrate',
  'migrate-timeout',
  'migrate-retries',
  'before',
  'promote',
  'promote-timeout',
  'on-promotion',
  'promote-when',
  'version-env',
  'handoff-timeout',
  'bootstrap',
  'peers',
  'peer-health-port',
  'peer-wait',
  'state-file',
  'fence-timeout',
  'backup-dir',
  'backup-keep',
  'min-free-disk',
  'max-lag',
  'sync-timeout',
  'health-addr',
  'poll-interval',
  'restart',
  'restart-max',
  'shutdown-timeout',
  'log-format',
  'log-level',
  'standalone',
];

t.test('the table holds exactly the designed options, each once', async (t) => {
  t.same(OPTIONS.map((o) => o.name).sort(), [...DESIGNED].sort());
  for (const key of ['flag', 'env', 'fileKey'] as const) {
    const values = OPTIONS.map((o) => o[key]).filter((v) => v !== undefined);
    t.equal(new Set(values).size, values.length, `${key} unique`);
  }
  const fields = OPTIONS.map((o) => o.field).filter((f) => f !== undefined);
  t.equal(new Set(fields).size, fields.length, 'Config fields unique');
});

t.test('built-in defaults (docs/design.md section 6)', async (t) => {
  const r = loadConfig({
    mode: 'run',
    options: { db: ['a.db'] },
    command: ['app'],
    env: {},
    cwd: '/app',
    home: undefined,
    readFile: () => undefined,
  });
  t.ok(r.ok);
  if (!r.ok) return;
  t.match(r.config, {
    configFile: undefined,
    litefsConfig: undefined,
    mountDir: '/litefs',
    dataDir: undefined,
    litefsUrl: 'http://127.0.0.1:20202',
    db: ['a.db'],
    migrate: [],
    migrateTimeout: 600_000,
    migrateRetries: 3,
    before: [],
    promote: false,
    promoteTimeout: 30_000,
    onPromotion: 'migrate',
    promoteWhen: 'new-version',
    versionEnv: 'FLY_IMAGE_REF',
    appVersion: undefined,
    handoffTimeout: 1000,
    bootstrap: 'auto',
    peers: undefined,
    peerHealthPort: undefined,
    peerWait: 30_000,
    stateFile: '/var/lib/litefs-supervisor.json',
    fenceTimeout: 60_000,
    backupDir: undefined,
    backupKeep: 3,
    minFreeDisk: 10,
    maxLag: 10_000,
    syncTimeout: 600_000,
    healthAddr: { host: '', port: 9090 },
    pollInterval: 1000,
    restart: 'never',
    restartMax: 5,
    shutdownTimeout: 3000,
    logFormat: 'logfmt',
    logLevel: 'info',
    standalone: false,
    command: ['app'],
  });
  // Every Config field is present (undefined counts), so none was forgotten by the loader.
  t.same(
    Object.keys(r.config).sort(),
    [
      'appVersion',
      'backupDir',
      'backupKeep',
      'before',
      'bootstrap',
      'command',
      'configFile',
      'dataDir',
      'db',
      'fenceTimeout',
      'handoffTimeout',
      'healthAddr',
      'hostname',
      'litefsConfig',
      'litefsUrl',
      'logFormat',
      'logLevel',
      'maxLag',
      'migrate',
      'migrateRetries',
      'migrateTimeout',
      'minFreeDisk',
      'mountDir',
      'onPromotion',
      'peerHealthPort',
      'peerWait',
      'peers',
      'pollInterval',
      'promote',
      'promoteTimeout',
      'promoteWhen',
      'restart',
      'restartMax',
      'shutdownTimeout',
      'standalone',
      'stateFile',
      'syncTimeout',
      'versionEnv',
    ].sort(),
  );
});
