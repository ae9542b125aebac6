#!/usr/bin/env node
// Wiring: parse the command line, load the config, build the adapters, run the supervisor,
// exit with its code. Every decision is made in src/core/decide.ts; nothing here decides.

import { createRequire } from 'node:module';
import { hostname, userInfo } from 'node:os';
import { dirname } from 'node:path';
import { type ConfigError, loadConfig, nodeReadFile, parseArgs } from '../config/load.js';
import type { Config } from '../config/types.js';
import { FORWARDED_SIGNALS } from '../core/rules.js';
import { buildHealthServer, listen } from '../http/server.js';
import { backupDb } from '../litefs/backup.js';
import { LitefsClient } from '../litefs/client.js';
import { EventsWatcher } from '../litefs/events.js';
import { observe, observeStandalone } from '../litefs/observe.js';
import { askPeers, parsePeersOption } from '../litefs/peers.js';
import { createLogger, type RootLogger } from '../log/logger.js';
import { startApp } from '../process/app.js';
import { startCommand } from '../process/command.js';
import { loadStateFile, sameFilesystem, writeStateFile } from '../state/state-file.js';
import { EXIT_INTERNAL, Supervisor } from '../supervisor.js';
import { diskSpace } from '../system/disk.js';
import { printPlan } from './check.js';
import { helpText, versionText } from './help.js';
import { runStatus } from './status.js';

const EXIT_CONFIG = 2;
/** Per peer, /info and /debug/vars together (DESIGN.md section 3: per-peer timeouts). */
const PEER_TIMEOUT_MS = 2000;
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

async function main(argv: string[]): Promise<number> {
  const parsed = parseArgs(argv);
  if (!parsed.ok) {
    printConfigErrors(parsed.errors);
    return EXIT_CONFIG;
  }
  switch (parsed.command) {
    case 'help':
      process.stdout.write(helpText());
      return 0;
    case 'version':
      process.stdout.write(versionText(VERSION));
      return 0;
    case 'status':
      return runStatus(parsed.healthUrl, parsed.json, process.env);
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
    return EXIT_CONFIG;
  }
  if (parsed.command === 'check') {
    printPlan(loaded, VERSION);
    return 0;
  }
  const logger = createLogger({ format: loaded.config.logFormat, level: loaded.config.logLevel });
  for (const warning of loaded.warnings) {
    logger.log('warn', { event: 'config.warning' }, warning);
  }
  return run(loaded.config, logger);
}

async function run(config: Config, logger: RootLogger): Promise<number> {
  const now = () => Date.now();
  const client = config.standalone ? undefined : new LitefsClient({ url: config.litefsUrl });
  // S8/S9: the FUSE mount does not report real free space; the data dir's volume does.
  const diskPath = config.dataDir ?? dirname(config.stateFile);
  const litefsPort = Number(new URL(config.litefsUrl).port || 80);
  const peersSpec = config.peers === undefined ? undefined : parsePeersOption(config.peers);
  const supervisor: Supervisor = new Supervisor({
    config,
    logger,
    env: process.env,
    clock: {
      now,
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
    },
    observe: client
      ? async () => {
          const [o, disk] = await Promise.all([
            observe({ client, mountDir: config.mountDir, dbs: config.db, now }),
            diskSpace(diskPath),
          ]);
          return { ...o, disk };
        }
      : () => observeStandalone({ mountDir: config.mountDir, dbs: config.db, now }),
    ...(client
      ? {
          watchEvents: (onEvent) => {
            const watcher = new EventsWatcher({
              url: config.litefsUrl,
              onEvent,
              onConnect: () => logger.log('debug', { event: 'litefs.events' }, '/events connected'),
              onDisconnect: (error) =>
                logger.log('debug', { event: 'litefs.events', error }, '/events stream ended'),
              onError: (e) =>
                logger.log('debug', { event: 'litefs.events', error: e.error }, '/events error'),
            }).start();
            return { close: () => void watcher.close() };
          },
          loadHwm: () => loadStateFile(config.stateFile),
          persistHwm: (file) => writeStateFile(config.stateFile, file),
          promote: async () => {
            const r = await client.promote();
            return r.ok
              ? { ok: true, status: 200 }
              : { ok: false, status: r.status, error: r.error };
          },
          handoff: async (nodeId) => {
            const r = await client.handoff(nodeId);
            return r.ok ? { ok: true } : { ok: false, error: r.error };
          },
          backup: ({ db, txid, expectedBytes }) =>
            config.backupDir === undefined
              ? Promise.resolve({ kind: 'skipped' as const, why: 'no --backup-dir' })
              : backupDb({
                  client,
                  db,
                  txid,
                  expectedBytes,
                  dir: config.backupDir,
                  keep: config.backupKeep,
                  minFreeDiskPct: config.minFreeDisk,
                  now,
                }),
          ...(peersSpec
            ? {
                askPeers: () => {
                  const obs = supervisor.current.observation;
                  const selfNodeId = obs?.info.ok ? obs.info.value.nodeId : undefined;
                  return askPeers({
                    spec: peersSpec,
                    port: litefsPort,
                    selfNodeId,
                    timeoutMs: PEER_TIMEOUT_MS,
                    now,
                  });
                },
              }
            : {}),
        }
      : {}),
    startCommand: (opts) => startCommand(opts),
    startApp: (opts) => startApp(opts),
  });

  if (!config.standalone && config.dataDir !== undefined) {
    if ((await sameFilesystem(config.stateFile, config.dataDir)) === false) {
      logger.log(
        'warn',
        { event: 'hwm.other-volume', stateFile: config.stateFile, dataDir: config.dataDir },
        'the state file is not on the same volume as the LiteFS data dir: a wiped or replaced volume would keep an old high-water mark, or lose it; put --state-file next to data.dir',
      );
    }
  }

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

  const health =
    config.healthAddr === 'off'
      ? undefined
      : buildHealthServer({ config, version: VERSION, getState: () => supervisor.current, now });
  if (health && config.healthAddr !== 'off') {
    try {
      const url = await listen(health, config.healthAddr);
      logger.log('info', { event: 'health.listen', url }, `health API listening on ${url}`);
    } catch (err) {
      logger.log(
        'error',
        { event: 'health.fail', err, exitCode: EXIT_CONFIG },
        `cannot listen on --health-addr ${config.healthAddr.host}:${config.healthAddr.port}: ${(err as Error).message}; choose a free port or off`,
      );
      await client?.close();
      return EXIT_CONFIG;
    }
  }

  // DESIGN.md section 6: these are forwarded to the app (or end a wait); decide says which.
  const handlers = FORWARDED_SIGNALS.map((signal) => {
    const handler = () => supervisor.dispatch({ type: 'signal', signal });
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  const code = await supervisor.run();
  for (const [signal, handler] of handlers) process.off(signal, handler);
  await health?.close();
  await client?.close();
  return code;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `litefs-supervisor: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(EXIT_INTERNAL);
  },
);
