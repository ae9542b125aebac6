// The validated configuration every other part of the supervisor reads.
// Produced by src/config/load.ts from (highest first) the command line, the environment,
// --config, litefs.yml and the defaults (docs/design.md section 6). Durations are milliseconds.

import type { Policy } from '../core/policy.js';

export type { Bootstrap, OnPromotion, Policy, PromoteWhen, RestartPolicy } from '../core/policy.js';
export type LogFormat = 'logfmt' | 'json' | 'pretty';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface HealthAddr {
  host: string; // '' means all interfaces (':9090')
  port: number; // 0 = pick a free port (tests)
}

/**
 * Everything the options say. The part the pure core reads is its own type, `Policy`
 * (src/core/policy.ts): config depends on the core, never the reverse.
 */
export interface Config extends Policy {
  /** Path of the --config file that was read, if any. */
  configFile: string | undefined;
  /** Path of the litefs.yml that was read; undefined when none was found or `none` was given. */
  litefsConfig: string | undefined;
  dataDir: string | undefined;
  migrate: string[];
  before: string[];
  /** Peers' supervisor health port (evidence); undefined = the port of healthAddr. */
  peerHealthPort: number | undefined;
  backupKeep: number;
  /** 'off' disables the health API. */
  healthAddr: HealthAddr | 'off';
  pollInterval: number;
  logFormat: LogFormat;
  logLevel: LogLevel;
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
