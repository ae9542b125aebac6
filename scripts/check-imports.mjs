#!/usr/bin/env node
// The layering of src/, checked from the import statements (part of `npm test`):
// 1. no cycle between the top-level parts of src/ (a folder such as core/ or config/, or a file
//    at src/'s root such as supervisor.ts): config depends on core, never the reverse;
// 2. src/core is pure: it imports only src/core, never a module with I/O (node:fs, node:net,
//    timers, undici, execa, fastify, pino, ...) nor any other package.
// Usage: node scripts/check-imports.mjs [src-dir]. Prints the parts and their arrows; exits 1
// with one line per problem.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Every `from '...'`, `import '...'` and `import('...')` specifier in a TypeScript source. */
export function importSpecifiers(text) {
  // Comments first, so a commented-out import does not count.
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:\\])\/\/.*$/gm, '$1');
  const out = [];
  const re =
    /(?:^|[\s;}])(?:import|export)\s[^'"]*?\sfrom\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (const m of code.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

function tsFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
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

export function checkImports(srcDir) {
  const problems = [];
  const edges = new Map(); // part -> Map(part -> first "file -> spec" seen)
  for (const file of tsFiles(srcDir)) {
    const from = partOf(srcDir, file);
    if (!edges.has(from)) edges.set(from, new Map());
    for (const spec of importSpecifiers(readFileSync(file, 'utf8'))) {
      const rel = relative(srcDir, file);
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        if (!target.startsWith(srcDir + sep)) continue; // outside src/: not our layering
        const to = partOf(srcDir, target);
        if (from === 'core' && to !== 'core') {
          problems.push(`${rel}: src/core imports ${spec} (outside src/core)`);
        }
        if (to !== from && !edges.get(from).has(to)) edges.get(from).set(to, `${rel} -> ${spec}`);
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
  const srcDir = resolve(
    process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '../src'),
  );
  const { edges, problems } = checkImports(srcDir);
  for (const [from, tos] of [...edges].sort(([a], [b]) => a.localeCompare(b))) {
    console.log(`${from} -> ${[...tos.keys()].sort().join(', ') || '(nothing)'}`);
  }
  if (problems.length > 0) {
    for (const p of problems) console.error(`check-imports: ${p}`);
    process.exit(1);
  }
  console.log(`check-imports: no cycle between the parts of src/; src/core imports only src/core`);
}
