import t from 'tap';
import { loadConfig } from '../../src/config/load.js';
import { CONFIG_SCHEMA, defaultConfig, OPTIONS } from '../../src/config/schema.js';

// The table is the one list of options: no second list here to keep in step with it.
// What the options are is in the generated docs/configuration.md (test/ship/config-reference);
// the shipped examples and docs that use options are parsed by test/ship and test/config.
t.test(
  'the table names each option, flag, environment name, file key and field once',
  async (t) => {
    t.ok(OPTIONS.length > 30);
    for (const key of ['name', 'flag', 'env', 'fileKey'] as const) {
      const values = OPTIONS.map((o) => o[key]).filter((v) => v !== undefined);
      t.equal(new Set(values).size, values.length, `${key} unique`);
    }
    const fields = OPTIONS.map((o) => o.field).filter((f) => f !== undefined);
    t.equal(new Set(fields).size, fields.length, 'Config fields unique');
  },
);

t.test('built-in defaults (docs/design.md section 6) come from the table', async (t) => {
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
  // With nothing set but --db and the app, the loaded config is the table's defaults.
  t.same(r.config, { ...defaultConfig(), db: ['a.db'], command: ['app'] });
  // How each kind's default text becomes a value (the texts themselves are in the table).
  const d = defaultConfig();
  t.equal(d.maxLag, 10_000, "a duration in ms: '10s'");
  t.equal(d.syncTimeout, 600_000, "'10m'");
  t.same(d.healthAddr, { host: '', port: 9090 }, "':9090'");
  t.equal(d.minFreeDisk, 10);
  t.equal(d.restart, 'never');
  t.equal(d.mountDir, '/litefs', "LiteFS's fuse.dir default, when no litefs.yml says");
  t.equal(d.litefsUrl, 'http://127.0.0.1:20202');
  t.same([d.db, d.migrate, d.command], [[], [], []], 'lists without a default are empty');
  t.equal(d.promote, false, 'flags without a default are off');
  t.equal(d.dataDir, undefined, 'no default: undefined');
  t.not(defaultConfig().db, d.db, 'a fresh copy each time');
  // Every Config field is present (undefined counts), so none was forgotten by the loader.
  t.same(Object.keys(r.config).sort(), Object.keys(CONFIG_SCHEMA.shape).sort());
  t.ok(
    Object.keys(CONFIG_SCHEMA.shape).every((k) => k in d),
    'every field present in the defaults',
  );
});

t.test('the Config schema is strict and built from the table', async (t) => {
  const fields = OPTIONS.flatMap((o) => (o.field === undefined ? [] : [o.field]));
  const extras = ['configFile', 'litefsConfig', 'hostname', 'appVersion', 'command', 'consul'];
  t.same(Object.keys(CONFIG_SCHEMA.shape).sort(), [...fields, ...extras].sort());
  t.equal(CONFIG_SCHEMA.safeParse({ maxLagMs: '1s' }).success, false, 'unknown keys rejected');
  t.same(CONFIG_SCHEMA.parse({ maxLag: '2s' }).maxLag, 2000, 'values as written');
});

t.test('ranges live in the table: help and errors say the same', async (t) => {
  const ranges = Object.fromEntries(
    OPTIONS.flatMap((o) => (o.kind.range === undefined ? [] : [[o.name, o.kind.range]])),
  );
  t.same(ranges, {
    'migrate-retries': '0 to 100',
    'restart-max': '0 or more',
    'peer-health-port': '1 to 65535',
    'backup-keep': '1 or more',
    'min-free-disk': '0 to 100',
    'compact-threshold': '0 to 100',
  });
  for (const o of OPTIONS) {
    if (o.kind.type === 'int') t.ok(o.kind.accepted.includes(o.kind.range ?? '?'), o.flag);
  }
});
