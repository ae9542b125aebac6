// Bundle the CLI into dist/cli/main.js (over tsc's output) with esbuild: one file for what the
// health API needs at start-up, and a lazily loaded chunk for the adapters (undici, execa), so
// that `/health/live` answers sooner and fewer files are resolved at start (issue 6, README
// "Performance"). tsc still emits every module for the tests, the demo and the benchmarks.

import { chmodSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { build } from 'esbuild';

const outdir = 'dist/cli';
for (const f of await readdir(outdir)) if (f.startsWith('chunk-')) rmSync(`${outdir}/${f}`);

await build({
  entryPoints: { main: 'src/cli/main.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunk-[hash]',
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'none',
  sourcemap: false,
  logLevel: 'warning',
  // Bundled CommonJS dependencies (fastify, pino...) call require() for node: builtins.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
});

// The bin: executable in the tarball too (npm also sets it on install, `node dist/...` does not).
chmodSync(`${outdir}/main.js`, 0o755);
