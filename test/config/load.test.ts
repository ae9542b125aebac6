// biome-ignore-all lint/suspicious/noTemplateCurlyInString: LiteFS's ${...} text is what these tests feed in.
import t from 'tap';
import {
  type ConfigError,
  configForDisplay,
  type LoadResult,
  loadConfig,
  nodeReadFile,
  parseArgs,
  statusHealthUrl,
} from '../../src/config/load.js';
import type { OptionSpec } from '../../src/config/option.js';
import { OPTIONS } from '../../src/config/schema.js';

// parseArgs + loadConfig over an in-memory file system and environment.
interface Setup {
  argv?: string[];
  env?: Record<string, string | undefined>;
  files?: Record<string, string>;
  cwd?: string;
  home?: string;
  hostname?: string;
}

function load(setup: Setup = {}): LoadResult {
  const parsed = parseArgs(setup.argv ?? ['--db', 'sqlite.db', '--', 'npm', 'start']);
  if (!parsed.ok) return parsed;
  if (
    parsed.command === 'status' ||
    parsed.command === 'help' ||
    parsed.command === 'version' ||
    parsed.command === 'init'
  ) {
    throw new Error(`unexpected command ${parsed.command}`);
  }
  const files = setup.files ?? {};
  return loadConfig({
    mode: parsed.command,
    options: parsed.options,
    command: parsed.app,
    env: setup.env ?? {},
    cwd: setup.cwd ?? '/app',
    home: setup.home ?? '/root',
    readFile: (p) => files[p],
    ...(setup.hostname === undefined ? {} : { hostname: setup.hostname }),
  });
}

function errorsOf(r: LoadResult): ConfigError[] {
  return r.ok ? [] : r.errors;
}

function messages(r: LoadResult): string[] {
  return errorsOf(r).map((e) => e.message);
}

const RUN = ['--', 'npm', 'start'];

t.test('parseArgs: the four forms', async (t) => {
  t.same(parseArgs(['--db', 'a.db', '--', 'npm', 'start', '--port', '3000']), {
    ok: true,
    command: 'run',
    options: { db: ['a.db'] },
    app: ['npm', 'start', '--port', '3000'],
  });
  t.same(parseArgs(['check', '--db=a.db']), {
    ok: true,
    command: 'check',
    options: { db: ['a.db'] },
    app: [],
  });
  t.same(parseArgs(['check', '--', 'node', 'app.js']), {
    ok: true,
    command: 'check',
    options: {},
    app: ['node', 'app.js'],
  });
  t.same(parseArgs(['status']), { ok: true, command: 'status', healthUrl: undefined, json: false });
  t.same(parseArgs(['status', '--health-url', 'http://127.0.0.1:9091/', '--json']), {
    ok: true,
    command: 'status',
    healthUrl: 'http://127.0.0.1:9091',
    json: true,
  });
  t.same(parseArgs(['status', '--health-url=https://x.example']), {
    ok: true,
    command: 'status',
    healthUrl: 'https://x.example',
    json: false,
  });
  for (const argv of [
    ['--help'],
    ['-h'],
    ['--db', 'x', '--help'],
    ['check', '-h'],
    ['status', '--help'],
  ]) {
    t.same(parseArgs(argv), { ok: true, command: 'help' }, argv.join(' '));
  }
  t.same(parseArgs(['--version']), { ok: true, command: 'version' });
  t.same(
    parseArgs(['--', '--help']).ok && parseArgs(['--', '--help']),
    {
      ok: true,
      command: 'run',
      options: {},
      app: ['--help'],
    },
    '--help after -- belongs to the app',
  );
});

t.test('parseArgs: doctor takes the run options, --json, and an ignored app command', async (t) => {
  t.same(parseArgs(['doctor', '--db', 'a.db', '--json']), {
    ok: true,
    command: 'doctor',
    options: { db: ['a.db'] },
    app: [],
    json: true,
  });
  t.same(parseArgs(['doctor', '--json=false', '--max-lag', '5s', '--', 'npm', 'start']), {
    ok: true,
    command: 'doctor',
    options: { 'max-lag': '5s' },
    app: ['npm', 'start'],
    json: false,
  });
  t.same(parseArgs(['doctor', '--help']), { ok: true, command: 'help' });
  const argErrors = (argv: string[]) => {
    const r = parseArgs(argv);
    return r.ok ? [] : r.errors.map((e) => e.message);
  };
  t.match(argErrors(['doctor', '--json=maybe']), [/^--json: "maybe" is not a boolean/]);
  t.match(argErrors(['check', '--json']), [
    /^--json: is an option of `litefs-supervisor status`, `doctor`, `record` and `compact`/,
  ]);
  t.match(argErrors(['doctor', '--health-url', 'x']), [
    /^--health-url: is an option of `litefs-supervisor status`/,
  ]);
  // Like check, doctor needs no app command; it still needs a db.
  t.equal(load({ argv: ['doctor', '--db', 'a.db'] }).ok, true);
  t.equal(load({ argv: ['--db', 'a.db'] }).ok, false, 'run needs the app command');
});

t.test('parseArgs: compact takes the run options, --json, --dry-run and --no-backup', async (t) => {
  const argErrors = (argv: string[]) => {
    const r = parseArgs(argv);
    return r.ok ? [] : r.errors.map((e) => e.message);
  };
  t.same(parseArgs(['compact', '--db', 'a.db', '--dry-run']), {
    ok: true,
    command: 'compact',
    options: { db: ['a.db'] },
    app: [],
    json: false,
    compact: { dryRun: true, noBackup: false },
  });
  t.match(parseArgs(['compact', '--db', 'a.db', '--no-backup', '--json']), {
    ok: true,
    json: true,
    compact: { dryRun: false, noBackup: true },
  });
  t.match(argErrors(['compact', '--db', 'a.db', '--', 'npm', 'start']), [
    /^--: compact takes no command/,
  ]);
  t.match(argErrors(['check', '--dry-run']), [
    /^--dry-run: is an option of `litefs-supervisor compact`/,
  ]);
  t.match(argErrors(['compact', '--dry-run=maybe']), [/^--dry-run: "maybe" is not a boolean/]);
});

t.test('parseArgs: values, repeatables, boolean flags', async (t) => {
  const r = parseArgs([
    '--migrate',
    'npx prisma migrate deploy',
    '--migrate=node seed.js',
    '--max-lag=5s',
    '--promote',
    '--standalone=false',
    '--before',
    '-x weird but allowed',
    ...RUN,
  ]);
  t.same(r, {
    ok: true,
    command: 'run',
    options: {
      migrate: ['npx prisma migrate deploy', 'node seed.js'],
      'max-lag': '5s',
      promote: 'true',
      standalone: 'false',
      before: ['-x weird but allowed'],
    },
    app: ['npm', 'start'],
  });
  t.same(parseArgs(['--promote=true']).ok && parseArgs(['--promote=true']), {
    ok: true,
    command: 'run',
    options: { promote: 'true' },
    app: [],
  });
});

t.test('parseArgs: errors', async (t) => {
  const rows: [string[], RegExp[]][] = [
    [['--max-lagg', '5s'], [/^--max-lagg: unknown option \(did you mean --max-lag\?\)/]],
    [['--nope'], [/^--nope: unknown option; see litefs-supervisor --help/]],
    [['-db', 'a.db'], [/^-db: unknown option \(did you mean --db\?\)/]],
    [['--db'], [/^--db: needs a value \(NAME\)/]],
    [['--db', '--promote'], [/^--db: needs a value/]],
    [['--max-lag', '1s', '--max-lag', '2s'], [/^--max-lag: given twice \("1s" and "2s"\)/]],
    [
      ['npm', 'start'],
      [/^"npm": unexpected argument; put the app command after --/, /"start"/],
    ],
    [['--health-url', 'http://x'], [/^--health-url: is an option of `litefs-supervisor status`/]],
    [
      ['status', '--db', 'x'],
      [/^--db: unknown option; status accepts --health-url URL and --json/],
    ],
    [['status', '--health-url', 'ftp://x'], [/is not an http\(s\) URL/]],
    [['status', '--health-url'], [/^--health-url: needs a value/]],
    [['status', '--', 'x'], [/status takes no command/]],
    [
      ['--a', '--b=1', '--max-lag'],
      [/^--a: unknown/, /^--b: unknown/, /^--max-lag: needs a value/],
    ],
  ];
  for (const [argv, patterns] of rows) {
    const r = parseArgs(argv);
    t.equal(r.ok, false, argv.join(' '));
    if (r.ok) continue;
    t.equal(r.errors.length, patterns.length, `${argv.join(' ')}: ${r.errors.length} errors`);
    for (const [i, p] of patterns.entries()) t.match(r.errors[i]?.message, p, argv.join(' '));
  }
});

// A valid value of each kind, different from every default, so the test sees which layer won.
function sample(spec: OptionSpec, variant: 1 | 2): string | string[] {
  switch (spec.kind.type) {
    case 'text':
      return `/v${variant}/${spec.name}`;
    case 'duration':
      return `${variant}7s`;
    case 'int':
    case 'percent':
      return `${variant}7`;
    case 'enum': {
      const values = spec.kind.values ?? [];
      return values.filter((v) => v !== spec.default)[variant - 1] ?? values[0] ?? '';
    }
    case 'boolean':
      return 'true';
    case 'list':
      return spec.name === 'db' ? [`a${variant}.db`, `b${variant}.db`] : [`cmd ${variant}`, 'two'];
    case 'healthAddr':
      return `:${variant}7`;
    case 'url':
      return `http://127.0.0.${variant}:7`;
    case 'peers':
      return `app${variant}.internal`;
    case 'appReady':
      return `tcp://127.0.0.1:80${variant}7`;
    case 'consulKey':
      // A key needs a Consul lease in litefs.yml; `off` is valid without one.
      return variant === 1 ? 'off' : `litefs-supervisor/app${variant}`;
  }
}

// Options that name files: their samples must exist.
function filesFor(values: Map<string, string | string[]>): Record<string, string> {
  const files: Record<string, string> = {};
  const lc = values.get('litefs-config');
  if (typeof lc === 'string') files[lc] = 'fuse:\n  dir: /from-yml\n';
  return files;
}

t.test('every option has its environment name and works from the environment', async (t) => {
  for (const spec of OPTIONS) {
    t.equal(
      spec.env,
      `LITEFS_SUPERVISOR_${spec.name.toUpperCase().replaceAll('-', '_')}`,
      `${spec.flag} env name`,
    );
    const value = sample(spec, 1);
    const values = new Map([[spec.name, value]]);
    const files = filesFor(values);
    if (spec.name === 'config') files[value as string] = 'maxLag: 3s\n';
    const env = { [spec.env]: Array.isArray(value) ? value.join('\n') : value };
    const r = load({ argv: spec.name === 'db' ? RUN : ['--db', 'x.db', ...RUN], env, files });
    t.ok(r.ok, `${spec.env}: ${messages(r).join(' | ')}`);
    if (!r.ok) continue;
    t.same(
      r.sources[spec.name as keyof typeof r.sources],
      { layer: 'environment', name: spec.env },
      spec.env,
    );
    if (spec.name === 'config') t.equal(r.config.maxLag, 3000, 'config file from env was read');
  }
});

t.test(
  'every option (but --config) works from the config file under its camelCase key',
  async (t) => {
    for (const spec of OPTIONS) {
      if (spec.name === 'config') {
        t.equal(spec.fileKey, undefined, '--config cannot be set in a config file');
        continue;
      }
      t.equal(
        spec.fileKey,
        spec.name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()),
      );
      const value = sample(spec, 1);
      const files = filesFor(new Map([[spec.name, value]]));
      files['/c.json'] = JSON.stringify({ [spec.fileKey as string]: value });
      const argv = ['--config', '/c.json', ...(spec.name === 'db' ? [] : ['--db', 'x.db']), ...RUN];
      const r = load({ argv, files });
      t.ok(r.ok, `${spec.fileKey}: ${messages(r).join(' | ')}`);
      if (!r.ok) continue;
      t.same(r.sources[spec.name as keyof typeof r.sources], {
        layer: 'config file',
        path: '/c.json',
        key: spec.fileKey,
      });
    }
  },
);

t.test('precedence: command line > environment > config file > litefs.yml > default', async (t) => {
  const files = {
    '/app/litefs.yml': 'fuse:\n  dir: /yml\n',
    '/c.yml': 'mountDir: /file\nmaxLag: 3s\n',
  };
  const layers = {
    cli: ['--mount-dir', '/cli', '--max-lag', '1s'],
    env: { LITEFS_SUPERVISOR_MOUNT_DIR: '/env', LITEFS_SUPERVISOR_MAX_LAG: '2s' },
    file: ['--config', '/c.yml'],
  };
  const run = (cli: boolean, env: boolean, file: boolean, yml: boolean) =>
    load({
      argv: ['--db', 'a.db', ...(cli ? layers.cli : []), ...(file ? layers.file : []), ...RUN],
      env: env ? layers.env : {},
      files: yml ? files : { '/c.yml': files['/c.yml'] },
    });
  const pick = (r: ReturnType<typeof load>) =>
    r.ok ? [r.config.mountDir, r.config.maxLag] : messages(r);
  t.same(pick(run(true, true, true, true)), ['/cli', 1000], 'command line wins');
  t.same(pick(run(false, true, true, true)), ['/env', 2000], 'then environment');
  t.same(pick(run(false, false, true, true)), ['/file', 3000], 'then config file');
  t.same(pick(run(false, false, false, true)), ['/yml', 10_000], 'then litefs.yml');
  t.same(pick(run(false, false, false, false)), ['/litefs', 10_000], 'then defaults');

  // Every option at once: command line over environment over file.
  const cli: string[] = [];
  const env: Record<string, string> = {};
  const fileObj: Record<string, unknown> = {};
  const extraFiles: Record<string, string> = {};
  for (const spec of OPTIONS) {
    if (spec.name === 'config' || spec.name === 'litefs-config') continue;
    const v1 = sample(spec, 1);
    const v2 = sample(spec, 2);
    for (const v of Array.isArray(v1) ? v1 : [v1]) cli.push(`${spec.flag}=${v}`);
    env[spec.env] = Array.isArray(v2) ? v2.join('\n') : v2;
    fileObj[spec.fileKey as string] = v2;
  }
  extraFiles['/all.json'] = JSON.stringify(fileObj);
  const all = load({ argv: [...cli, '--config', '/all.json', ...RUN], env, files: extraFiles });
  t.ok(all.ok, messages(all).join(' | '));
  if (all.ok) {
    for (const spec of OPTIONS) {
      if (spec.name === 'config' || spec.name === 'litefs-config') continue;
      t.same(
        all.sources[spec.name as keyof typeof all.sources],
        { layer: 'command line' },
        spec.flag,
      );
    }
  }
});

t.test('repeatable options from the environment are newline-separated', async (t) => {
  const r = load({
    argv: RUN,
    env: {
      LITEFS_SUPERVISOR_DB: 'a.db\nb.db\n',
      LITEFS_SUPERVISOR_MIGRATE: 'npx prisma migrate deploy\r\n\r\nnode seed.js --x=1',
      LITEFS_SUPERVISOR_BEFORE: '',
    },
  });
  t.ok(r.ok, messages(r).join(' | '));
  if (!r.ok) return;
  t.same(r.config.db, ['a.db', 'b.db']);
  t.same(r.config.migrate, ['npx prisma migrate deploy', 'node seed.js --x=1']);
  t.same(r.config.before, [], 'an empty variable counts as unset');
  // The command line replaces the environment's list, it does not add to it.
  const cli = load({ argv: ['--db', 'c.db', ...RUN], env: { LITEFS_SUPERVISOR_DB: 'a.db\nb.db' } });
  t.same(cli.ok && cli.config.db, ['c.db']);
});

t.test('booleans from the environment: true/false/1/0', async (t) => {
  for (const [text, value] of [
    ['true', true],
    ['1', true],
    ['false', false],
    ['0', false],
  ] as const) {
    const r = load({ env: { LITEFS_SUPERVISOR_PROMOTE: text } });
    t.equal(r.ok && r.config.promote, value, text);
  }
  const bad = load({ env: { LITEFS_SUPERVISOR_PROMOTE: 'yes' } });
  t.same(messages(bad), [
    '--promote (from LITEFS_SUPERVISOR_PROMOTE): "yes" is not a boolean; use true, false, 1 or 0',
  ]);
  // The command line can turn off what the environment turned on.
  const off = load({
    argv: ['--db', 'a.db', '--promote=false', ...RUN],
    env: { LITEFS_SUPERVISOR_PROMOTE: '1' },
  });
  t.equal(off.ok && off.config.promote, false);
});

t.test('error messages name the option, the source, the value and what is accepted', async (t) => {
  const cli = load({ argv: ['--db', 'a.db', '--max-lag', '10 seconds', ...RUN] });
  t.same(errorsOf(cli), [
    {
      option: '--max-lag',
      source: { layer: 'command line' },
      value: '10 seconds',
      accepted: 'use Go-style durations like 500ms, 10s, 5m, 1h30m',
      message:
        '--max-lag: "10 seconds" is not a duration; use Go-style durations like 500ms, 10s, 5m, 1h30m',
    },
  ]);
  const env = load({ env: { LITEFS_SUPERVISOR_MAX_LAG: '10 seconds' } });
  t.match(messages(env), [
    /^--max-lag \(from LITEFS_SUPERVISOR_MAX_LAG\): "10 seconds" is not a duration/,
  ]);
  const file = load({
    argv: ['--db', 'a.db', '--config', 'conf.yml', ...RUN],
    files: { '/app/conf.yml': 'maxLag: 10 seconds\n' },
  });
  t.match(messages(file), [
    /^--max-lag \(key maxLag in \/app\/conf.yml\): "10 seconds" is not a duration/,
  ]);
  const yml = load({
    argv: RUN,
    files: { '/app/litefs.yml': 'proxy:\n  db: data/app.db\n' },
  });
  t.match(messages(yml), [
    /^--db \(from litefs.yml proxy.db in \/app\/litefs.yml\): "data\/app.db" is a path/,
  ]);
});

t.test('config file: unknown keys, bad files', async (t) => {
  const rows: [string, Record<string, string>, RegExp][] = [
    [
      '/c.yml',
      { '/c.yml': 'maxlag: 1s\n' },
      /^--config: "maxlag" in \/c.yml: unknown key \(did you mean maxLag\?\)/,
    ],
    [
      '/c.yml',
      { '/c.yml': 'max-lag: 1s\n' },
      /"max-lag" in \/c.yml: unknown key \(did you mean maxLag\?\)/,
    ],
    ['/c.yml', { '/c.yml': 'config: /other.yml\n' }, /a config file cannot name another one/],
    ['/c.yml', { '/c.yml': 'health: {port: 1}\n' }, /unknown key/],
    ['/c.yml', {}, /^--config: \/c.yml does not exist/],
    ['/c.yml', { '/c.yml': 'maxLag: [1s\n' }, /is not valid YAML/],
    ['/c.json', { '/c.json': '{"maxLag": }' }, /is not valid JSON/],
    ['/c.yml', { '/c.yml': '- a\n- b\n' }, /must hold a mapping/],
    [
      '/c.yml',
      { '/c.yml': 'maxLag: {a: 1}\n' },
      /"\{\\"a\\":1\}" is not a single value|is not a single value/,
    ],
    ['/c.yml', { '/c.yml': 'db: {a: 1}\n' }, /is not a list/],
  ];
  for (const [p, files, pattern] of rows) {
    const r = load({ argv: ['--db', 'a.db', '--config', p, ...RUN], files });
    t.equal(r.ok, false, JSON.stringify(files));
    t.match(messages(r)[0], pattern, JSON.stringify(files));
  }
  // A litefs.yml given as --config: one error that says so, not one per LiteFS section.
  const litefsYml = 'fuse:\n  dir: /litefs\ndata:\n  dir: /data\nlease:\n  type: consul\nexec: x\n';
  t.same(messages(load({ argv: ['--config', '/l.yml', ...RUN], files: { '/l.yml': litefsYml } })), [
    "--config: /l.yml looks like a LiteFS config (keys fuse, data, lease, exec); pass it as --litefs-config, and give --config this supervisor's options in camelCase (maxLag: 10s)",
  ]);
  // Mixed with the supervisor's own keys it is a --config file with misplaced sections.
  t.match(
    messages(
      load({
        argv: ['--db', 'a.db', '--config', '/m.yml', ...RUN],
        files: { '/m.yml': 'maxLag: 1s\nfuse:\n  dir: /x\nmaxlag: 2s\n' },
      }),
    ),
    [
      /^--config: "fuse" in \/m.yml: a litefs.yml key, not an option \(LiteFS config goes in --litefs-config\)/,
      /^--config: "maxlag" in \/m.yml: unknown key \(did you mean maxLag\?\)/,
    ],
  );
  const empty = load({
    argv: ['--db', 'a.db', '--config', '/c.yml', ...RUN],
    files: { '/c.yml': '' },
  });
  t.ok(empty.ok, 'an empty config file sets nothing');
  const typed = load({
    argv: ['--config', '/c.yml', ...RUN],
    files: {
      '/c.yml': 'db: sqlite.db\nbackupKeep: 4\npromote: true\nminFreeDisk: 2.5\nsyncTimeout: 0\n',
    },
  });
  t.ok(typed.ok, messages(typed).join(' | '));
  if (typed.ok) {
    t.same(typed.config.db, ['sqlite.db'], 'one value where a list is expected');
    t.equal(typed.config.backupKeep, 4);
    t.equal(typed.config.promote, true);
    t.equal(typed.config.minFreeDisk, 2.5);
    t.equal(typed.config.syncTimeout, 0);
    t.equal(typed.config.configFile, '/c.yml');
  }
  const unreadable = loadConfig({
    mode: 'check',
    options: { config: '/c.yml', db: ['a.db'] },
    command: [],
    env: {},
    cwd: '/app',
    home: undefined,
    readFile: (p) => {
      if (p === '/c.yml') throw new Error('EACCES: permission denied');
      return undefined;
    },
  });
  t.match(messages(unreadable), [/^--config: \/c.yml cannot be read: EACCES/]);
});

t.test('derived defaults from litefs.yml and the environment', async (t) => {
  const files = {
    '/app/litefs.yml': [
      'fuse:',
      '  dir: /mnt/litefs',
      'data:',
      '  dir: /data/litefs',
      'http:',
      '  addr: 0.0.0.0:20203',
      'proxy:',
      '  db: app.db',
      'exec:',
      '  - cmd: litefs-supervisor --promote -- npm start',
    ].join('\n'),
  };
  const r = load({ argv: RUN, files, env: { FLY_APP_NAME: 'myapp' } });
  t.ok(r.ok, messages(r).join(' | '));
  if (!r.ok) return;
  t.equal(r.config.mountDir, '/mnt/litefs');
  t.equal(r.config.dataDir, '/data/litefs');
  t.equal(r.config.litefsUrl, 'http://127.0.0.1:20203');
  t.same(r.config.db, ['app.db']);
  t.equal(r.config.stateFile, '/data/litefs-supervisor.json');
  t.equal(r.config.peers, 'myapp.internal');
  t.equal(r.config.litefsConfig, '/app/litefs.yml');
  t.same(r.warnings, []);
  t.same(r.sources.db, { layer: 'litefs.yml', path: '/app/litefs.yml', key: 'proxy.db' });
  t.same(r.sources.peers, { layer: 'environment', name: 'FLY_APP_NAME' });

  const colon = load({
    argv: ['--db', 'a.db', ...RUN],
    files: { '/app/litefs.yml': 'http:\n  addr: ":20202"\n' },
  });
  t.equal(colon.ok && colon.config.litefsUrl, 'http://127.0.0.1:20202');
  t.equal(colon.ok && colon.config.dataDir, '/var/lib/litefs', "LiteFS's own data.dir default");
  t.equal(colon.ok && colon.config.stateFile, '/var/lib/litefs-supervisor.json');

  const overridden = load({ argv: ['--data-dir', '/vol/lfs', '--db', 'a.db', ...RUN], files });
  t.equal(
    overridden.ok && overridden.config.stateFile,
    '/vol/litefs-supervisor.json',
    'follows --data-dir',
  );

  const nothing = load({ argv: ['--db', 'a.db', ...RUN] });
  t.ok(nothing.ok);
  if (nothing.ok) {
    t.equal(nothing.config.mountDir, '/litefs');
    t.equal(nothing.config.dataDir, undefined);
    t.equal(nothing.config.litefsUrl, 'http://127.0.0.1:20202');
    t.equal(nothing.config.stateFile, '/var/lib/litefs-supervisor.json');
    t.equal(nothing.config.peers, undefined);
    t.equal(nothing.litefsYml, undefined);
    t.match(nothing.warnings, [/no litefs.yml found/]);
  }

  const standalone = load({
    argv: ['--standalone', '--db', 'a.db', ...RUN],
    env: { FLY_APP_NAME: 'myapp' },
  });
  t.ok(standalone.ok);
  if (standalone.ok) {
    t.equal(standalone.config.peers, undefined, 'no peers in standalone');
    t.same(standalone.warnings, [], 'no litefs.yml warning in standalone');
  }

  const badAddr = load({
    argv: ['--db', 'a.db', ...RUN],
    files: { '/app/litefs.yml': 'http:\n  addr: "20202"\n' },
  });
  t.equal(badAddr.ok && badAddr.config.litefsUrl, 'http://127.0.0.1:20202');
  t.match(badAddr.ok && badAddr.warnings, [/http.addr "20202" .* has no port/]);
});

t.test('litefs.yml expansion uses the environment; HOSTNAME as LiteFS sets it', async (t) => {
  const files = {
    '/app/litefs.yml':
      'fuse:\n  dir: /litefs-${HOSTNAME}\nlease:\n  candidate: ${FLY_REGION == PRIMARY_REGION}\n',
  };
  const r = load({
    argv: ['--db', 'a.db', ...RUN],
    files,
    env: { FLY_REGION: 'ams', PRIMARY_REGION: 'ams' },
    hostname: 'box',
  });
  t.equal(r.ok && r.config.mountDir, '/litefs-box');
  t.equal(r.ok && r.litefsYml?.leaseCandidate, true);
  const env = load({
    argv: ['--db', 'a.db', ...RUN],
    files,
    env: { HOSTNAME: 'envhost', FLY_REGION: 'lhr', PRIMARY_REGION: 'ams' },
    hostname: 'box',
  });
  t.equal(env.ok && env.config.mountDir, '/litefs-envhost');
  t.equal(env.ok && env.litefsYml?.leaseCandidate, false);
});

t.test('--litefs-config: explicit, none, missing, broken', async (t) => {
  const files = {
    '/app/litefs.yml': 'fuse:\n  dir: /search\n',
    '/x.yml': 'fuse:\n  dir: /explicit\n',
  };
  const explicit = load({ argv: ['--litefs-config', '/x.yml', '--db', 'a.db', ...RUN], files });
  t.equal(explicit.ok && explicit.config.mountDir, '/explicit');
  const fromEnv = load({
    argv: ['--db', 'a.db', ...RUN],
    files,
    env: { LITEFS_SUPERVISOR_LITEFS_CONFIG: '/x.yml' },
  });
  t.equal(fromEnv.ok && fromEnv.config.mountDir, '/explicit');
  const none = load({ argv: ['--litefs-config', 'none', '--db', 'a.db', ...RUN], files });
  t.equal(none.ok && none.config.mountDir, '/litefs');
  t.equal(none.ok && none.config.litefsConfig, undefined);
  t.same(none.ok && none.warnings, [], 'no "not found" warning when disabled');
  const missing = load({ argv: ['--litefs-config', '/nope.yml', '--db', 'a.db', ...RUN], files });
  t.match(messages(missing), [/^--litefs-config: \/nope.yml: file not found/]);
  const broken = load({
    argv: ['--db', 'a.db', ...RUN],
    files: { '/app/litefs.yml': 'fuse: [\n' },
  });
  t.match(messages(broken), [
    /^--litefs-config \(found by LiteFS's search order\): \/app\/litefs.yml: not valid YAML/,
  ]);
});

t.test('warnings about litefs.yml', async (t) => {
  const yml = (text: string) =>
    load({ argv: ['--db', 'a.db', ...RUN], files: { '/app/litefs.yml': text } });
  const promote = yml('lease:\n  promote: true\nexec: litefs-supervisor -- npm start\n');
  t.match(promote.ok && promote.warnings, [
    /lease.promote is true .*LiteFS promotes this node before the supervisor can check.*Set promote: false under lease: and pass --promote/,
  ]);
  const many = yml(
    'exec:\n  - cmd: npx prisma migrate deploy\n  - cmd: litefs-supervisor -- npm start\n',
  );
  t.match(many.ok && many.warnings, [
    /exec has 2 commands/,
    /exec command "npx prisma migrate deploy" .* does not run litefs-supervisor/,
  ]);
  t.notOk(
    many.ok && many.warnings.some((w) => /litefs-supervisor init/.test(w)),
    'one entry runs the supervisor: init is not offered',
  );
  const other = yml('exec: npm start\n');
  t.same(other.ok && other.warnings.length, 2);
  t.match(other.ok && other.warnings, [
    /exec command "npm start" .* does not run litefs-supervisor/,
    /litefs-supervisor init rewrites this litefs.yml \(\/app\/litefs.yml\) for the supervisor.*writes only with --write/,
  ]);
  const good = yml(
    'lease:\n  promote: false\nexec:\n  - cmd: litefs-supervisor --promote -- npm start\n',
  );
  t.same(good.ok && good.warnings, []);
  const standalone = load({
    argv: ['--standalone', '--promote', '--db', 'a.db', ...RUN],
    files: { '/app/litefs.yml': 'lease:\n  promote: true\nexec: npm start\n' },
  });
  t.same(standalone.ok && standalone.warnings, [
    '--promote has no effect with --standalone (there is no LiteFS cluster)',
  ]);
});

// A Consul lease whose running nodes retry only every second lets a just-started node with an
// older database take a free lease first (docs/litefs-facts.md, "A free lease goes to the first
// candidate"): warned once, at start, in check and in doctor (all read LoadResult.warnings).
t.test("warning: lease.reconnect-delay at LiteFS's default on a Consul candidate", async (t) => {
  const exec = 'exec:\n  - cmd: litefs-supervisor --promote -- npm start\n';
  const yml = (lease: string, env: Record<string, string> = {}) =>
    load({
      argv: ['--db', 'a.db', ...RUN],
      env,
      files: { '/app/litefs.yml': `lease:\n${lease}${exec}` },
    });
  const about = (r: LoadResult) =>
    r.ok
      ? r.warnings.filter((w) => w.startsWith('litefs.yml lease.reconnect-delay'))
      : ['(refused)'];

  const absent = yml('  type: consul\n');
  t.same(about(absent), [
    `litefs.yml lease.reconnect-delay is not set: LiteFS's default 1s (/app/litefs.yml): the running nodes look for a free lease only that often, so when the primary's Consul session expires, a machine that has just started with an older database can take the lease first, and LiteFS then replaces the running nodes' newer databases with its older copy. Set reconnect-delay: "100ms" under lease:, or run litefs-supervisor init --write`,
  ]);
  for (const [value, shown] of [
    ['1s', '"1s"'],
    ['"2s"', '"2s"'],
    ['1000ms', '"1000ms"'],
    ['1m', '"1m"'],
  ] as const) {
    const r = yml(`  type: consul\n  reconnect-delay: ${value}\n`);
    t.match(
      about(r),
      [
        new RegExp(
          `^litefs\\.yml lease\\.reconnect-delay is ${shown} \\(/app/litefs\\.yml\\): .*a machine that has just started with an older database can take the lease first.*Set reconnect-delay: "100ms" under lease:, or run litefs-supervisor init --write$`,
        ),
      ],
      value,
    );
  }
  const onlyOnce = load({
    argv: ['--db', 'a.db', ...RUN],
    files: {
      '/app/litefs.yml': 'lease:\n  type: consul\nexec:\n  - cmd: migrate\n  - cmd: npm start\n',
    },
  });
  t.equal(about(onlyOnce).length, 1, 'one warning, not one per exec entry');
  const fromEnv = yml('  type: consul\n  reconnect-delay: ${DELAY}\n', { DELAY: '1s' });
  t.equal(about(fromEnv).length, 1, 'the value as LiteFS expands it');

  for (const [name, lease, env] of [
    ['100ms', '  type: consul\n  reconnect-delay: 100ms\n', {}],
    ['500ms', '  type: consul\n  reconnect-delay: "500ms"\n', {}],
    ['999ms', '  type: consul\n  reconnect-delay: 999ms\n', {}],
    ['static lease', '  type: static\n', {}],
    ['no lease type', '', {}],
    ['candidate: false', '  type: consul\n  candidate: false\n', {}],
    [
      'not a candidate in this region',
      '  type: consul\n  candidate: ${FLY_REGION == PRIMARY_REGION}\n',
      { FLY_REGION: 'lhr', PRIMARY_REGION: 'ams' },
    ],
  ] as const) {
    const r = yml(lease, env);
    t.ok(r.ok, name);
    t.same(about(r), [], `${name}: no warning`);
  }
  const candidate = yml('  type: consul\n  candidate: ${FLY_REGION == PRIMARY_REGION}\n', {
    FLY_REGION: 'ams',
    PRIMARY_REGION: 'ams',
  });
  t.equal(about(candidate).length, 1, 'a candidate in the primary region is warned');
  const standalone = load({
    argv: ['--standalone', '--db', 'a.db', ...RUN],
    files: { '/app/litefs.yml': `lease:\n  type: consul\n${exec}` },
  });
  t.same(about(standalone), [], 'no warning in --standalone');

  const bad = yml('  type: consul\n  reconnect-delay: 1\n');
  t.match(messages(bad), [
    /^--litefs-config \(found by LiteFS's search order\): \/app\/litefs\.yml: lease\.reconnect-delay is 1, expected a duration with a unit, like "100ms", "1s" or "1m30s"; fix it/,
  ]);
});

// Each rule is shown allowing and refusing.
t.test('validation rules', async (t) => {
  const ok = (
    argv: string[],
    env: Record<string, string> = {},
    files: Record<string, string> = {},
  ) => {
    const r = load({ argv, env, files });
    t.ok(r.ok, `allows ${argv.join(' ')} ${JSON.stringify(env)}: ${messages(r).join(' | ')}`);
  };
  const refuse = (argv: string[], pattern: RegExp, env: Record<string, string> = {}) => {
    const r = load({ argv, env });
    t.match(messages(r), [pattern], `refuses ${argv.join(' ')}`);
  };

  // At least one --db.
  ok(['--db', 'a.db', ...RUN]);
  ok(RUN, { LITEFS_SUPERVISOR_DB: 'a.db' });
  ok(RUN, {}, { '/app/litefs.yml': 'proxy:\n  db: a.db\n' });
  refuse(
    RUN,
    /^--db: no database given; pass --db NAME \(repeatable\), set LITEFS_SUPERVISOR_DB, or set proxy.db in litefs.yml/,
  );
  refuse(['check'], /^--db: no database given/);

  // Database names are plain file names.
  for (const name of ['sqlite.db', 'my-app.sqlite3', 'DB', '.hidden.db'])
    ok(['--db', name, ...RUN]);
  for (const [name, pattern] of [
    ['data/app.db', /"data\/app.db" is a path/],
    ['/litefs/app.db', /is a path/],
    ['.', /is not a file name/],
    ['..', /is not a file name/],
    ['', /"" is empty/],
    ['app.db-wal', /keeps next to the database; name the database itself, like app.db/],
    ['app.db-pos', /name the database itself, like app.db/],
    ['.primary', /LiteFS's own files/],
  ] as const) {
    refuse(['--db', name, ...RUN], pattern);
  }
  refuse(['--db', 'a.db', '--db', 'a.db', ...RUN], /"a.db" is listed twice/);

  // Run mode needs an app command; check mode does not.
  refuse(['--db', 'a.db'], /^no app command: put it after --/);
  refuse(['--db', 'a.db', '--'], /^no app command/);
  ok(['check', '--db', 'a.db']);
  ok(['check', '--db', 'a.db', '--', 'npm', 'start']);

  // --health-addr: [HOST]:PORT or off.
  for (const addr of [
    ':9090',
    '0.0.0.0:9090',
    'localhost:8081',
    '[::1]:9090',
    '[::]:0',
    ':65535',
    'off',
  ]) {
    ok(['--db', 'a.db', '--health-addr', addr, ...RUN]);
  }
  for (const addr of ['9090', '::1:9090', ':65536', 'host:abc', 'host', ':', 'Off', '[::1]']) {
    refuse(
      ['--db', 'a.db', `--health-addr=${addr}`, ...RUN],
      /^--health-addr: .*use \[HOST\]:PORT like :9090/,
    );
  }

  // --litefs-url: http(s).
  for (const u of [
    'http://127.0.0.1:20202',
    'https://litefs.internal:20202/',
    'http://[::1]:20202',
  ]) {
    ok(['--db', 'a.db', '--litefs-url', u, ...RUN]);
  }
  for (const u of ['127.0.0.1:20202', 'ftp://x', 'http://x/?a=1', 'not a url']) {
    refuse(
      ['--db', 'a.db', '--litefs-url', u, ...RUN],
      /^--litefs-url: .*use an http\(s\) URL like http:\/\/127.0.0.1:20202/,
    );
  }

  // --min-free-disk: 0 to 100.
  for (const p of ['0', '10', '2.5', '100', '15%'])
    ok(['--db', 'a.db', '--min-free-disk', p, ...RUN]);
  for (const p of ['101', '-1', 'ten', '1e2']) {
    refuse(
      ['--db', 'a.db', '--min-free-disk', p, ...RUN],
      /^--min-free-disk: .*use a percentage from 0 to 100/,
    );
  }

  // --backup-keep >= 1, --restart-max >= 0.
  ok(['--db', 'a.db', '--backup-keep', '1', ...RUN]);
  refuse(
    ['--db', 'a.db', '--backup-keep', '0', ...RUN],
    /^--backup-keep: "0" is out of range; use a whole number, 1 or more/,
  );
  refuse(
    ['--db', 'a.db', '--backup-keep', '1.5', ...RUN],
    /^--backup-keep: "1.5" is not a whole number/,
  );
  ok(['--db', 'a.db', '--restart-max', '0', ...RUN]);
  refuse(
    ['--db', 'a.db', '--restart-max', '-1', ...RUN],
    /^--restart-max: "-1" is out of range; use a whole number, 0 or more/,
  );

  // Enums.
  ok([
    '--db',
    'a.db',
    '--restart',
    'on-failure',
    '--bootstrap',
    'force',
    '--on-promotion',
    'none',
    ...RUN,
  ]);
  refuse(
    ['--db', 'a.db', '--bootstrap', 'yes', ...RUN],
    /^--bootstrap: "yes" is not an accepted value; use one of auto, never, force/,
  );

  // Durations: 0 allowed where it means something, not for intervals.
  ok(['--db', 'a.db', '--sync-timeout', '0', ...RUN]);
  ok(['--db', 'a.db', '--sync-timeout', '596h', ...RUN]);
  refuse(['--db', 'a.db', '--sync-timeout', '597h', ...RUN], /^--sync-timeout: "597h" is too long/);
  refuse(
    ['--db', 'a.db', '--poll-interval', '0s', ...RUN],
    /^--poll-interval: "0s" must be more than 0/,
  );
  refuse(
    ['--db', 'a.db', '--promote-timeout', '0', ...RUN],
    /^--promote-timeout: "0" must be more than 0/,
  );

  // --peers: one DNS name, or URLs.
  for (const p of [
    'myapp.internal',
    'http://10.0.0.2:20202,http://10.0.0.3:20202',
    'https://a:1',
  ]) {
    ok(['--db', 'a.db', '--peers', p, ...RUN]);
  }
  for (const p of [
    'a.internal,b.internal',
    'http://a:1,,http://b:1',
    'bad name!',
    'http://a:1,b.internal',
  ]) {
    refuse(['--db', 'a.db', '--peers', p, ...RUN], /^--peers: .*use one DNS name/);
  }

  // Text options can't be empty.
  refuse(
    ['--db', 'a.db', '--mount-dir=', ...RUN],
    /^--mount-dir: "" is empty; give a directory path/,
  );
  refuse(
    ['--db', 'a.db', '--migrate', ' ', ...RUN],
    /^--migrate: " " is empty; give a shell command/,
  );
});

t.test('all errors are collected, from every layer', async (t) => {
  const r = load({
    argv: [
      '--max-lag',
      '10 seconds',
      '--restart',
      'sometimes',
      '--config',
      '/c.yml',
      '--db',
      'a/b',
    ],
    env: { LITEFS_SUPERVISOR_BACKUP_KEEP: '0', LITEFS_SUPERVISOR_HEALTH_ADDR: '9090' },
    files: { '/c.yml': 'logLevel: loud\nunknownKey: 1\n' },
  });
  const expected = [
    /^no app command/,
    /^--backup-keep \(from LITEFS_SUPERVISOR_BACKUP_KEEP\): "0"/,
    /^--config: "unknownKey" in \/c.yml: unknown key/,
    /^--db: "a\/b" is a path/,
    /^--health-addr \(from LITEFS_SUPERVISOR_HEALTH_ADDR\): "9090"/,
    /^--log-level \(key logLevel in \/c.yml\): "loud"/,
    /^--max-lag: "10 seconds"/,
    /^--restart: "sometimes"/,
  ];
  for (const pattern of expected)
    t.ok(
      messages(r).some((m) => pattern.test(m)),
      `${pattern}`,
    );
  t.equal(messages(r).length, 8);
  // An invalid --db is reported once, not again as "no database given".
  t.notOk(messages(r).some((m) => m.includes('no database given')));
  // A bad value is an error even when a higher layer overrides it.
  const shadowed = load({
    argv: ['--db', 'a.db', '--max-lag', '1s', ...RUN],
    env: { LITEFS_SUPERVISOR_MAX_LAG: 'soon' },
  });
  t.match(messages(shadowed), [/^--max-lag \(from LITEFS_SUPERVISOR_MAX_LAG\): "soon"/]);
});

t.test('status health URL and display redaction', async (t) => {
  t.equal(statusHealthUrl(undefined, {}), 'http://127.0.0.1:9090');
  t.equal(statusHealthUrl('http://x:1', {}), 'http://x:1');
  t.equal(
    statusHealthUrl(undefined, { LITEFS_SUPERVISOR_HEALTH_ADDR: ':9191' }),
    'http://127.0.0.1:9191',
  );
  t.equal(
    statusHealthUrl(undefined, { LITEFS_SUPERVISOR_HEALTH_ADDR: '[::1]:9191' }),
    'http://[::1]:9191',
  );
  t.equal(
    statusHealthUrl(undefined, { LITEFS_SUPERVISOR_HEALTH_ADDR: 'off' }),
    'http://127.0.0.1:9090',
  );
  const r = load({
    argv: ['--db', 'a.db', '--litefs-url', 'http://u:secret@127.0.0.1:20202', ...RUN],
  });
  t.ok(r.ok);
  if (r.ok) {
    t.equal(configForDisplay(r.config).litefsUrl, 'http://***@127.0.0.1:20202');
    t.equal(
      r.config.litefsUrl,
      'http://u:secret@127.0.0.1:20202',
      'the config itself is untouched',
    );
  }
});

t.test('nodeReadFile and a real litefs.yml in the working directory', async (t) => {
  const dir = t.testdir({
    'litefs.yml': 'fuse:\n  dir: /mnt/x\nproxy:\n  db: real.db\n',
    sub: {},
  });
  t.equal(nodeReadFile(`${dir}/missing.yml`), undefined, 'ENOENT is "not found"');
  t.throws(() => nodeReadFile(`${dir}/sub`), 'a directory is an error, not "not found"');
  const r = loadConfig({
    mode: 'check',
    options: {},
    command: [],
    env: {},
    cwd: dir,
    home: undefined,
    readFile: nodeReadFile,
  });
  t.ok(r.ok, messages(r).join(' | '));
  if (r.ok) {
    t.equal(r.config.mountDir, '/mnt/x');
    t.same(r.config.db, ['real.db']);
    t.equal(r.config.litefsConfig, `${dir}/litefs.yml`);
  }
});

t.test('parseArgs: record shows, record reset needs --yes, --yes only with reset', async (t) => {
  const argErrors = (argv: string[]) => {
    const r = parseArgs(argv);
    return r.ok ? [] : r.errors.map((e) => e.message);
  };
  t.match(parseArgs(['record', '--db', 'a.db']), { ok: true, command: 'record', json: false });
  t.notOk((parseArgs(['record']) as { reset?: unknown }).reset, 'no reset unless asked');
  t.match(parseArgs(['record', '--json']), { ok: true, command: 'record', json: true });
  t.match(parseArgs(['record', 'reset']), { ok: true, command: 'record', reset: { yes: false } });
  t.match(parseArgs(['record', 'reset', '--yes']), {
    ok: true,
    command: 'record',
    reset: { yes: true },
  });
  t.match(argErrors(['record', '--yes']), [/^--yes: only confirms `record reset`/]);
  t.match(argErrors(['--yes', '--', 'app']), [
    /^--yes: is an option of `litefs-supervisor record reset`/,
  ]);
  t.match(argErrors(['record', '--', 'app']), [/^--: record takes no command/]);
  t.match(argErrors(['record', 'delete']), [/unexpected argument/]);
});

t.test(
  'the cluster record: keyed by the app on Fly, else by the lease key; off without Consul',
  async (t) => {
    const yml = (url: string) =>
      `lease:\n  type: consul\n  consul:\n    url: "${url}"\n    key: "epic/litefs"\n`;
    const files = { '/app/litefs.yml': yml('https://:tok@consul.example:8501/app-x/') };
    const off = load({ argv: ['--db', 'a.db', '--', 'x'], files });
    t.ok(
      off.ok && off.config.clusterRecord === 'litefs-supervisor/epic/litefs',
      'by the lease key',
    );
    t.match(off.ok && off.config.consul, {
      origin: 'https://consul.example:8501',
      prefix: 'app-x',
      leaseKey: 'epic/litefs',
    });
    const fly = load({ argv: ['--db', 'a.db', '--', 'x'], files, env: { FLY_APP_NAME: 'my-app' } });
    t.equal(fly.ok && fly.config.clusterRecord, 'litefs-supervisor/my-app', 'by the app on Fly');
    const chosen = load({ argv: ['--db', 'a.db', '--cluster-record', 'off', '--', 'x'], files });
    t.equal(chosen.ok && chosen.config.clusterRecord, undefined, '--cluster-record off');
    t.match(chosen.ok && chosen.warnings.join('\n'), /--cluster-record off/);
    const none = load({ argv: ['--db', 'a.db', '--', 'x'] });
    t.equal(none.ok && none.config.clusterRecord, undefined, 'no litefs.yml: off');
    const noConsul = load({ argv: ['--db', 'a.db', '--cluster-record', 'k/x', '--', 'x'] });
    t.match(
      errorsOf(noConsul).map((e) => e.message),
      [/^--cluster-record k\/x: litefs.yml has no Consul lease/],
    );
    const bad = load({ argv: ['--db', 'a.db', '--cluster-record', '/lead', '--', 'x'], files });
    t.match(
      errorsOf(bad).map((e) => e.message),
      [/is not a Consul key/],
    );
    const badUrl = load({
      argv: ['--db', 'a.db', '--', 'x'],
      files: { '/app/litefs.yml': yml('ftp://:tok@h/') },
    });
    t.notMatch(JSON.stringify(badUrl), 'tok', 'the token is in no error or warning');
    t.ok(badUrl.ok && badUrl.config.clusterRecord === undefined);
    const standalone = load({ argv: ['--standalone', '--db', 'a.db', '--', 'x'], files });
    t.equal(standalone.ok && standalone.config.clusterRecord, undefined, 'never in --standalone');
    const recordMode = load({ argv: ['record', '--json'], files });
    t.ok(recordMode.ok, 'record needs no --db');
    t.notOk(load({ argv: ['doctor'], files }).ok, 'doctor still does');
  },
);

t.test(
  '--app-ready: from litefs.yml proxy.target, explicit values, and what is refused',
  async (t) => {
    const yml = (target: string) => ({
      '/app/litefs.yml': `proxy:\n  target: "${target}"\n  db: a.db\n`,
    });
    const derived = load({ argv: ['--', 'x'], files: yml('localhost:8081') });
    t.equal(derived.ok && derived.config.appReady, 'tcp://localhost:8081', 'the proxy target');
    t.same(derived.ok && derived.sources['app-ready'], {
      layer: 'litefs.yml',
      path: '/app/litefs.yml',
      key: 'proxy.target',
    });
    const hostless = load({ argv: ['--', 'x'], files: yml(':3000') });
    t.equal(
      hostless.ok && hostless.config.appReady,
      'tcp://localhost:3000',
      'a target without a host is this machine',
    );
    const none = load({ argv: ['--db', 'a.db', '--', 'x'] });
    t.equal(none.ok && none.config.appReady, 'none', 'no proxy: ready at spawn');
    t.equal(none.ok && none.config.appReadyTimeout, 60_000);
    const off = load({ argv: ['--app-ready', 'none', '--', 'x'], files: yml('localhost:8081') });
    t.equal(off.ok && off.config.appReady, 'none', '--app-ready none wins over the proxy target');
    const http = load({
      argv: ['--db', 'a.db', '--app-ready', 'http://127.0.0.1:3000/healthz', '--', 'x'],
    });
    t.equal(http.ok && http.config.appReady, 'http://127.0.0.1:3000/healthz');
    for (const bad of ['tcp://localhost', 'tcp://h:0', 'tcp://h:70000', 'ftp://h/', 'ready']) {
      const r = load({ argv: ['--db', 'a.db', '--app-ready', bad, '--', 'x'] });
      t.match(
        errorsOf(r).map((e) => e.message),
        [/^--app-ready: /],
        bad,
      );
    }
    t.match(
      errorsOf(load({ argv: ['--db', 'a.db', '--app-ready-timeout', '0s', '--', 'x'] })).map(
        (e) => e.message,
      ),
      [/^--app-ready-timeout: "0s" must be more than 0/],
    );
  },
);
