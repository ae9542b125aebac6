// The esbuild options of the CLI bundle (scripts/bundle.mjs), shared with bench/memory.mjs, which
// builds an instrumented copy with the same module graph to account memory by module.
//
// What the bundle leaves out or narrows, each measured in docs/performance.md:
// - fastify's default schema compilers (ajv, fast-json-stringify) and light-my-request (only
//   `inject()`, used by tests on tsc's output, never by the CLI): the health server passes its
//   own compilersFactory (src/http/server.ts), so fastify never requires them; without this
//   they would still be parsed at every start. A stub that throws stands in, so a route that
//   gains a schema fails at start-up, loudly.
// - undici: the package's index evaluates every dispatcher, fetch, WebSocket, the cache stores
//   and the mocks; the supervisor uses Pool and Client with the request API only.
// - Loaded on first use instead of at start (LAZY below): fastify's server.js requires
//   node:https and node:http2 (with tls and crypto) for servers we never create, and
//   plugin-utils.js requires semver for the version checks of plugins we never register.

/** Packages replaced by a stub that throws if anything ever requires it. */
export const NEVER_LOADED = [
  '@fastify/ajv-compiler',
  '@fastify/fast-json-stringify-compiler',
  'light-my-request',
];

// undici's own index does `Object.assign(Dispatcher.prototype, api)`; so must this.
export const UNDICI_SUBSET = `
const Dispatcher = require('undici/lib/dispatcher/dispatcher.js');
Object.assign(Dispatcher.prototype, require('undici/lib/api/index.js'));
module.exports.Pool = require('undici/lib/dispatcher/pool.js');
module.exports.Client = require('undici/lib/dispatcher/client.js');
`;

/** Requires that become a proxy which requires the module on first property access. */
export const LAZY = [
  { module: 'node:https', importer: /node_modules\/fastify\/lib\/server\.js$/ },
  { module: 'node:http2', importer: /node_modules\/fastify\/lib\/server\.js$/ },
  { module: 'semver', importer: /node_modules\/fastify\/lib\/plugin-utils\.js$/ },
];

/** esbuild plugin: the stubs, the undici subset and the lazy requires above. */
export const trimPlugin = {
  name: 'litefs-supervisor-trim',
  setup(build) {
    const never = new RegExp(`^(${NEVER_LOADED.map((p) => p.replace('/', '\\/')).join('|')})$`);
    build.onResolve({ filter: never }, (args) => ({ path: args.path, namespace: 'never' }));
    build.onLoad({ filter: /.*/, namespace: 'never' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} is left out of the litefs-supervisor bundle (scripts/bundle-options.mjs); nothing should require it`)});`,
      loader: 'js',
    }));
    for (const lazy of LAZY) {
      const filter = new RegExp(`^${lazy.module}$`);
      build.onResolve({ filter }, (args) =>
        lazy.importer.test(args.importer)
          ? { path: lazy.module, namespace: 'lazy', pluginData: args.resolveDir }
          : undefined,
      );
    }
    build.onLoad({ filter: /.*/, namespace: 'lazy' }, (args) => ({
      contents: `let m; const load = () => (m ??= require(${JSON.stringify(args.path)}));
module.exports = new Proxy({}, { get: (_, key) => load()[key], has: (_, key) => key in load() });`,
      loader: 'js',
      resolveDir: args.pluginData,
    }));
    build.onResolve({ filter: /^undici$/ }, (args) =>
      args.namespace === 'undici-subset'
        ? undefined
        : { path: 'undici', namespace: 'undici-subset', pluginData: args.resolveDir },
    );
    build.onLoad({ filter: /.*/, namespace: 'undici-subset' }, () => ({
      contents: UNDICI_SUBSET,
      loader: 'js',
      resolveDir: process.cwd(),
    }));
  },
};

export const bundleOptions = {
  entryPoints: { main: 'src/cli/main.ts' },
  outdir: 'dist/cli',
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
  plugins: [trimPlugin],
  // Bundled CommonJS dependencies (fastify, pino...) call require() for node: builtins.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
};
