// What `npm pack` ships: the bin (with its shebang, executable), everything it imports, the
// README and package.json, and nothing else (no sources, tests, testkit's fakes, simulator and
// demo, example data or source maps). Then the tarball is installed into an empty project and
// run, as a user would, offline: the project's lock pins the repository's runtime dependencies,
// found in npm's cache.
// Needs `npm run build` first (npm test does it).

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { ROOT, readRepoFile } from './example-config.js';

const run = promisify(execFile);

interface PackFile {
  path: string;
  size: number;
  mode: number;
}

// npm run sets npm_config_* variables for its children; a nested npm must not inherit them
// (npm test runs with --silent, dry-run flags and the like would leak in).
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_/i.test(k)) env[k] = v;
  }
  return env;
}

const pkg = JSON.parse(readRepoFile('package.json')) as {
  name: string;
  version: string;
  bin: Record<string, string>;
};

t.test('the file list', async (t) => {
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    env: npmEnv(),
    maxBuffer: 16 * 1024 * 1024,
  });
  const [result] = JSON.parse(stdout) as [{ files: PackFile[]; entryCount: number }];
  const files = new Map(result.files.map((f) => [f.path, f]));
  const paths = [...files.keys()];

  for (const [name, bin] of Object.entries(pkg.bin)) {
    const file = files.get(bin);
    t.ok(file, `bin ${name} -> ${bin} is shipped (run npm run build first)`);
    if (!file) continue;
    t.ok(file.mode & 0o111, `${bin} is executable in the tarball (mode ${file.mode.toString(8)})`);
    t.match(
      readFileSync(join(ROOT, bin), 'utf8'),
      /^#!\/usr\/bin\/env node\n/,
      `${bin} starts with a node shebang`,
    );
  }
  t.ok(files.has('package.json'), 'package.json (the CLI reads its version from it)');
  t.ok(files.has('README.md'), 'README.md');

  const refused: [RegExp, string][] = [
    [/^src\//, 'TypeScript sources'],
    [/^test\//, 'tests'],
    [
      /(^|\/)(testkit|sim|dist-testkit)\/|(^|\/)(fake-litefs|cluster|real-(litefs|incident)|demo-incident(-real)?)\.js$/,
      'testkit: the fakes, the simulated cluster, the real-LiteFS harness and the demo',
    ],
    [/^(example|bench|scripts|docs|\.ci|\.tap|node_modules)\//, 'repository-only folders'],
    [/\.map$/, 'source maps (they point at src/, which is not shipped)'],
    [/\.(db|sqlite|sqlite3)(-wal|-shm)?$/, 'database files'],
    [/\.tgz$/, 'tarballs'],
    [/^(Dockerfile|fly\.example\.toml|litefs\.yml\.example|\.dockerignore)$/, 'deploy examples'],
  ];
  for (const [re, what] of refused) {
    const bad = paths.filter((p) => re.test(p));
    t.same(bad, [], `no ${what}`);
  }
  const unexpected = paths.filter(
    (p) => !/^dist\/.+\.js$/.test(p) && !['package.json', 'README.md', 'LICENSE'].includes(p),
  );
  t.same(unexpected, [], 'only dist/**/*.js, package.json, README.md (and LICENSE if any)');

  // Everything the bin loads is in the tarball: follow relative imports from the bin.
  const seen = new Set<string>();
  const queue = Object.values(pkg.bin);
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    t.ok(files.has(file), `${file} is shipped`);
    if (!files.has(file) || !file.endsWith('.js')) continue;
    const code = readFileSync(join(ROOT, file), 'utf8');
    const specifiers = [
      ...code.matchAll(/\b(?:from|import)\s*\(?\s*["'](\.\.?\/[^"']+)["']/g),
      ...code.matchAll(/\brequire\(\s*["'](\.\.?\/[^"']+)["']\s*\)/g),
      ...code.matchAll(/createRequire\(import\.meta\.url\)\(\s*["'](\.\.?\/[^"']+)["']\s*\)/g),
    ].map((m) => m[1] as string);
    for (const s of specifiers) queue.push(posix.normalize(posix.join(posix.dirname(file), s)));
  }
  t.ok(seen.has('package.json'), 'the bin reads ../../package.json, and it is shipped');
});

/**
 * The empty project's package-lock.json: the tarball, plus exactly the runtime dependencies the
 * repository's lock file pins (the entries not marked dev), at the same versions and with the
 * same integrity hashes. `npm ci --offline` then installs from npm's cache by those hashes,
 * which `npm ci` for this repository has filled, without asking the registry for anything
 * (a plain `npm install --offline` of the tarball needs package metadata it never cached).
 */
function projectLock(tarballName: string, tarball: Buffer) {
  const lock = JSON.parse(readRepoFile('package-lock.json')) as {
    packages: Record<string, { dev?: boolean; devOptional?: boolean }>;
  };
  const full = JSON.parse(readRepoFile('package.json')) as Record<string, unknown>;
  const spec = `file:../${tarballName}`;
  const packages: Record<string, unknown> = {
    '': { name: 'probe', dependencies: { [pkg.name]: spec } },
    [`node_modules/${pkg.name}`]: {
      version: pkg.version,
      resolved: spec,
      integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}`,
      license: full.license,
      dependencies: full.dependencies,
      bin: pkg.bin,
      engines: full.engines,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path !== '' && !entry.dev && !entry.devOptional) packages[path] = entry;
  }
  return { name: 'probe', lockfileVersion: 3, requires: true, packages };
}

t.test('installed from the tarball into an empty project, the bin runs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'litefs-supervisor-pack-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const env = npmEnv();
  await run('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', dir], {
    cwd: ROOT,
    env,
  });
  const tarballName = `${pkg.name}-${pkg.version}.tgz`;
  const project = join(dir, 'project');
  await run('mkdir', [project]);
  writeFileSync(
    join(project, 'package.json'),
    `${JSON.stringify({ name: 'probe', private: true, dependencies: { [pkg.name]: `file:../${tarballName}` } })}\n`,
  );
  writeFileSync(
    join(project, 'package-lock.json'),
    `${JSON.stringify(projectLock(tarballName, readFileSync(join(dir, tarballName))), null, 2)}\n`,
  );
  try {
    // --offline: from npm's cache only, so the test never depends on the network.
    await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: project, env });
  } catch (err) {
    const text = String((err as { stderr?: string }).stderr ?? err);
    if (/ENOTCACHED/.test(text)) {
      // Only when npm's cache lacks a pinned tarball (this repository's `npm ci` fills it):
      // said in the test name, which .ci/run lists with every other skip.
      t.skip(
        `SKIPPED: a runtime dependency is not in npm's cache, and this test does not use the network (run npm ci first): ${text.split('\n').find((l) => /only-if-cached|request to/.test(l)) ?? 'ENOTCACHED'}`,
        async () => {},
      );
      return;
    }
    throw err;
  }
  const npx = (args: string[]) =>
    run('npx', ['--offline', '--no-install', 'litefs-supervisor', ...args], { cwd: project, env });
  const version = await npx(['--version']);
  t.equal(version.stdout, `litefs-supervisor ${pkg.version}\n`);
  const help = await npx(['--help']);
  t.match(help.stdout, /Usage:\n {2}litefs-supervisor \[options\] -- <app command>/);
  t.match(help.stdout, /--promote/);
});
