#!/usr/bin/env node
// The layering of src/, checked from the import statements (part of `npm test`):
// 1. no cycle between the top-level parts of src/ (a folder such as core/ or config/, or a file
//    at src/'s root such as supervisor.ts): config depends on core, never the reverse;
// 2. src/core is pure: it imports only src/core, never a module with I/O (node:fs, node:net,
//    timers, undici, execa, fastify, pino, ...) nor any other package;
// 3. src/ holds only what ships: it imports nothing outside src/ (the fakes, the harness and the
//    demo in testkit/ are not published) and no devDependency (not installed with the package).
// And testkit/ stays out of the package: package.json "files" names neither testkit/ nor its
// build folder (testkit/tsconfig.json outDir), and the shipped build (tsconfig.json) compiles src/
// only.
// Usage: node scripts/check-imports.mjs [src-dir]. Prints the parts and their arrows; exits 1
// with one line per problem.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Every `from '...'`, `import '...'`, `import('...')` and `require('...')` specifier in a
 * TypeScript source.
 */
export function importSpecifiers(text) {
  // Comments first, so a commented-out import does not count.
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:\\])\/\/.*$/gm, '$1');
  const out = [];
  const re =
    /(?:^|[\s;}])(?:import|export)\s[^'"]*?\sfrom\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|\b(?:import|require)\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (const m of code.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

function tsFiles(dir) {
  // Sorted, so the problems come in the same order on every file system.
  const entries = readdirSync(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return entries.flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The top-level part of src/ a path belongs to: its first folder, or the file itself. */
function partOf(srcDir, file) {
  // An import names the compiled file (./supervisor.js): the part is its source.
  return relative(srcDir, file)
    .split(sep)[0]
    .replace(/\.(js|mjs)$/, '.ts');
}

/** Packages and builtins with I/O (or a clock) that src/core must never import. */
const IO_MODULES = [
  'node:fs',
  'node:net',
  'node:http',
  'node:https',
  'node:dgram',
  'node:dns',
  'node:child_process',
  'node:os',
  'node:process',
  'node:timers',
  'node:worker_threads',
  'timers',
  'fs',
  'net',
  'child_process',
  'undici',
  'execa',
  'fastify',
  'pino',
  'yaml',
  'better-sqlite3',
];

/** The package a bare specifier names: `a` for `a/b`, `@s/a` for `@s/a/b`. */
function packageOf(spec) {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * The layering of the sources in srcDir. `devDependencies`: package names that src must not
 * import (package.json's devDependencies when run as a script).
 */
export function checkImports(srcDir, { devDependencies = [] } = {}) {
  const dev = new Set(devDependencies);
  const problems = [];
  const edges = new Map(); // part -> Map(part -> first "file -> spec" seen)
  for (const file of tsFiles(srcDir)) {
    const from = partOf(srcDir, file);
    if (!edges.has(from)) edges.set(from, new Map());
    for (const spec of importSpecifiers(readFileSync(file, 'utf8'))) {
      const rel = relative(srcDir, file);
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        if (!target.startsWith(srcDir + sep)) {
          // Only src/ is built into the package: what lies outside (testkit/, test/) is missing
          // there. package.json is read with createRequire, which this check does not see.
          problems.push(
            `${rel}: src imports ${spec}, outside src/ (${relative(dirname(srcDir), target)}): the package ships src/ only`,
          );
          continue;
        }
        const to = partOf(srcDir, target);
        if (from === 'core' && to !== 'core') {
          problems.push(`${rel}: src/core imports ${spec} (outside src/core)`);
        }
        if (to !== from && !edges.get(from).has(to)) edges.get(from).set(to, `${rel} -> ${spec}`);
      } else if (dev.has(packageOf(spec))) {
        problems.push(
          `${rel}: src imports ${spec}, a devDependency: not installed with the package (testkit/, test/ and bench/ may use it)`,
        );
      } else if (from === 'core') {
        const io = IO_MODULES.find((m) => spec === m || spec.startsWith(`${m}/`));
        problems.push(
          io
            ? `${rel}: src/core imports ${spec}, a module with I/O`
            : `${rel}: src/core imports the package ${spec} (the core imports only src/core)`,
        );
      }
    }
  }
  for (const cycle of cyclesOf(edges)) {
    const path = cycle.map((p, i) => `${p} (${edges.get(p).get(cycle[(i + 1) % cycle.length])})`);
    problems.push(`import cycle between parts of src/: ${path.join(' -> ')} -> ${cycle[0]}`);
  }
  return { edges, problems };
}

/**
 * testkit/ stays out of the package: no entry of package.json "files" covers testkit/ or the
 * folder testkit/tsconfig.json builds into, and the shipped build (tsconfig.json) compiles only
 * src/. `root`: the repository.
 */
export function checkTestkitNotShipped(root) {
  const problems = [];
  const json = (path) => JSON.parse(readFileSync(join(root, path), 'utf8'));
  const pkg = json('package.json');
  const testkitConfig = json('testkit/tsconfig.json');
  const outDir = testkitConfig.compilerOptions?.outDir;
  const folders = ['testkit'];
  if (typeof outDir !== 'string') {
    problems.push('testkit/tsconfig.json has no compilerOptions.outDir (its build folder)');
  } else {
    const out = relative(root, resolve(root, 'testkit', outDir));
    if (out === '' || out.startsWith('..') || isAbsolute(out)) {
      problems.push(`testkit/tsconfig.json outDir ${outDir} is not a folder inside the repository`);
    } else folders.push(out.split(sep).join('/'));
  }
  const shipped = pkg.files ?? [];
  for (const folder of folders) {
    for (const entry of shipped) {
      if (entry.startsWith('!')) continue;
      const e = entry.replace(/^\.\//, '').replace(/\/+$/, '');
      // An entry covers the folder when it is the folder, a parent of it, or inside it.
      if (
        e === folder ||
        folder.startsWith(`${e}/`) ||
        e.startsWith(`${folder}/`) ||
        e === '*' ||
        e === '**'
      ) {
        problems.push(
          `package.json "files" entry ${entry} ships ${folder}/ (testkit is not published)`,
        );
      }
    }
  }
  const include = json('tsconfig.json').include;
  if (JSON.stringify(include) !== JSON.stringify(['src'])) {
    problems.push(
      `tsconfig.json (the shipped build) includes ${JSON.stringify(include)}, not ["src"] only`,
    );
  }
  return problems;
}

/**
 * The arrows ARCHITECTURE.md draws between the parts of src/ are the arrows the imports make:
 * the first fenced block after the heading `## Layering` holds one line per part,
 * `part -> a, b, c` (or `part -> (nothing...)`); every arrow drawn must exist and every
 * existing arrow must be drawn. `text`: ARCHITECTURE.md; `edges`: from checkImports.
 */
export function checkArchitectureArrows(text, edges) {
  const section = text.split(/^## Layering.*$/m)[1];
  const block = section?.match(/```\n([\s\S]*?)```/)?.[1];
  if (block === undefined) return ['ARCHITECTURE.md: no fenced block after "## Layering"'];
  const drawn = new Map();
  for (const line of block.split('\n')) {
    const m = line.match(/^(\S+) -> (.*)$/);
    if (!m) continue;
    const tos = m[2].startsWith('(nothing') ? [] : m[2].split(',').map((x) => x.trim());
    drawn.set(m[1], new Set(tos));
  }
  const problems = [];
  const parts = new Set([...edges.keys(), ...drawn.keys()]);
  for (const part of [...parts].sort()) {
    const real = new Set(edges.get(part)?.keys() ?? []);
    const shown = drawn.get(part);
    if (shown === undefined) {
      problems.push(`ARCHITECTURE.md: the part ${part} is not drawn under "## Layering"`);
      continue;
    }
    if (!edges.has(part)) problems.push(`ARCHITECTURE.md: draws ${part}, not a part of src/`);
    for (const to of shown) {
      if (!real.has(to))
        problems.push(`ARCHITECTURE.md: draws ${part} -> ${to}; no import makes it`);
    }
    for (const [to, where] of edges.get(part) ?? []) {
      if (!shown.has(to))
        problems.push(`ARCHITECTURE.md: ${part} -> ${to} (${where}) is not drawn`);
    }
  }
  return problems;
}

/** One cycle per strongly connected component of more than one part (Tarjan). */
function cyclesOf(edges) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const out = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v)?.keys() ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) out.push(cycleWithin(new Set(comp), edges));
    }
  };
  for (const v of [...edges.keys()].sort()) if (!idx.has(v)) visit(v);
  return out;
}

/** A cycle through the first part of a strongly connected component, by breadth-first search. */
function cycleWithin(comp, edges) {
  const start = [...comp].sort()[0];
  const prev = new Map();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift();
    for (const w of edges.get(v)?.keys() ?? []) {
      if (!comp.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(prev.get(path[0]));
        return path;
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start];
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const srcDir = resolve(process.argv[2] ?? join(root, 'src'));
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const { edges, problems } = checkImports(srcDir, {
    devDependencies: Object.keys(pkg.devDependencies ?? {}),
  });
  problems.push(...checkTestkitNotShipped(root));
  if (process.argv[2] === undefined) {
    problems.push(
      ...checkArchitectureArrows(readFileSync(join(root, 'ARCHITECTURE.md'), 'utf8'), edges),
    );
  }
  for (const [from, tos] of [...edges].sort(([a], [b]) => a.localeCompare(b))) {
    console.log(`${from} -> ${[...tos.keys()].sort().join(', ') || '(nothing)'}`);
  }
  if (problems.length > 0) {
    for (const p of problems) console.error(`check-imports: ${p}`);
    process.exit(1);
  }
  console.log(
    'check-imports: no cycle between the parts of src/; src/core imports only src/core; src/ imports nothing outside src/ and no devDependency; testkit/ is not in the package; ARCHITECTURE.md draws exactly these arrows',
  );
}
