// biome-ignore-all lint/suspicious/noTemplateCurlyInString: litefs.yml's own ${VAR} syntax, in plain strings on purpose
// `litefs-supervisor init`'s rewrite of litefs.yml (src/config/init-litefs-yml.ts): on the seed
// incident's litefs.yml, the Epic Stack's shape, the project's own example and made-up blocks,
// every command keeps its argv through the whole chain (LiteFS's `$` expansion, the YAML,
// go-shellwords, then `/bin/sh -c` for the supervisor's commands), every byte outside the three
// edited places stays, every comment stays, nothing is expanded, and a second run changes nothing;
// a Consul lease gets reconnect-delay "100ms" unless it already waits less than 1s.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { isMap, type Node, parseDocument } from 'yaml';
import { parseArgs } from '../../src/config/args.js';
import {
  convertLitefsYml,
  type InitResult,
  looksLikeMigration,
} from '../../src/config/init-litefs-yml.js';
import { scanLitefsRefs } from '../../src/config/litefs-yml.js';
import { loadConfig } from '../../src/config/load.js';
import { ROOT } from '../helpers/cli.js';
import { type Env, litefsArgv, litefsExec, supervisorArgv } from '../helpers/litefs-chain.js';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'init');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

/** The environment a Fly machine of the seed's app has (its Dockerfile's ENV and Fly's). */
export const FLY_ENV: Env = {
  LITEFS_DIR: '/litefs/data',
  DATABASE_FILENAME: 'sqlite.db',
  DATABASE_PATH: '/litefs/data/sqlite.db',
  DATABASE_URL: 'file:/litefs/data/sqlite.db',
  CACHE_DATABASE_FILENAME: 'cache.db',
  CACHE_DATABASE_PATH: '/litefs/data/cache.db',
  INTERNAL_PORT: '8080',
  PORT: '8081',
  FLY_REGION: 'sjc',
  PRIMARY_REGION: 'sjc',
  FLY_APP_NAME: 'launchfast-pro-7369',
  HOSTNAME: 'd891265a6e4738',
  FLY_CONSUL_URL: 'https://:secret-token-1@consul-iad-9.fly-shared.net/launchfast-pro-7369-x/',
};

function converted(t: Test, r: InitResult): string {
  if (r.kind !== 'converted') {
    t.fail(`not converted: ${JSON.stringify(r)}`);
    return '';
  }
  return r.text;
}

/** The old argv of each entry, by what it becomes: the app is the last. */
function oldArgv(text: string, env: Env) {
  const entries = litefsExec(text, env);
  return {
    entries: entries.map((e) => litefsArgv(e.cmd)),
    app: litefsArgv(entries.at(-1)?.cmd ?? ''),
  };
}

/** Same argv through the whole chain, for each environment. */
function sameArgv(t: Test, before: string, after: string, envs: Env[], expect: string[]) {
  for (const env of envs) {
    const old = oldArgv(before, env);
    const run = supervisorArgv(after, env);
    t.same(run.app, old.app, `the app: ${JSON.stringify(old.app)}`);
    const byKind = { setup: run.setup, migrate: run.migrate, before: run.before };
    const got = expect.map((kind) => (byKind[kind as keyof typeof byKind] ?? []).shift());
    t.same(got, old.entries.slice(0, -1), `each command, in order (${expect.join(', ')})`);
  }
}

t.test('the seed incident litefs.yml', async (t) => {
  const before = fixture('seed-litefs.yml');
  const r = convertLitefsYml(before);
  const after = converted(t, r);
  t.match(
    after,
    `exec:
  # litefs-supervisor runs what the exec entries ran, each where it is safe (litefs-supervisor init)
  # Set the journal mode for the database to WAL. This reduces concurrency deadlock issues
  # Set the journal mode for the cache to WAL. This reduces concurrency deadlock issues
  - cmd: >-
      litefs-supervisor --promote
      --migrate "npx prisma migrate deploy"
      --migrate "sqlite3 $DATABASE_PATH 'PRAGMA journal_mode = WAL;'"
      --migrate "sqlite3 $CACHE_DATABASE_PATH 'PRAGMA journal_mode = WAL;'"
      -- npm start
`,
  );
  t.match(after, /\n {2}promote: false\n/);
  sameArgv(
    t,
    before,
    after,
    [FLY_ENV, { ...FLY_ENV, DATABASE_PATH: '/litefs/my data/x.db' }],
    ['migrate', 'migrate', 'migrate'],
  );
  t.same(r.kind === 'converted' && r.warnings, [], 'every if-candidate entry is a migration');
});

t.test('the Epic Stack: the swap setup stays first, on every node', async (t) => {
  const before = fixture('epic-stack-litefs.yml');
  const r = convertLitefsYml(before);
  const after = converted(t, r);
  t.match(
    after,
    `  - cmd: >-
      litefs-supervisor --promote
      --setup "node ./other/setup-swap.js"
      --migrate "npx prisma migrate deploy"
      -- npm start
`,
  );
  sameArgv(t, before, after, [FLY_ENV], ['setup', 'migrate']);
  t.match(r.kind === 'converted' && r.mappings.map((m) => m.as), ['setup', 'migrate', 'app']);
});

t.test("the project's own litefs.yml.example is already converted", async (t) => {
  const r = convertLitefsYml(readFileSync(join(ROOT, 'litefs.yml.example'), 'utf8'));
  t.equal(r.kind, 'already');
  t.match(r.kind === 'already' && r.line, /^litefs-supervisor --db app.db --promote/);
});

t.test('every byte outside the three edited places stays; every comment stays', async (t) => {
  for (const name of ['seed-litefs.yml', 'epic-stack-litefs.yml']) {
    const before = fixture(name);
    const after = converted(t, convertLitefsYml(before));
    const doc = parseDocument(before);
    const lease = doc.get('lease', true);
    const promote = (isMap(lease) ? lease.get('promote', true) : undefined) as Node;
    const type = (isMap(lease) ? lease.get('type', true) : undefined) as Node;
    const exec = doc.get('exec', true) as Node;
    const [pS, pE] = promote.range as [number, number, number];
    // reconnect-delay goes on a line of its own right after `type: 'consul'`.
    const tE = before.indexOf('\n', (type.range as [number, number, number])[1]) + 1;
    const eS = (exec.range as [number, number, number])[0];
    let eE = (exec.range as [number, number, number])[1];
    while (/\s/.test(before[eE - 1] ?? '')) eE--;
    const head = `${before.slice(0, tE)}  reconnect-delay: "100ms"\n${before.slice(tE, pS)}`;
    const middle = before.slice(pE, eS);
    const tail = before.slice(eE);
    t.ok(after.startsWith(`${head}false${middle}`), `${name}: identical up to the exec block`);
    t.ok(after.endsWith(tail), `${name}: identical after it`);
    for (const m of before.matchAll(/#[^\n]*/g)) {
      t.ok(after.includes(m[0]), `${name}: keeps ${m[0].slice(0, 50)}`);
    }
  }
});

t.test('nothing is expanded: the references are those of the old file', async (t) => {
  for (const name of ['seed-litefs.yml', 'epic-stack-litefs.yml']) {
    const before = fixture(name);
    const after = converted(t, convertLitefsYml(before));
    const refs = (s: string) => new Set(scanLitefsRefs(s).map((r) => s.slice(r.start, r.end)));
    const old = refs(before);
    for (const ref of refs(after)) t.ok(old.has(ref), `${name}: ${ref} was in the old file`);
    t.match(after, 'candidate: ${FLY_REGION == PRIMARY_REGION}');
    t.match(after, "url: '${FLY_CONSUL_URL}'");
  }
});

t.test('a second run changes nothing', async (t) => {
  for (const name of ['seed-litefs.yml', 'epic-stack-litefs.yml']) {
    const after = converted(t, convertLitefsYml(fixture(name)));
    const again = convertLitefsYml(after);
    t.equal(again.kind, 'already', name);
  }
});

t.test('the rewritten file passes check with no warning', async (t) => {
  for (const name of ['seed-litefs.yml', 'epic-stack-litefs.yml']) {
    const after = converted(t, convertLitefsYml(fixture(name)));
    const { args } = supervisorArgv(after, FLY_ENV);
    const parsed = parseArgs(['check', ...args]);
    if (!parsed.ok || parsed.command !== 'check') throw new Error('check refuses the line');
    const loaded = loadConfig({
      mode: 'check',
      options: parsed.options,
      command: parsed.app,
      env: FLY_ENV,
      cwd: '/myapp',
      home: '/root',
      readFile: (p) => (p === '/etc/litefs.yml' ? after : undefined),
      hostname: FLY_ENV.HOSTNAME,
    });
    t.ok(loaded.ok, `${name}: valid`);
    t.same(loaded.ok && loaded.warnings, [], `${name}: no warning`);
    t.same(loaded.ok && loaded.config.db, ['sqlite.db'], `${name}: --db from proxy.db`);
  }
});

/** A litefs.yml with this exec block (entries as YAML lines) and promote. */
function yml(exec: string, more = 'proxy:\n  db: "app.db"\n'): string {
  return `# a test file\n${more}lease:\n  type: "consul"\n  promote: true\nexec:\n${exec}`;
}

t.test('argv kept through the whole chain: quoting, references, odd words', async (t) => {
  const env: Env = {
    A: 'a value',
    B: 'b',
    EMPTY: '',
    DB: '/litefs/my db.sqlite',
    FLY_REGION: 'ams',
    PRIMARY_REGION: 'ams',
  };
  const cases: { name: string; exec: string; kinds: string[] }[] = [
    {
      name: 'quoted and unquoted references, adjacent and inside words',
      exec: [
        `  - cmd: sqlite3 $DB "PRAGMA journal_mode = WAL;"`,
        '    if-candidate: true',
        `  - cmd: 'echo "$A" $A $A$B \${B}x $B-x pre$B "in $A side" $EMPTY "$EMPTY"'`,
        '    if-candidate: true',
        `  - cmd: node app.js --region "\${FLY_REGION == PRIMARY_REGION}" $A "$A"`,
      ].join('\n'),
      kinds: ['migrate', 'migrate'],
    },
    {
      name: 'quotes inside quotes, backslashes, empty words, shell characters kept literal',
      exec: [
        `  - cmd: 'prep "it''s" ''say "hi"'' a\\ b "a\\"b" "" ''*.sql'' ~ "#x" "x;y" "a|b" "(not)"'`,
        `  - cmd: migrate "a&&b" 'c > d' "e\`f\`"`,
        '    if-candidate: true',
        `  - cmd: after --flag=value "two words"`,
        `  - cmd: '/usr/bin/app "" "with space"'`,
      ].join('\n'),
      kinds: ['setup', 'migrate', 'before'],
    },
    {
      name: 'a line break inside a quoted word: the line becomes a double-quoted YAML scalar',
      exec: [`  - cmd: "prep 'two\\nlines' \\"$A\\""`, '  - cmd: app "x\ty"'].join('\n'),
      kinds: ['setup'],
    },
    {
      name: 'a first word sh would read as an assignment or a keyword',
      exec: ['  - cmd: FOO=1 prog', '  - cmd: if then', '  - cmd: app'].join('\n'),
      kinds: ['setup', 'setup'],
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const before = yml(`${c.exec}\n`);
      const r = convertLitefsYml(before);
      sameArgv(t, before, converted(t, r), [env, { ...env, A: 'x' }], c.kinds);
    });
  }
});

t.test('refuses what LiteFS would mangle, naming the entry', async (t) => {
  const cases: [string, RegExp][] = [
    [
      'npx prisma migrate deploy && echo ok',
      /exec entry 1 `npx prisma migrate deploy && echo ok`.*an unquoted `&&`.*"&& echo ok"/,
    ],
    ['migrate; echo done', /an unquoted `;`/],
    ['migrate > /tmp/log', /an unquoted `>`/],
    ['cmd | tee x', /an unquoted `\|`/],
    ['echo cost $ 5', /a lone `\$`/],
    ['echo $(date)', /a lone `\$`/],
    ['echo $1', /`\$1`: LiteFS reads it as the environment variable "1"/],
    ['echo ${', /an empty or unclosed/],
    ['echo `date`', /an unquoted `` ` ``|an unquoted `/],
    ['echo (a)', /LiteFS cannot split it/],
    ['echo "unclosed', /LiteFS cannot split it/],
    ['echo a)b', /an unquoted `\)`|LiteFS cannot split it/],
  ];
  for (const [cmd, re] of cases) {
    const r = convertLitefsYml(
      yml(`  - cmd: ${JSON.stringify(cmd)}\n    if-candidate: true\n  - cmd: npm start\n`),
    );
    t.equal(r.kind, 'refused', cmd);
    t.match(r.kind === 'refused' && r.problems.join('\n'), re, cmd);
  }
});

t.test('refuses what it cannot map, naming the entry and why', async (t) => {
  const cases: [string, string, RegExp][] = [
    [
      'an every-node entry between two migrations',
      '  - cmd: m1\n    if-candidate: true\n  - cmd: warm-cache\n  - cmd: m2\n    if-candidate: true\n  - cmd: app\n',
      /exec entry 2 `warm-cache` runs on every node between two migrations/,
    ],
    [
      'the app only on candidates',
      '  - cmd: m1\n    if-candidate: true\n  - cmd: app\n    if-candidate: true\n',
      /exec entry 2 `app` \(if-candidate\) is the last entry, the app, and runs on candidates only/,
    ],
    [
      'if-candidate from the environment',
      '  - cmd: m1\n    if-candidate: ${CAND}\n  - cmd: app\n',
      /exec entry 1: if-candidate is set from the environment/,
    ],
    ['an unknown key', '  - cmd: m1\n    when: always\n  - cmd: app\n', /unknown key "when"/],
    ['a string item', '  - m1\n  - cmd: app\n', /exec entry 1 is not a `cmd:` mapping/],
    [
      'the supervisor beside other entries',
      '  - cmd: m1\n  - cmd: litefs-supervisor -- app\n',
      /exec runs litefs-supervisor beside 1 other entry \(exec entry 1 `m1`\)/,
    ],
    [
      'the supervisor without --promote while LiteFS promotes',
      '  - cmd: litefs-supervisor -- app\n',
      /lease.promote is true and the line has no --promote/,
    ],
  ];
  for (const [name, exec, re] of cases) {
    const r = convertLitefsYml(yml(exec));
    t.equal(r.kind, 'refused', name);
    t.match(r.kind === 'refused' && r.problems.join('\n'), re, name);
  }
  const noDb = convertLitefsYml(yml('  - cmd: app\n', ''));
  t.match(noDb.kind === 'refused' && noDb.problems, [/no proxy.db/]);
  const noExec = convertLitefsYml('lease:\n  promote: true\nproxy:\n  db: a.db\n');
  t.match(noExec.kind === 'refused' && noExec.problems, [/no exec entry/]);
});

t.test('maps and warns: what runs where now', async (t) => {
  const r = convertLitefsYml(
    yml(
      [
        '  - cmd: node ./other/setup-swap.js',
        '  - cmd: node ./warm.js',
        '    if-candidate: true',
        '  - cmd: npx prisma migrate deploy',
        '  - cmd: node ./after.js',
        '  - cmd: npm start',
        '',
      ].join('\n'),
    ),
  );
  t.equal(r.kind, 'converted');
  if (r.kind !== 'converted') return;
  t.same(
    r.mappings.map((m) => m.as),
    ['setup', 'migrate', 'migrate', 'before', 'app'],
  );
  t.match(r.warnings, [
    /exec entry 2 `node \.\/warm\.js` \(if-candidate\) does not look like a migration.*now runs on the primary only/,
  ]);
  t.match(
    r.notes.join('\n'),
    /exec entry 3 `npx prisma migrate deploy` -> --migrate: it writes the database/,
  );
});

t.test('shapes of exec and promote', async (t) => {
  const one = convertLitefsYml('proxy:\n  db: a.db\nexec: "node app.js --port 8081"\n');
  t.equal(one.kind, 'converted');
  t.match(
    one.kind === 'converted' && one.text,
    'exec:\n  # litefs-supervisor runs what the exec entries ran, each where it is safe (litefs-supervisor init)\n  - cmd: >-\n      litefs-supervisor\n      -- node app.js --port 8081\n',
  );
  const compact = convertLitefsYml(
    'proxy:\n  db: a.db\nexec:\n- cmd: m\n  if-candidate: true\n- cmd: app # the app\nafter: 1\n',
  );
  t.match(
    compact.kind === 'converted' && compact.text,
    'exec:\n# litefs-supervisor runs what the exec entries ran, each where it is safe (litefs-supervisor init)\n# the app\n- cmd: >-\n    litefs-supervisor\n    --migrate m\n    -- app\nafter: 1\n',
  );
  const yes = convertLitefsYml(
    'lease:\n  promote: yes # LiteFS reads yes\nproxy:\n  db: a.db\nexec: app\n',
  );
  t.match(yes.kind === 'converted' && yes.text, 'promote: false # LiteFS reads yes');
  t.match(yes.kind === 'converted' && yes.line, 'litefs-supervisor --promote -- app');
  const off = convertLitefsYml('lease:\n  promote: false\nproxy:\n  db: a.db\nexec: app\n');
  t.match(off.kind === 'converted' && off.line, /^litefs-supervisor -- app$/);
  const env = convertLitefsYml('lease:\n  promote: ${PROMOTE}\nproxy:\n  db: a.db\nexec: app\n');
  t.match(env.kind === 'converted' && env.text, 'promote: false');
  t.match(env.kind === 'converted' && env.notes.join('\n'), /came from the environment/);
  const flipOnly = convertLitefsYml(
    'lease:\n  promote: true\nexec:\n  - cmd: litefs-supervisor --promote -- app\n',
  );
  t.equal(flipOnly.kind, 'converted');
  t.match(
    flipOnly.kind === 'converted' && flipOnly.text,
    'promote: false\nexec:\n  - cmd: litefs-supervisor --promote -- app\n',
  );
});

t.test('looksLikeMigration', async (t) => {
  for (const yes of [
    'npx prisma migrate deploy',
    'npm run db:migrate',
    'sqlite3 /litefs/x.db "PRAGMA journal_mode = WAL;"',
    'npx prisma db push',
    'node seed.js',
    'npx drizzle-kit migrate',
  ]) {
    t.ok(looksLikeMigration(yes), yes);
  }
  for (const no of ['node ./other/setup-swap.js', 'npm start', 'node server.js']) {
    t.notOk(looksLikeMigration(no), no);
  }
});

t.test('a file with CRLF line ends keeps them', async (t) => {
  const before = fixture('epic-stack-litefs.yml').replace(/\n/g, '\r\n');
  const after = converted(t, convertLitefsYml(before));
  t.notMatch(after, /[^\r]\n/, 'every line ends with CRLF');
  sameArgv(t, before, after, [FLY_ENV], ['setup', 'migrate']);
});

t.test('duplicate keys: refused, as LiteFS refuses them', async (t) => {
  const r = convertLitefsYml('proxy:\n  db: a.db\nexec: a\nexec: b\n');
  t.match(r.kind === 'refused' && r.problems, [/not valid YAML as written: .*unique/i]);
});

// After an expiry the running nodes retry the free lease every reconnect-delay (LiteFS's default
// 1s), and a machine that has just started with an older database can take it first
// (docs/litefs-facts.md, "A free lease goes to the first candidate"): init sets "100ms".
t.test('lease.reconnect-delay: added, changed, or left', async (t) => {
  const done = 'exec:\n  - cmd: litefs-supervisor --promote -- app\n';
  const consul = (lease: string) => `# kept\nlease:\n  type: consul # the lease\n${lease}${done}`;

  t.test('absent, on a file already converted: added, the rest byte for byte', async (t) => {
    const before = consul('  promote: false\n');
    const r = convertLitefsYml(before);
    t.equal(r.kind, 'converted', 'offered although the exec block is done');
    if (r.kind !== 'converted') return;
    t.equal(
      r.text,
      `# kept\nlease:\n  type: consul # the lease\n  reconnect-delay: "100ms"\n  promote: false\n${done}`,
    );
    t.equal(r.line, 'litefs-supervisor --promote -- app');
    t.same(r.mappings, []);
    t.match(r.notes, [
      /^lease\.reconnect-delay: not set \(LiteFS's default 1s\) -> "100ms": the running nodes look for a free lease within 100 ms/,
    ]);
    t.equal(convertLitefsYml(r.text).kind, 'already', 'a second run changes nothing');
  });

  t.test('1s or more: changed, old -> new; the rest byte for byte', async (t) => {
    for (const value of ['1s', '"1s"', "'1000ms'", '2s', '1m30s', '~']) {
      const before = consul(`  reconnect-delay: ${value} # as it was\n  promote: false\n`);
      const r = convertLitefsYml(before);
      t.equal(r.kind, 'converted', value);
      if (r.kind !== 'converted') continue;
      t.equal(
        r.text,
        before.replace(`reconnect-delay: ${value} #`, 'reconnect-delay: "100ms" #'),
        `${value}: only the value changes`,
      );
      const old = value === '~' ? "empty \\(LiteFS's default 1s\\)" : value.replace(/['"]/g, '');
      t.match(r.notes, [new RegExp(`^lease\\.reconnect-delay: ${old} -> "100ms": `)], value);
    }
  });

  t.test('an empty value: LiteFS reads its default, so it is set', async (t) => {
    const bare = convertLitefsYml(consul('  reconnect-delay:\n'));
    t.match(bare.kind === 'converted' && bare.text, '\n  reconnect-delay: "100ms"\nexec:');
    const comment = convertLitefsYml(consul('  reconnect-delay: # later\n'));
    t.match(comment.kind === 'converted' && comment.text, '\n  reconnect-delay: "100ms" # later\n');
  });

  t.test('below 1s, from the environment, or not a Consul lease: left', async (t) => {
    for (const lease of [
      '  reconnect-delay: 100ms\n',
      '  reconnect-delay: "500ms"\n',
      '  reconnect-delay: 999ms\n',
      '  reconnect-delay: "0"\n',
      '  reconnect-delay: ${RECONNECT_DELAY}\n',
    ]) {
      const r = convertLitefsYml(consul(lease));
      t.equal(r.kind, 'already', lease.trim());
    }
    for (const text of [
      `lease:\n  type: static\n${done}`,
      `lease:\n  type: \${LEASE_TYPE}\n${done}`,
      done,
    ]) {
      t.equal(convertLitefsYml(text).kind, 'already', text.split('\n')[1] ?? '');
    }
  });

  t.test('the whole conversion adds it too; a non-candidate file gets it as well', async (t) => {
    const before = `lease:\n  type: "consul"\n  candidate: false\n  promote: false\nproxy:\n  db: "app.db"\nexec:\n  - cmd: npm start\n`;
    const r = convertLitefsYml(before);
    t.match(r.kind === 'converted' && r.text, 'type: "consul"\n  reconnect-delay: "100ms"\n');
    t.match(r.kind === 'converted' && r.notes[0], /^lease\.reconnect-delay: not set/, 'first');
  });

  t.test('a flow mapping, the last line without a newline, CRLF', async (t) => {
    const flow = convertLitefsYml(`lease: {type: consul, promote: false}\n${done}`);
    t.match(
      flow.kind === 'converted' && flow.text,
      'lease: {reconnect-delay: "100ms", type: consul',
    );
    const last = convertLitefsYml(`${done}lease:\n  type: consul`);
    t.equal(
      last.kind === 'converted' && last.text,
      `${done}lease:\n  type: consul\n  reconnect-delay: "100ms"`,
    );
    const crlf = convertLitefsYml(consul('').replace(/\n/g, '\r\n'));
    t.match(
      crlf.kind === 'converted' && crlf.text,
      '# the lease\r\n  reconnect-delay: "100ms"\r\nexec:',
    );
  });

  t.test(
    'a value LiteFS refuses: refused, naming the key, the value and what is accepted',
    async (t) => {
      const rows: [string, RegExp][] = [
        [
          'fast',
          /^lease\.reconnect-delay is "fast", expected a duration with a unit, like "100ms", "1s" or "1m30s" \(LiteFS refuses it\)$/,
        ],
        ['1', /^lease\.reconnect-delay is 1, expected a duration with a unit/],
        ['0', /^lease\.reconnect-delay is 0, expected a duration with a unit/],
        ['[1s]', /^lease\.reconnect-delay is not a duration \(LiteFS refuses it\)/],
      ];
      for (const [value, re] of rows) {
        const r = convertLitefsYml(consul(`  reconnect-delay: ${value}\n`));
        t.equal(r.kind, 'refused', value);
        t.match(r.kind === 'refused' && r.problems, [re], value);
      }
    },
  );
});
