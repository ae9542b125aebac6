// Bundle the CLI into dist/cli/main.js (over tsc's output) with esbuild: one file for what the
// health API needs at start-up, and lazily loaded chunks for the adapters (execa; undici only
// under LiteFS) and the subcommands, so that `/health/live` answers sooner and less code is
// parsed and kept (docs/performance.md). The options, and what the bundle
// leaves out, are in scripts/bundle-options.mjs. tsc still emits every module for the tests,
// the demo and the benchmarks.

import { chmodSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { build } from 'esbuild';
import { bundleOptions } from './bundle-options.mjs';

const { outdir } = bundleOptions;
for (const f of await readdir(outdir)) if (f.startsWith('chunk-')) rmSync(`${outdir}/${f}`);

await build(bundleOptions);

// The bin: executable in the tarball too (npm also sets it on install, `node dist/...` does not).
chmodSync(`${outdir}/main.js`, 0o755);
