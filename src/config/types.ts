// The validated configuration every other part of the supervisor reads.
// Produced by src/config/load.ts from (highest first) the command line, the environment,
// --config, litefs.yml and the defaults (DESIGN.md section 6). Durations are milliseconds.

export type Bootstrap = 'auto' | 'never' | 'force';
export type OnPromotion = 'migrate' | 'none';
export type PromoteWhen = 'new-version' | 'always';
export type RestartPolicy = 'never' | 'on-failure' | 'always';
export type LogFormat = 'logfmt' | 'json' | 'pretty';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface HealthAddr {
  host: string; // '' means all interfaces (':9090')
  port: number; // 0 = pick a free port (tests)
}

export interface Config {
  /** Path of the --config file that was read, if any. */
  configFile: string | undefined;
  /** Path of the litefs.yml that was read; undefined when none was found or `none` was given. */
  litefsConfig: string | undefined;
  mountDir: string;
  dataDir: string | undefined;
  litefsUrl: string;
  db: string[];
  migrate: string[];
  migrateTimeoutMs: number;
  /** S1: retries of a failed --migrate command (backoff 1 s, 2 s, 4 s...). */
  migrateRetries: number;
  before: string[];
  promote: boolean;
  promoteTimeoutMs: number;
  onPromotion: OnPromotion;
  /** Issue 11: when --promote asks for the lease. */
  promoteWhen: PromoteWhen;
  /** Environment variable holding this app version (--version-env). */
  versionEnv: string;
  /** This node's app version: the value of --version-env; undefined when unset or empty. */
  appVersion: string | undefined;
  /** Issue 11: handover on stop, bounded by this; 0 = off. */
  handoffTimeoutMs: number;
  bootstrap: Bootstrap;
  peers: string | undefined;
  /** Peers' supervisor health port (evidence); undefined = the port of healthAddr. */
  peerHealthPort: number | undefined;
  peerWaitMs: number;
  stateFile: string;
  fenceTimeoutMs: number;
  backupDir: string | undefined;
  backupKeep: number;
  minFreeDisk: number;
  maxLagMs: number;
  /** 0 = wait forever. */
  syncTimeoutMs: number;
  /** 'off' disables the health API. */
  healthAddr: HealthAddr | 'off';
  pollIntervalMs: number;
  restart: RestartPolicy;
  restartMax: number;
  shutdownTimeoutMs: number;
  logFormat: LogFormat;
  logLevel: LogLevel;
  standalone: boolean;
  /**
   * The hostname this node's LiteFS announces in the lease: litefs.yml `lease.hostname`, else
   * the machine's host name (LiteFS's own default). A node whose LiteFS names this as the
   * primary while not primary is in a transient, not a replica (DESIGN.md section 3, role).
   */
  hostname: string | undefined;
  /** The app command after `--` (argv, not a shell string). */
  command: string[];
}

/** What litefs.yml said that matters beyond defaults (warnings). */
export interface LitefsYmlFacts {
  path: string;
  fuseDir: string | undefined;
  dataDir: string | undefined;
  httpAddr: string | undefined;
  proxyDb: string | undefined;
  leaseType: string | undefined;
  leaseCandidate: boolean | undefined;
  leasePromote: boolean | undefined;
  /** `lease.hostname`: the name this node's LiteFS announces as primary. */
  leaseHostname: string | undefined;
  execCommands: string[];
}
