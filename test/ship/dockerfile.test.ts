// The Dockerfile cannot be built here (no Docker engine), so it is read and checked instead:
// every file it takes from the build context exists in the repository and survives
// .dockerignore, ENTRYPOINT/CMD are the documented ones, the final stage has what LiteFS needs,
// and the supervisor it installs is the one litefs.yml.example's exec line runs.

import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import {
  copySpec,
  type Dockerfile,
  type Instruction,
  isIgnored,
  parseDockerfile,
  parseDockerignore,
  type Stage,
  stageNamed,
} from './dockerfile.js';
import { loadExampleExec, ROOT, readRepoFile } from './example-config.js';

t.test('the reader: directives, continuations, comments, forms, flags, stages', async (t) => {
  const df = parseDockerfile(
    [
      '# syntax=docker/dockerfile:1',
      '# escape=\\',
      '',
      'ARG BASE=node:20',
      '# a comment',
      'from node:20 as Build',
      'RUN apt-get update \\',
      '  # a comment inside the continuation',
      '',
      ' && apt-get install -y x',
      'COPY --from=build --chown=1:1 a b /dst/',
      'COPY ["with space", "/d"]',
      'FROM scratch',
      'ENTRYPOINT ["/bin/tini", "--"]',
      'CMD litefs mount',
      'CMD [not json',
    ].join('\n'),
  );
  t.same(df.directives, { syntax: 'docker/dockerfile:1', escape: '\\' });
  t.equal(df.preamble[0]?.keyword, 'ARG');
  t.equal(df.stages.length, 2);
  const build = df.stages[0] as Stage;
  t.equal(build.name, 'build', 'stage names are lower-cased');
  t.equal(build.image, 'node:20');
  const run = build.instructions[0] as Instruction;
  t.equal(run.keyword, 'RUN');
  t.equal(run.line, 7);
  t.equal(run.args, 'apt-get update  && apt-get install -y x', 'continuation joined');
  t.same(copySpec(build.instructions[1] as Instruction), {
    keyword: 'COPY',
    line: 11,
    from: 'build',
    sources: ['a', 'b'],
    dest: '/dst/',
  });
  t.same(copySpec(build.instructions[2] as Instruction).sources, ['with space']);
  const final = df.stages[1] as Stage;
  t.same(final.instructions[0]?.json, ['/bin/tini', '--']);
  t.equal(final.instructions[1]?.json, undefined, 'shell form');
  t.equal(final.instructions[2]?.json, undefined, 'not JSON: shell form');
  t.equal(stageNamed(df, 'BUILD')?.index, 0);
  t.equal(stageNamed(df, '1')?.index, 1);
  t.equal(stageNamed(df, 'flyio/litefs:0.5'), undefined, 'an image, not a stage');
  t.throws(() => parseDockerfile('RUN x'), /before the first FROM/);
  t.throws(() => parseDockerfile('FROM a\nRUN <<EOF\nx\nEOF'), /heredocs/);
  t.throws(() => copySpec(parseDockerfile('FROM a\nCOPY $X /y').stages[0]!.instructions[0]!));
});

t.test('the .dockerignore matcher', async (t) => {
  const p = parseDockerignore(
    ['# comment', 'node_modules', '/dist/', '*.tgz', '**/secret', 'docs', '!docs/keep.md'].join(
      '\n',
    ),
  );
  const rows: [string, boolean][] = [
    ['node_modules', true],
    ['node_modules/x/y.js', true],
    ['sub/node_modules', false],
    ['dist/cli/main.js', true],
    ['a.tgz', true],
    ['sub/a.tgz', false],
    ['secret', true],
    ['a/b/secret', true],
    ['docs/deploying.md', true],
    ['docs/keep.md', false],
    ['src/cli/main.ts', false],
  ];
  for (const [path, ignored] of rows) t.equal(isIgnored(path, p), ignored, path);
});

const dockerfile: Dockerfile = parseDockerfile(readRepoFile('Dockerfile'));
const ignore = parseDockerignore(readRepoFile('.dockerignore'));
const final = dockerfile.stages.at(-1) as Stage;
const pkg = JSON.parse(readRepoFile('package.json')) as {
  bin: Record<string, string>;
  scripts: Record<string, string>;
};

/** Files a clean clone has once this work is committed: tracked, or new and not git-ignored. */
const repoFiles = new Set(
  execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((f) => f !== '' && existsSync(`${ROOT}${f}`)),
);

function contextFilesUnder(source: string): string[] {
  const clean = posix.normalize(source).replace(/\/$/, '');
  return [...repoFiles].filter((f) => f === clean || f.startsWith(`${clean}/`));
}

t.test('every COPY/ADD source from the build context is in the repository', async (t) => {
  let checked = 0;
  for (const stage of dockerfile.stages) {
    for (const ins of stage.instructions) {
      if (ins.keyword !== 'COPY' && ins.keyword !== 'ADD') continue;
      const spec = copySpec(ins);
      if (spec.from !== undefined) {
        const from = stageNamed(dockerfile, spec.from);
        if (from)
          t.ok(from.index < stage.index, `line ${ins.line}: --from=${spec.from} is earlier`);
        else
          t.equal(
            spec.from,
            'flyio/litefs:0.5',
            `line ${ins.line}: only LiteFS comes from an image`,
          );
        continue;
      }
      t.not(ins.keyword, 'ADD', `line ${ins.line}: COPY, not ADD, for local files`);
      for (const source of spec.sources) {
        checked++;
        t.notOk(/[*?[]/.test(source), `line ${ins.line}: ${source} is a plain path`);
        t.ok(existsSync(`${ROOT}${source}`), `line ${ins.line}: ${source} exists`);
        t.notOk(isIgnored(source, ignore), `line ${ins.line}: ${source} is not in .dockerignore`);
        const files = contextFilesUnder(source);
        t.ok(files.length > 0, `line ${ins.line}: ${source} is in git (a clean clone has it)`);
        const sent = files.filter((f) => !isIgnored(f, ignore));
        t.ok(sent.length > 0, `line ${ins.line}: ${source} has files in the build context`);
      }
    }
  }
  t.ok(checked >= 8, `checked ${checked} sources`);
});

t.test('.dockerignore keeps host builds and local data out of the image', async (t) => {
  for (const path of [
    'node_modules/better-sqlite3/build/Release/better_sqlite3.node',
    'dist/cli/main.js',
    'example/data/app.db',
    '.git/HEAD',
    'litefs.yml',
  ]) {
    t.ok(isIgnored(path, ignore), path);
  }
});

t.test('the build stage gets every file `npm run build` reads', async (t) => {
  const build = stageNamed(dockerfile, 'build') as Stage;
  const copied = build.instructions
    .filter((i) => i.keyword === 'COPY')
    .map(copySpec)
    .filter((c) => c.from === undefined)
    .flatMap((c) => c.sources.map((s) => posix.normalize(s).replace(/\/$/, '')));
  const covered = (path: string) => copied.some((c) => path === c || path.startsWith(`${c}/`));
  const tsconfig = JSON.parse(readRepoFile('tsconfig.json')) as { include: string[] };
  const needed = [
    'package.json',
    'package-lock.json',
    'tsconfig.json',
    ...tsconfig.include,
    // Files named in the build script, like scripts/bundle.mjs.
    ...(pkg.scripts.build?.match(/[\w./-]+\.(?:m?js|json|ts)\b/g) ?? []),
  ];
  for (const path of needed) t.ok(covered(path), `${path} is copied into the build stage`);
  t.ok(
    build.instructions.some((i) => i.keyword === 'RUN' && /\bnpm run build\b/.test(i.args)),
    'it runs npm run build',
  );
});

function finalRuns(): string[] {
  return final.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
}

t.test(
  'the final stage: node:20-bookworm-slim, fuse3, ca-certificates, tini, LiteFS',
  async (t) => {
    t.equal(final.image, 'node:20-bookworm-slim');
    const apt = finalRuns().find((r) => /apt-get install/.test(r));
    t.ok(apt, 'an apt-get install in the final stage');
    if (apt) {
      const words = apt.split(/\s+/);
      for (const p of ['fuse3', 'ca-certificates', 'tini']) t.ok(words.includes(p), p);
      t.ok(words.includes('--no-install-recommends'), 'no recommends');
      t.match(apt, /apt-get update\s+&&/, 'apt-get update in the same RUN');
      t.match(apt, /rm -rf \/var\/lib\/apt\/lists\/\*\s*$/, 'lists cleaned in the same RUN');
    }
    const litefs = final.instructions.find(
      (i) => i.keyword === 'COPY' && i.flags.from === 'flyio/litefs:0.5',
    );
    t.ok(litefs, 'LiteFS from flyio/litefs:0.5');
    if (litefs) {
      t.same(copySpec(litefs).sources, ['/usr/local/bin/litefs']);
      t.equal(copySpec(litefs).dest, '/usr/local/bin/litefs');
    }
    const yml = final.instructions
      .filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')
      .map(copySpec)
      .find((c) => c.sources.includes('litefs.yml.example'));
    t.equal(yml?.dest, '/etc/litefs.yml', 'litefs.yml.example is /etc/litefs.yml');
  },
);

t.test('ENTRYPOINT and CMD are exactly the documented ones, in exec form', async (t) => {
  const last = (k: string) => final.instructions.filter((i) => i.keyword === k).at(-1);
  t.same(last('ENTRYPOINT')?.json, ['/usr/bin/tini', '-s', '--'], 'tini (as subreaper on Fly)');
  t.same(last('CMD')?.json, ['sh', '-c', 'litefs-supervisor before-mount && exec litefs mount']);
  for (const stage of dockerfile.stages.slice(0, -1)) {
    t.notOk(
      stage.instructions.some((i) => i.keyword === 'ENTRYPOINT' || i.keyword === 'CMD'),
      `build stage ${stage.name} sets no ENTRYPOINT/CMD`,
    );
  }
  const docs = readRepoFile('docs/deploying.md');
  t.ok(docs.includes('`ENTRYPOINT ["/usr/bin/tini", "-s", "--"]`'), 'docs/deploying.md says so');
  t.ok(docs.includes('`CMD ["sh", "-c", "litefs-supervisor before-mount && exec litefs mount"]`'));
});

/** ENV k=v pairs of a stage (the form this Dockerfile uses). */
function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of stage.instructions.filter((x) => x.keyword === 'ENV')) {
    for (const pair of i.args.split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

/** Absolute paths the final stage's COPY instructions create (files, or directories). */
function finalInstalled(): Map<string, { from: string | undefined; source: string }> {
  const out = new Map<string, { from: string | undefined; source: string }>();
  let workdir = '/';
  for (const i of final.instructions) {
    if (i.keyword === 'WORKDIR') workdir = posix.resolve(workdir, i.args);
    if (i.keyword !== 'COPY') continue;
    const c = copySpec(i);
    const dest = posix.resolve(workdir, c.dest);
    const intoDir = c.sources.length > 1 || c.dest.endsWith('/');
    for (const source of c.sources) {
      const path = intoDir ? posix.join(dest, posix.basename(source)) : dest;
      out.set(path, { from: c.from, source });
    }
  }
  return out;
}

t.test('the supervisor it installs is what the exec line of litefs.yml.example runs', async (t) => {
  const { argv, loaded } = loadExampleExec();
  const binName = argv[0] as string;
  const binPath = pkg.bin[binName];
  t.ok(binPath, `package.json bin has ${binName}`);

  // RUN ln -s <install dir>/<bin path> /usr/local/bin/<bin name>
  const link = finalRuns()
    .map((r) => /\bln -s\s+(\S+)\s+(\S+)/.exec(r))
    .find((m) => m?.[2] === `/usr/local/bin/${binName}`);
  t.ok(link, `/usr/local/bin/${binName} is linked (on the node image's PATH)`);
  const target = link?.[1] ?? '';
  const installed = finalInstalled();
  const dir = [...installed.keys()].find((p) => target.startsWith(`${p}/`));
  t.ok(dir, `${target} is inside a directory the final stage copies`);
  t.equal(posix.relative(dir ?? '', target), binPath, 'the link points at package.json bin');
  const origin = dir === undefined ? undefined : installed.get(dir);
  t.equal(origin?.from, 'build', 'copied from the build stage');

  // The build stage makes that file executable (npm pack stores bins as 0644; npm install
  // would chmod them, a plain tar extraction does not).
  const build = stageNamed(dockerfile, 'build') as Stage;
  const buildRuns = build.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
  t.ok(
    buildRuns.some(
      (r) => r.includes(`cd ${origin?.source}`) && r.includes(`chmod 0755 ${binPath}`),
    ),
    `the build stage chmods ${binPath} in ${origin?.source}`,
  );
  t.match(readRepoFile('src/cli/main.ts'), /^#!\/usr\/bin\/env node\n/, 'the bin has a shebang');

  // The commands in the exec line point at files the image has.
  if (!loaded.ok) throw new Error('example exec line refused');
  const app = loaded.config.command;
  const paths = [...app, ...loaded.config.migrate.flatMap((m) => m.split(/\s+/))].filter((w) =>
    w.startsWith('/app/'),
  );
  t.ok(paths.length >= 2, `exec line files: ${paths.join(', ')}`);
  for (const p of paths) t.ok(installed.has(p), `${p} is copied into the image`);

  // The app's environment agrees with litefs.yml.example.
  const env = envOf(final);
  const facts = loadExampleExec().facts;
  t.equal(env.DATABASE_PATH, posix.join(facts.fuseDir ?? '', facts.proxyDb ?? ''), 'DATABASE_PATH');
  const yml = parse(readRepoFile('litefs.yml.example')) as { proxy: { target: string } };
  t.equal(env.PORT, yml.proxy.target.split(':').at(-1), 'the app listens at proxy.target');
});

t.test('the example app gets the better-sqlite3 version of the lock file', async (t) => {
  const lock = JSON.parse(readRepoFile('package-lock.json')) as {
    packages: Record<string, { version: string }>;
  };
  const locked = lock.packages['node_modules/better-sqlite3']?.version;
  const stage = stageNamed(dockerfile, 'example-deps') as Stage;
  const arg = stage.instructions.find(
    (i) => i.keyword === 'ARG' && i.args.startsWith('BETTER_SQLITE3_VERSION='),
  );
  t.equal(arg?.args.split('=')[1], locked, `ARG BETTER_SQLITE3_VERSION=${locked}`);
  const installed = finalInstalled();
  t.equal(installed.get('/app/node_modules')?.from, 'example-deps', 'node_modules next to the app');
  t.ok(statSync(`${ROOT}example/app.mjs`).isFile());
});
