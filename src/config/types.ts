// The validated configuration every other part of the supervisor reads.
// Produced by src/config/load.ts from (highest first) the command line, the environment,
// --config, litefs.yml and the defaults (docs/design.md section 6). Durations are milliseconds.

import type * as z from 'zod/mini';
import type { ConsulEndpoint } from '../consul/endpoint.js';
import type { ParseResult } from '../core/litefs-types.js';
import type { Policy } from '../core/policy.js';
import type { CONFIG_SCHEMA } from './schema.js';

export type { Bootstrap, OnPromotion, Policy, PromoteWhen, RestartPolicy } from '../core/policy.js';

export interface HealthAddr {
  host: string; // '' means all interfaces (':9090')
  port: number; // 0 = pick a free port (tests)
}

/**
 * Everything the options say: the output of the schema built from the option table
 * (schema.ts), so a field is declared once, by its table entry.
 */
export type Config = z.output<typeof CONFIG_SCHEMA>;
export type LogFormat = Config['logFormat'];
export type LogLevel = Config['logLevel'];

// The part the pure core reads is its own type, `Policy` (src/core/policy.ts): config depends
// on the core, never the reverse. A Config must be a Policy; this line fails to compile when an
// option's type (or a missing option) would break that.
export const CONFIG_IS_A_POLICY = true satisfies Config extends Policy ? true : never;

/** A litefs.yml duration as LiteFS reads it (Go's time.ParseDuration). */
export interface GoDuration {
  /** As written (after LiteFS's `${...}` expansion): what a message quotes. */
  text: string;
  /** Milliseconds, not rounded (`500us` is 0.5); negative when written so (Go accepts it). */
  ms: number;
}

/** What litefs.yml said that matters beyond defaults (warnings). */
export interface LitefsYmlFacts {
  path: string;
  fuseDir: string | undefined;
  dataDir: string | undefined;
  httpAddr: string | undefined;
  proxyDb: string | undefined;
  /** `proxy.target`: where LiteFS's proxy sends the app's traffic (`localhost:8081`). */
  proxyTarget: string | undefined;
  leaseType: string | undefined;
  leaseCandidate: boolean | undefined;
  leasePromote: boolean | undefined;
  /** `lease.reconnect-delay`; undefined when not set (LiteFS then waits its default, 1s). */
  leaseReconnectDelay: GoDuration | undefined;
  /** `lease.hostname`: the name this node's LiteFS announces as primary. */
  leaseHostname: string | undefined;
  /** `lease.consul.ttl`; undefined when not set (LiteFS's default 10s). */
  leaseConsulTtl: GoDuration | undefined;
  /** `lease.consul.lock-delay`; undefined when not set (LiteFS's default 1s). */
  leaseConsulLockDelay: GoDuration | undefined;
  execCommands: string[];
  /**
   * `lease.consul.url` and `.key` as LiteFS reads them (its token in a Secret); undefined when
   * no URL is given. The cluster record lives in this Consul.
   */
  consul: ParseResult<ConsulEndpoint> | undefined;
}
