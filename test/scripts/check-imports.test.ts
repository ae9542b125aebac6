// scripts/check-imports.mjs (run by `npm test`): it passes on src/ as it is, and it fails on a
// cycle between parts of src/, on a core that imports I/O or leaves src/core, on src/ importing
// testkit/ (or anything outside src/) or a devDependency, and on a package that would ship
// testkit/.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import t from 'tap';
import {
  checkArchitectureArrows,
  checkImports,
  checkTestkitNotShipped,
  importSpecifiers,
} from '../../scripts/check-imports.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const SRC = join(ROOT, 'src');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
};

function tree(t: Test, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'check-imports-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

t.test('src/ has no cycle, and its core imports only itself', async (t) => {
  const { problems, edges } = checkImports(SRC, {
    devDependencies: Object.keys(PKG.devDependencies),
  });
  t.same(problems, []);
  t.same([...(edges.get('core')?.keys() ?? [])], [], 'core depends on nothing');
  t.ok(edges.get('config')?.has('core'), 'config depends on core');
});

t.test('the specifiers of every import form, and none from comments', async (t) => {
  const text = [
    "import type { A } from './a.js';",
    "import {\n  b,\n  type C,\n} from '../b/c.js';",
    "export { d } from './d.js';",
    "export * from './e.js';",
    "import './f.js';",
    "const g = await import('./g.js');",
    "const h = require('./h.js');",
    "const i = require.resolve('./not-a-load.js');",
    "// import { x } from './commented.js';",
    "/* import { y } from './block.js'; */",
    "const s = 'import from nowhere';",
  ].join('\n');
  t.same(importSpecifiers(text), [
    './a.js',
    '../b/c.js',
    './d.js',
    './e.js',
    './f.js',
    './g.js',
    './h.js',
  ]);
});

t.test('a cycle between two folders fails, naming the files', async (t) => {
  const dir = tree(t, {
    'core/a.ts': "import type { X } from '../config/x.js';\n",
    'config/x.ts': "import { a } from '../core/a.js';\n",
  });
  const { problems } = checkImports(dir);
  t.match(
    problems.join('\n'),
    /import cycle between parts of src\/: config \(config\/x\.ts -> \.\.\/core\/a\.js\) -> core \(core\/a\.ts -> \.\.\/config\/x\.js\) -> config/,
  );
});

t.test('a cycle through a file at the root of src/ fails', async (t) => {
  const dir = tree(t, {
    'supervisor.ts': "import { a } from './cli/a.js';\n",
    'cli/a.ts': "import { Supervisor } from '../supervisor.js';\n",
  });
  t.match(checkImports(dir).problems.join('\n'), /cycle .*cli .*supervisor\.ts/);
});

t.test('a core with I/O, a package, or an import outside core fails', async (t) => {
  const dir = tree(t, {
    'core/a.ts': [
      "import { readFile } from 'node:fs/promises';",
      "import { setTimeout } from 'node:timers/promises';",
      "import pino from 'pino';",
      "import { request } from 'undici';",
      "import { z } from 'zod';",
      "import { log } from '../log/x.js';",
    ].join('\n'),
    'log/x.ts': 'export const log = 1;\n',
  });
  const { problems } = checkImports(dir);
  t.match(problems, [
    /core\/a\.ts: src\/core imports node:fs\/promises, a module with I\/O/,
    /node:timers\/promises, a module with I\/O/,
    /pino, a module with I\/O/,
    /undici, a module with I\/O/,
    /the package zod/,
    /\.\.\/log\/x\.js \(outside src\/core\)/,
  ]);
});

t.test('a clean tree passes', async (t) => {
  const dir = tree(t, {
    'core/a.ts': "import { b } from './b.js';\n",
    'core/b.ts': 'export const b = 1;\n',
    'config/x.ts': "import { a } from '../core/a.js';\n",
  });
  t.same(checkImports(dir).problems, []);
});

t.test('src/ importing testkit/ (or anything outside src/) fails, naming the file', async (t) => {
  const dir = tree(t, {
    'src/litefs/a.ts': "import { FakeLitefs } from '../../testkit/fake-litefs.js';\n",
    'src/b.ts': "export { x } from '../test/helpers/x.js';\n",
    'testkit/fake-litefs.ts': 'export class FakeLitefs {}\n',
    'test/helpers/x.ts': 'export const x = 1;\n',
  });
  const { problems } = checkImports(join(dir, 'src'));
  t.match(problems, [
    /^b\.ts: src imports \.\.\/test\/helpers\/x\.js, outside src\//,
    /^litefs\/a\.ts: src imports \.\.\/\.\.\/testkit\/fake-litefs\.js, outside src\/ \(testkit\/fake-litefs\.js\)/,
  ]);
});

t.test('src/ loading a devDependency fails, by import or require', async (t) => {
  const dir = tree(t, {
    'sim/sqlite.ts': [
      "import { createRequire } from 'node:module';",
      "import type Db from 'better-sqlite3';",
      "const D = createRequire(import.meta.url)('better-sqlite3') as typeof Db;",
      'const require = createRequire(import.meta.url);',
      "const E = require('better-sqlite3');",
      "const tap = await import('tap/dist/index.js');",
      "const b = await import('@biomejs/biome');",
      "import { z } from 'zod';",
    ].join('\n'),
  });
  const { problems } = checkImports(dir, {
    devDependencies: ['better-sqlite3', 'tap', '@biomejs/biome'],
  });
  t.match(problems, [
    /^sim\/sqlite\.ts: src imports better-sqlite3, a devDependency/,
    /src imports better-sqlite3, a devDependency/,
    /src imports tap\/dist\/index\.js, a devDependency/,
    /src imports @biomejs\/biome, a devDependency/,
  ]);
  t.equal(problems.length, 4, 'zod (a dependency) and node:module are fine outside core');
});

t.test('the package does not ship testkit/', async (t) => {
  t.same(checkTestkitNotShipped(ROOT), [], 'this repository');

  const repo = (files: string[], include: string[], outDir = '../dist-testkit') =>
    tree(t, {
      'package.json': JSON.stringify({ files }),
      'tsconfig.json': JSON.stringify({ include }),
      'testkit/tsconfig.json': JSON.stringify({ compilerOptions: { outDir } }),
    });
  t.same(checkTestkitNotShipped(repo(['dist', '!dist/**/*.map'], ['src'])), [], 'dist only');
  t.match(checkTestkitNotShipped(repo(['dist', 'dist-testkit/'], ['src'])), [
    /"files" entry dist-testkit\/ ships dist-testkit\//,
  ]);
  t.match(checkTestkitNotShipped(repo(['./testkit/fake-litefs.ts'], ['src'])), [
    /"files" entry \.\/testkit\/fake-litefs\.ts ships testkit\//,
  ]);
  t.match(checkTestkitNotShipped(repo(['dist'], ['src'], '../dist/testkit')), [
    /"files" entry dist ships dist\/testkit\//,
  ]);
  t.match(checkTestkitNotShipped(repo(['dist'], ['src', 'testkit'])), [
    /tsconfig\.json \(the shipped build\) includes \["src","testkit"\], not \["src"\] only/,
  ]);
});

t.test('ARCHITECTURE.md draws exactly the arrows the imports make', async (t) => {
  const { edges } = checkImports(SRC, { devDependencies: Object.keys(PKG.devDependencies) });
  const text = readFileSync(join(ROOT, 'ARCHITECTURE.md'), 'utf8');
  t.same(checkArchitectureArrows(text, edges), [], 'the drawing is true today');

  const layering = (block: string) => `# A\n\n## Layering (checked)\n\n\`\`\`\n${block}\`\`\`\n`;
  const dir = tree(t, {
    'core/a.ts': 'export const a = 1;\n',
    'config/b.ts': "import { a } from '../core/a.js';\nexport const b = a;\n",
  });
  const small = checkImports(dir).edges;
  t.same(checkArchitectureArrows(layering('config -> core\ncore -> (nothing)\n'), small), []);
  t.match(checkArchitectureArrows(layering('config -> core, http\ncore -> (nothing)\n'), small), [
    /draws config -> http; no import makes it/,
  ]);
  t.match(checkArchitectureArrows(layering('config -> (nothing)\ncore -> (nothing)\n'), small), [
    /config -> core \(config\/b\.ts -> \.\.\/core\/a\.js\) is not drawn/,
  ]);
  t.match(checkArchitectureArrows(layering('core -> (nothing)\n'), small), [
    /the part config is not drawn/,
  ]);
  t.match(checkArchitectureArrows('# A\nno layering here\n', small), [/no fenced block/]);
});
