// Where LiteFS's Consul is, as LiteFS itself reads litefs.yml `lease.consul.url` (consul/consul.go
// Leaser.Open): scheme and host from the URL, the token from its password part, and its path as a
// prefix of every key. On Fly the URL is FLY_CONSUL_URL, whose password is a token: it lives in a
// Secret that prints as `[redacted]` everywhere (logs, JSON, util.inspect), so no log, /status,
// check, doctor or error text can carry it by accident.

import type { ParseResult } from '../core/litefs-types.js';

const REDACTED = '[redacted]';

/** A value that never prints: `reveal()` is the one way to read it (the request header). */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return REDACTED;
  }
}

export interface ConsulEndpoint {
  /** `scheme://host[:port]`: no user info, no path. Safe to show. */
  origin: string;
  /** LiteFS's key prefix: the URL's path without its slashes at either end ('' for none). */
  prefix: string;
  /** The URL's password (Consul ACL token), sent as X-Consul-Token; undefined when none. */
  token: Secret | undefined;
  /** litefs.yml `lease.consul.key`: where LiteFS keeps the lease (under the prefix). */
  leaseKey: string;
}

/**
 * The endpoint from litefs.yml's `lease.consul.url` and `lease.consul.key`. Errors never quote
 * the URL (it may hold the token): they say what is wrong with it.
 */
export function parseConsulEndpoint(url: string, leaseKey: string): ParseResult<ConsulEndpoint> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return {
      ok: false,
      error: 'lease.consul.url is not a URL (its value is not shown: it may hold a token)',
    };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    return {
      ok: false,
      error: `lease.consul.url has scheme ${u.protocol.replace(':', '')}; the cluster record speaks http or https`,
    };
  }
  if (u.host === '') return { ok: false, error: 'lease.consul.url has no host' };
  if (leaseKey.trim() === '') return { ok: false, error: 'lease.consul.key is empty' };
  const password = u.password === '' ? undefined : decodeURIComponent(u.password);
  return {
    ok: true,
    value: {
      origin: `${u.protocol}//${u.host}`,
      prefix: trimSlashes(u.pathname),
      token: password === undefined ? undefined : new Secret(password),
      leaseKey,
    },
  };
}

function trimSlashes(p: string): string {
  return p.replace(/^\/+|\/+$/g, '');
}

/** A key under the endpoint's prefix, as LiteFS joins them (path.Join). */
export function keyUnder(endpoint: ConsulEndpoint, key: string): string {
  return [endpoint.prefix, trimSlashes(key)].filter((part) => part !== '').join('/');
}
