// scripts/check-imports.mjs (run by `npm test`): it passes on src/ as it is, and it fails on a
// cycle between parts of src/ and on a core that imports I/O or leaves src/core.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import t from 'tap';
import { checkImports, importSpecifiers } from '../../scripts/check-imports.mjs';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '../../src');

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
  const { problems, edges } = checkImports(SRC);
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
    "// import { x } from './commented.js';",
    "/* import { y } from './block.js'; */",
    "const s = 'import from nowhere';",
  ].join('\n');
  t.same(importSpecifiers(text), ['./a.js', '../b/c.js', './d.js', './e.js', './f.js', './g.js']);
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
