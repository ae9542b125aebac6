// biome-ignore-all lint/suspicious/noTemplateCurlyInString: LiteFS's ${...} text is what these tests feed in.
import t from 'tap';
import {
  expandLitefsEnv,
  httpAddrPort,
  litefsYmlSearchPaths,
  loadLitefsYml,
  parseLitefsYml,
} from '../../src/config/litefs-yml.js';

const ENV: Record<string, string> = {
  FLY_REGION: 'ams',
  PRIMARY_REGION: 'ams',
  OTHER_REGION: 'lhr',
  EMPTY: '',
  HOSTNAME: 'node1',
  WITH_SPACE: 'a b',
};
const getenv = (name: string) => ENV[name];

t.test('expansion matches LiteFS (cmd/litefs/config.go ExpandEnv over os.Expand)', async (t) => {
  const rows: [name: string, input: string, expected: string][] = [
    ['plain text', 'dir: /litefs', 'dir: /litefs'],
    ['${VAR}', 'x ${FLY_REGION} y', 'x ams y'],
    ['$VAR', 'x $FLY_REGION/y', 'x ams/y'],
    ['$VAR stops at a non-name character', '$FLY_REGION-1', 'ams-1'],
    ['unset var is empty', '[${NOPE}]', '[]'],
    ['unset $VAR is empty', '[$NOPE]', '[]'],
    ['empty var', '[${EMPTY}]', '[]'],
    ['spaces inside braces are trimmed', '${ FLY_REGION }', 'ams'],
    ['== two vars, equal', '${FLY_REGION == PRIMARY_REGION}', 'true'],
    ['== two vars, different', '${OTHER_REGION == PRIMARY_REGION}', 'false'],
    ['!= two vars, equal', '${FLY_REGION != PRIMARY_REGION}', 'false'],
    ['!= two vars, different', '${OTHER_REGION != PRIMARY_REGION}', 'true'],
    ['== without spaces', '${FLY_REGION==PRIMARY_REGION}', 'true'],
    ['== with extra spaces', '${  FLY_REGION   ==   PRIMARY_REGION  }', 'true'],
    ['== both unset: equal empties', '${NOPE == NADA}', 'true'],
    ['== one unset', '${FLY_REGION == NOPE}', 'false'],
    ['== single-quoted text', "${FLY_REGION == 'ams'}", 'true'],
    ['== single-quoted text, different', "${FLY_REGION == 'lhr'}", 'false'],
    ['!= single-quoted text', "${FLY_REGION != 'lhr'}", 'true'],
    ['== double-quoted text', '${FLY_REGION == "ams"}', 'true'],
    ['!= double-quoted text', '${FLY_REGION != "ams"}', 'false'],
    ['quoted text keeps its spaces', "${WITH_SPACE == 'a b'}", 'true'],
    ['quoted empty text vs unset', "${NOPE == ''}", 'true'],
    ['quoted text is not trimmed', "${FLY_REGION == ' ams'}", 'false'],
    ['not an expression: whole text is a var name', '${FLY_REGION = PRIMARY_REGION}', ''],
    ['mixed quotes are not an expression', '${FLY_REGION == \'ams"}', ''],
    ['lowercase names work', '${fly_region == fly_region}', 'true'],
    ['$$ is the special var "$", empty', 'a$$b', 'ab'],
    ['${1} special var', 'a${1}b', 'ab'],
    ['$1 special var then text', '$1abc', 'abc'],
    ['lone $ before a space is kept', 'cost $ 5', 'cost $ 5'],
    ['trailing $ is kept', 'x$', 'x$'],
    ['$ before / is kept', '$/x', '$/x'],
    ['${} is dropped', 'a${}b', 'ab'],
    ['unclosed ${ drops only "${"', 'a${FLY_REGION', 'aFLY_REGION'],
    ['name ends at the first }', '${FLY_REGION}}', 'ams}'],
    ['expanded in comments too (raw text)', '# ${FLY_REGION}', '# ams'],
    ['several in one line', '${FLY_REGION}-${OTHER_REGION}', 'ams-lhr'],
    ['HOSTNAME', '${HOSTNAME}', 'node1'],
  ];
  for (const [name, input, expected] of rows) {
    t.equal(expandLitefsEnv(input, getenv), expected, name);
  }
});

t.test('expansion happens before YAML parsing, so values become booleans', async (t) => {
  const text = [
    'lease:',
    '  type: consul',
    '  candidate: ${FLY_REGION == PRIMARY_REGION}',
    '  promote: ${OTHER_REGION == PRIMARY_REGION}',
  ].join('\n');
  const r = parseLitefsYml('/etc/litefs.yml', text, getenv);
  t.ok(r.ok);
  if (r.ok) {
    t.equal(r.value.leaseCandidate, true);
    t.equal(r.value.leasePromote, false);
  }
  const other = parseLitefsYml('/etc/litefs.yml', text, (n) =>
    n === 'FLY_REGION' ? 'lhr' : getenv(n),
  );
  t.ok(other.ok && other.value.leaseCandidate === false, 'other region is not a candidate');
});

t.test('facts from a full litefs.yml', async (t) => {
  const text = `
fuse:
  dir: "/litefs"
data:
  dir: "/var/lib/litefs"
http:
  addr: ":20202"
proxy:
  addr: ":8080"
  db: "\${DB_NAME}"
lease:
  type: "consul"
  candidate: yes
  promote: off
  reconnect-delay: 100ms
exec:
  - cmd: "litefs-supervisor --db sqlite.db -- npm start"
    if-candidate: false
`;
  const r = parseLitefsYml('/x/litefs.yml', text, (n) => (n === 'DB_NAME' ? 'app.db' : undefined));
  t.same(r, {
    ok: true,
    value: {
      path: '/x/litefs.yml',
      fuseDir: '/litefs',
      dataDir: '/var/lib/litefs',
      httpAddr: ':20202',
      proxyDb: 'app.db',
      leaseType: 'consul',
      leaseCandidate: true,
      leasePromote: false,
      leaseReconnectDelay: { text: '100ms', ms: 100 },
      execCommands: ['litefs-supervisor --db sqlite.db -- npm start'],
    },
  });
});

t.test('exec as one string, empty, and missing sections', async (t) => {
  const one = parseLitefsYml('/l.yml', 'exec: "myapp -addr :8081"', getenv);
  t.ok(
    one.ok &&
      one.value.execCommands.length === 1 &&
      one.value.execCommands[0] === 'myapp -addr :8081',
  );
  const empty = parseLitefsYml('/l.yml', 'exec:\n', getenv);
  t.ok(empty.ok && empty.value.execCommands.length === 0);
  const blank = parseLitefsYml('/l.yml', '', getenv);
  t.same(blank, {
    ok: true,
    value: {
      path: '/l.yml',
      fuseDir: undefined,
      dataDir: undefined,
      httpAddr: undefined,
      proxyDb: undefined,
      leaseType: undefined,
      leaseCandidate: undefined,
      leasePromote: undefined,
      execCommands: [],
    },
  });
});

t.test('structural problems in the keys we read are errors', async (t) => {
  const rows: [string, RegExp][] = [
    ['fuse: [1, 2]', /fuse is a list, expected a mapping/],
    ['fuse:\n  dir: [a]', /fuse.dir is a list, expected text/],
    ['lease:\n  promote: maybe', /lease.promote is "maybe", expected true or false/],
    [
      'lease:\n  reconnect-delay: fast',
      /^lease\.reconnect-delay is "fast", expected a duration with a unit, like "100ms", "1s" or "1m30s"$/,
    ],
    [
      'lease:\n  consul:\n    ttl: 10',
      /^lease\.consul\.ttl is 10, expected a duration with a unit/,
    ],
    [
      'lease:\n  consul:\n    lock-delay: soon',
      /^lease\.consul\.lock-delay is "soon", expected a duration/,
    ],
    ['exec: {cmd: x}', /exec is a mapping, expected a list/],
    ['- a\n- b', /expected a mapping at the top level/],
    ['fuse:\n  dir: a\n  dir: b', /not valid YAML/],
    // A value that expands to YAML syntax breaks the file, as it does for LiteFS.
    ['fuse:\n  dir: ${BAD}', /not valid YAML/],
  ];
  for (const [text, pattern] of rows) {
    const r = parseLitefsYml('/l.yml', text, (n) => (n === 'BAD' ? '[oops' : undefined));
    t.equal(r.ok, false, text);
    if (!r.ok) t.match(r.error, pattern, text);
  }
});

// cmd/litefs/config.go: `ReconnectDelay time.Duration`, which yaml.v3 decodes from text with Go's
// time.ParseDuration only; a number, even 0, is an error there.
t.test('lease.reconnect-delay is read as LiteFS reads a duration', async (t) => {
  const read = (value: string, env: Record<string, string> = {}) =>
    parseLitefsYml('/l.yml', `lease:\n  reconnect-delay: ${value}\n`, (n) => env[n]);
  const rows: [string, { text: string; ms: number } | undefined][] = [
    ['100ms', { text: '100ms', ms: 100 }],
    ['"1s"', { text: '1s', ms: 1000 }],
    ["'1m30s'", { text: '1m30s', ms: 90_000 }],
    ['1.5s', { text: '1.5s', ms: 1500 }],
    ['500us', { text: '500us', ms: 0.5 }],
    ['"0"', { text: '0', ms: 0 }],
    ['-1s', { text: '-1s', ms: -1000 }],
    ['', undefined],
    ['~', undefined],
  ];
  for (const [value, want] of rows) {
    const r = read(value);
    t.ok(r.ok, value || '(empty)');
    t.strictSame(r.ok && r.value.leaseReconnectDelay, want, value || '(empty)');
  }
  const none = parseLitefsYml('/l.yml', 'lease:\n  type: consul\n', getenv);
  t.equal(none.ok && none.value.leaseReconnectDelay, undefined, 'absent');
  const env = read('${DELAY}', { DELAY: '250ms' });
  t.same(env.ok && env.value.leaseReconnectDelay, { text: '250ms', ms: 250 }, 'expanded first');
  for (const [value, shown] of [
    ['0', '0'],
    ['1', '1'],
    ['1.5', '1.5'],
    ['true', 'true'],
    ['"1 s"', '"1 s"'],
    ['1d', '"1d"'],
    ['"2562048h"', '"2562048h"'],
    ['[1s]', 'a list'],
    ['${DELAY}', '"fast"'],
  ] as const) {
    const r = read(value, { DELAY: 'fast' });
    t.equal(r.ok, false, `${value} refused`);
    t.equal(
      !r.ok && r.error,
      `lease.reconnect-delay is ${shown}, expected a duration with a unit, like "100ms", "1s" or "1m30s"`,
      value,
    );
  }
});

t.test('search order: ./litefs.yml, ~/litefs.yml, /etc/litefs.yml', async (t) => {
  t.same(litefsYmlSearchPaths('/app', '/root'), [
    '/app/litefs.yml',
    '/root/litefs.yml',
    '/etc/litefs.yml',
  ]);
  t.same(litefsYmlSearchPaths('/app', undefined), ['/app/litefs.yml', '/etc/litefs.yml']);

  const files = (present: Record<string, string>) => (p: string) => present[p];
  const load = (present: Record<string, string>, explicit?: string) =>
    loadLitefsYml({ explicit, cwd: '/app', home: '/root', readFile: files(present), getenv });

  const all = {
    '/app/litefs.yml': 'fuse:\n  dir: /cwd',
    '/root/litefs.yml': 'fuse:\n  dir: /home',
    '/etc/litefs.yml': 'fuse:\n  dir: /etc',
    '/elsewhere/l.yml': 'fuse:\n  dir: /explicit',
  };
  const dirOf = (r: ReturnType<typeof load>) => (r.ok ? r.facts?.fuseDir : `error ${r.error}`);
  t.equal(dirOf(load(all)), '/cwd', 'cwd first');
  const { '/app/litefs.yml': _cwd, ...noCwd } = all;
  t.equal(dirOf(load(noCwd)), '/home', 'then home');
  const { '/root/litefs.yml': _home, ...onlyEtc } = noCwd;
  t.equal(dirOf(load(onlyEtc)), '/etc', 'then /etc');
  t.equal(dirOf(load(all, '/elsewhere/l.yml')), '/explicit', 'explicit overrides the search');
  t.equal(dirOf(load(all, '../elsewhere/l.yml')), '/explicit', 'explicit is relative to cwd');

  const none = load(all, 'none');
  t.ok(none.ok && none.facts === undefined, 'none disables');
  const notFound = load({});
  t.ok(notFound.ok && notFound.facts === undefined, 'nothing found is not an error');
  t.same(notFound.ok && notFound.searched, [
    '/app/litefs.yml',
    '/root/litefs.yml',
    '/etc/litefs.yml',
  ]);
  const missingExplicit = load(all, '/nope.yml');
  t.same(missingExplicit, { ok: false, path: '/nope.yml', error: 'file not found' });

  const unreadable = loadLitefsYml({
    explicit: undefined,
    cwd: '/app',
    home: '/root',
    getenv,
    readFile: (p) => {
      if (p === '/app/litefs.yml') throw new Error('EACCES: permission denied');
      return all[p as keyof typeof all];
    },
  });
  t.match(
    unreadable,
    { ok: false, path: '/app/litefs.yml', error: /EACCES/ },
    'LiteFS stops at an unreadable file',
  );
});

t.test('http.addr port', async (t) => {
  const rows: [string, number | undefined][] = [
    [':20202', 20202],
    ['0.0.0.0:20202', 20202],
    ['localhost:3000', 3000],
    ['[::]:20202', 20202],
    ['[::1]:20203', 20203],
    ['20202', undefined],
    ['host:', undefined],
    [':99999', undefined],
    ['::1:20202', undefined],
  ];
  for (const [addr, port] of rows) t.equal(httpAddrPort(addr), port, addr);
});

// cmd/litefs/config.go: lease.consul `ttl` and `lock-delay` are time.Durations (LiteFS's defaults
// 10s and 1s when unset, consul/consul.go): before-mount's bound on an expired lease reads them.
t.test('lease.consul.ttl and lock-delay are read as durations; absent is undefined', async (t) => {
  const r = parseLitefsYml(
    '/l.yml',
    'lease:\n  type: consul\n  consul:\n    url: http://c:8500\n    key: k\n    ttl: 4s\n    lock-delay: ${LD}\n',
    (n) => (n === 'LD' ? '1500ms' : undefined),
  );
  t.same(r.ok && r.value.leaseConsulTtl, { text: '4s', ms: 4000 });
  t.same(r.ok && r.value.leaseConsulLockDelay, { text: '1500ms', ms: 1500 }, 'expanded first');
  const none = parseLitefsYml('/l.yml', 'lease:\n  type: consul\n', getenv);
  t.equal(none.ok && none.value.leaseConsulTtl, undefined);
  t.equal(none.ok && none.value.leaseConsulLockDelay, undefined);
});
