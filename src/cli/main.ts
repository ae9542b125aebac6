#!/usr/bin/env node
// Wiring: parse the command line, load the config, build the adapters, run the supervisor,
// exit with its code. Every decision is made in src/core/decide/; nothing here decides.

import { createRequire } from 'node:module';
import { hostname, userInfo } from 'node:os';
import { type ConfigError, loadConfig, nodeReadFile, parseArgs } from '../config/load.js';
import type { Config } from '../config/types.js';
import { EXIT, signalExitCode } from '../core/exit-code.js';
import { FORWARDED_SIGNALS, SHUTDOWN_SIGNALS } from '../core/signals.js';
import { initialState } from '../core/state.js';
import { buildHealthServer, listen } from '../http/server.js';
import { createLogger, type RootLogger } from '../log/logger.js';
import { Supervisor } from '../supervisor.js';
import { controlSocketPath, listenControl } from './control.js';

const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string })
  .version;

function printConfigErrors(errors: ConfigError[]): void {
  const lines = errors.map((e) => `  ${e.message}`);
  process.stderr.write(
    `litefs-supervisor: invalid configuration (nothing was started):\n${lines.join('\n')}\n` +
      'See litefs-supervisor --help for every option, its default and its environment name.\n',
  );
}

function homeDir(): string | undefined {
  try {
    return userInfo().homedir;
  } catch {
    return process.env.HOME;
  }
}

/** How the process ends: with an exit code, or (a requested stop) by re-raising a signal. */
interface Ending {
  code: number;
  /** The stop signal to die of (docs/design.md section 9), with the logger to say so. */
  reraise?: { signal: NodeJS.Signals; logger: RootLogger };
}

async function main(argv: string[]): Promise<number | Ending> {
  const parsed = parseArgs(argv);
  if (!parsed.ok) {
    printConfigErrors(parsed.errors);
    return EXIT.config;
  }
  // The subcommands' code is loaded only by them, never by a supervisor that runs (docs/performance.md,
  // "What was cut").
  switch (parsed.command) {
    case 'help':
      process.stdout.write((await import('./help.js')).helpText());
      return 0;
    case 'version':
      process.stdout.write((await import('./help.js')).versionText(VERSION));
      return 0;
    case 'status':
      return (await import('./status.js')).runStatus(parsed.healthUrl, parsed.json, process.env);
    case 'init':
      return (await import('./init.js')).runInit({
        litefsConfig: parsed.litefsConfig,
        write: parsed.write,
        cwd: process.cwd(),
        version: VERSION,
      });
  }
  const loaded = loadConfig({
    mode: parsed.command,
    options: parsed.options,
    command: parsed.app,
    env: process.env,
    cwd: process.cwd(),
    home: homeDir(),
    readFile: nodeReadFile,
    hostname: hostname(),
  });
  if (!loaded.ok) {
    printConfigErrors(loaded.errors);
    return EXIT.config;
  }
  if (parsed.command === 'check') {
    await (await import('./check.js')).printPlan(loaded, VERSION);
    return 0;
  }
  if (parsed.command === 'record') {
    return (await import('./record.js')).runRecord(loaded.config, {
      json: parsed.json ?? false,
      reset: parsed.reset,
    });
  }
  if (parsed.command === 'compact') {
    return (await import('./compact.js')).runCompact(loaded.config, {
      json: parsed.json ?? false,
      dryRun: parsed.compact?.dryRun ?? false,
      noBackup: parsed.compact?.noBackup ?? false,
    });
  }
  if (parsed.command === 'before-mount') {
    // Its own log lines only: the supervisor that LiteFS starts next logs the config's warnings.
    const logger = createLogger({ format: loaded.config.logFormat, level: loaded.config.logLevel });
    return (await import('./before-mount.js')).runBeforeMount(
      loaded.litefsYml,
      { maxWaitMs: parsed.maxWaitMs },
      logger,
    );
  }
  if (parsed.command === 'doctor') {
    // Loaded only here: it pulls in the LiteFS client (undici), like the adapters.
    const { runDoctor } = await import('./doctor.js');
    return runDoctor(loaded.config, {
      json: parsed.json ?? false,
      version: VERSION,
      warnings: loaded.warnings,
    });
  }
  const logger = createLogger({ format: loaded.config.logFormat, level: loaded.config.logLevel });
  for (const warning of loaded.warnings) {
    logger.log('warn', { event: 'config.warning' }, warning);
  }
  return run(loaded.config, logger);
}

async function run(config: Config, logger: RootLogger): Promise<number | Ending> {
  const now = () => Date.now();
  logger.log(
    'info',
    {
      event: 'supervisor.start',
      version: VERSION,
      mode: config.standalone ? 'standalone' : 'litefs',
      litefsUrl: config.standalone ? undefined : config.litefsUrl,
      mountDir: config.mountDir,
      db: config.db.join(','),
      migrations: config.migrate.length,
      pid: process.pid,
    },
    config.standalone
      ? 'starting in standalone mode (no LiteFS): this node acts as the primary'
      : 'starting; waiting for LiteFS to show this node its role',
  );

  // The health API first, so /health/live answers (and /health says 503 "starting") while
  // the rest loads: the adapters pull in undici and execa, most of the start-up time.
  let supervisor: Supervisor | undefined;
  const starting = initialState(now(), []);
  const getState = () => supervisor?.current ?? starting;
  const health =
    config.healthAddr === 'off'
      ? undefined
      : buildHealthServer({
          config,
          version: VERSION,
          getState,
          now,
          fresh: () => supervisor?.fresh() ?? Promise.resolve(),
        });
  if (health && config.healthAddr !== 'off') {
    try {
      const url = await listen(health, config.healthAddr);
      logger.log('info', { event: 'health.listen', url }, `health API listening on ${url}`);
    } catch (err) {
      logger.log(
        'error',
        { event: 'health.fail', err, exitCode: EXIT.config },
        `cannot listen on --health-addr ${config.healthAddr.host}:${config.healthAddr.port}: ${(err as Error).message}; choose a free port or off`,
      );
      return EXIT.config;
    }
  }

  const { buildAdapters } = await import('./adapters.js');
  const adapters = await buildAdapters(config, logger, now);
  await adapters.cleanCompactLeftovers();
  // The control socket (docs/design.md, "Control channel"): `compact` asks here. Not in
  // --standalone, where there is no LiteFS to compact through.
  const socketPath = config.standalone ? undefined : controlSocketPath(config);
  const control =
    socketPath === undefined
      ? undefined
      : await listenControl(
          socketPath,
          {
            request: (request) => supervisor?.dispatch({ type: 'compact-request', request }),
            gone: (id) => supervisor?.dispatch({ type: 'compact-cancel', id }),
          },
          logger,
        );
  supervisor = new Supervisor({
    replyToCompact: (id, reply) => control?.reply(id, reply),
    config,
    logger,
    env: process.env,
    clock: {
      now,
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
    },
    ...adapters.deps,
  });
  await adapters.warnAboutStateFileVolume();

  // docs/design.md section 6: these are forwarded to the app (or end a wait); decide says which.
  const running = supervisor;
  const handlers = FORWARDED_SIGNALS.map((signal) => {
    const handler = () => running.dispatch({ type: 'signal', signal });
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  const code = await running.run();
  for (const [signal, handler] of handlers) process.off(signal, handler);
  await health?.close();
  await control?.close();
  await adapters.close();
  const stop = running.current.shutdown?.signal;
  if (code !== EXIT.internal && stop !== undefined && SHUTDOWN_SIGNALS.has(stop)) {
    return { code, reraise: { signal: stop as NodeJS.Signals, logger } };
  }
  return code;
}

/**
 * Ends the process by `signal`: the app's code is logged, our handlers are gone, and the
 * signal's default action ends us, so a parent sees "killed by SIGINT" (a shell or tini still
 * reads 128+N). As PID 1 the kernel ignores a signal without a handler: exit 128+N there.
 */
function endBySignal(signal: NodeJS.Signals, appCode: number, logger: RootLogger): void {
  const fallback = signalExitCode(signal);
  logger.log(
    'info',
    { event: 'supervisor.signal-exit', signal, exitCode: appCode, pid: process.pid },
    process.pid === 1
      ? `stopped by ${signal}; exiting ${fallback} (PID 1 cannot die of its own signal)`
      : `stopped by ${signal}; ending by ${signal} so LiteFS releases the lease and unmounts`,
  );
  if (process.pid === 1) process.exit(fallback);
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
  // The default action ends the process at once; should it not, end with the shell's code.
  setTimeout(() => process.exit(fallback), 1000);
}

main(process.argv.slice(2)).then(
  (ending) => {
    if (typeof ending === 'number') process.exit(ending);
    if (ending.reraise) endBySignal(ending.reraise.signal, ending.code, ending.reraise.logger);
    else process.exit(ending.code);
  },
  (err: unknown) => {
    process.stderr.write(
      `litefs-supervisor: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(EXIT.internal);
  },
);
