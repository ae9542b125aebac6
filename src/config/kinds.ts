// The kinds of option value (docs/design.md section 12, point 4): how each is written, checked
// and shown in --help. zod carries the validation: each kind is a zod schema taking text
// (command line, environment) or a YAML/JSON value (--config) to the typed Config value. The
// parsers inside are small functions so that every message names the value received and what
// is accepted. The option table (schema.ts, built from options/*.ts) gives each option a kind.

import * as z from 'zod/mini';
import { DURATION_HINT, parseDuration } from '../core/duration.js';
import type { ParseResult } from '../core/litefs-types.js';
import { showValue } from '../core/values.js';
import type { HealthAddr } from './types.js';

/**
 * How a value is written and checked. `T` is what lands in Config; `Always` is true for the
 * kinds that hold a value even when nothing sets them (a list is [], a flag is off).
 */
export interface Kind<T, Always extends boolean = boolean> {
  type:
    | 'text'
    | 'duration'
    | 'int'
    | 'percent'
    | 'enum'
    | 'boolean'
    | 'list'
    | 'healthAddr'
    | 'url'
    | 'peers'
    | 'consulKey'
    | 'appReady';
  /** What is accepted, for error messages and --help. */
  accepted: string;
  /** Placeholder in --help: `DUR`, `FILE`; '' for boolean flags. */
  placeholder: string;
  /** Enum values, for --help. */
  values?: readonly string[];
  /** Accepted numbers (`0 to 100`, `1 or more`), for --help and the docs. */
  range?: string;
  /** The value (as written) when nothing sets the option and it has no default. */
  unset: Always extends true ? string | readonly string[] : undefined;
  schema: z.ZodMiniType<T>;
}

/** Quotes a received value for a message (`nothing` when none came). */
export function showReceived(v: unknown): string {
  return v === undefined ? 'nothing' : showValue(v);
}

function fail<T>(value: string, problem: string, accepted: string): ParseResult<T> {
  return { ok: false, error: `${showReceived(value)} ${problem}; ${accepted}` };
}

// The command line and the environment give text; a --config file may also give YAML/JSON
// numbers and booleans, which mean the same as their text (`backupKeep: 3`).
function scalarText(accepted: string): z.ZodMiniType<string> {
  return z.pipe(
    z.transform((v: unknown) => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : v)),
    z.string({ error: (iss) => `${showReceived(iss.input)} is not a single value; ${accepted}` }),
  );
}

/** Run a ParseResult parser as the last step of a schema; its error becomes the issue. */
function parsedBy<T>(parse: (s: string) => ParseResult<T>) {
  return z.transform((s: string, ctx): T => {
    const r = parse(s);
    if (r.ok) return r.value;
    ctx.issues.push({ code: 'custom', message: r.error, input: s });
    return z.NEVER;
  });
}

function textKind<T>(
  type: Kind<T>['type'],
  placeholder: string,
  accepted: string,
  parse: (s: string) => ParseResult<T>,
  more: { values?: readonly string[]; range?: string } = {},
): Kind<T, false> {
  const schema = z.pipe(scalarText(accepted), parsedBy(parse));
  return { type, placeholder, accepted, schema, unset: undefined, ...more };
}

export function text(placeholder: string, what: string): Kind<string, false> {
  const accepted = `give ${what}`;
  return textKind('text', placeholder, accepted, (s) =>
    s.trim() === '' ? fail(s, 'is empty', accepted) : { ok: true, value: s },
  );
}

// Node's timers fire after 1 ms (with only a warning) when given more than 2^31-1 ms, so a
// longer timeout would silently become an immediate one.
const MAX_TIMER_MS = 2_147_483_647;

export function duration(opts: { positive?: boolean } = {}): Kind<number, false> {
  return textKind('duration', 'DUR', DURATION_HINT, (s) => {
    const r = parseDuration(s);
    if (r.ok && opts.positive && r.value === 0) {
      return fail(s, 'must be more than 0', 'use a duration like 500ms, 1s or 10s');
    }
    if (r.ok && r.value > MAX_TIMER_MS) {
      return fail(s, 'is too long', 'use at most 596h (about 24 days)');
    }
    return r;
  });
}

/** A whole number from `min` to `max` (no upper bound when undefined): the range's one home. */
export function int(min: number, max?: number): Kind<number, false> {
  const range = max === undefined ? `${min} or more` : `${min} to ${max}`;
  const accepted =
    max === undefined ? `use a whole number, ${range}` : `use a whole number from ${range}`;
  return textKind(
    'int',
    'N',
    accepted,
    (s) => {
      if (!/^-?\d+$/.test(s)) return fail(s, 'is not a whole number', accepted);
      const n = Number(s);
      if (n < min || (max !== undefined && n > max)) return fail(s, 'is out of range', accepted);
      return { ok: true, value: n };
    },
    { range },
  );
}

export function percent(): Kind<number, false> {
  const accepted = 'use a percentage from 0 to 100, like 10 or 2.5';
  return textKind(
    'percent',
    'PCT',
    accepted,
    (s) => {
      const m = /^(-?\d+(?:\.\d+)?)%?$/.exec(s);
      if (!m) return fail(s, 'is not a percentage', accepted);
      const n = Number(m[1]);
      if (n < 0 || n > 100) return fail(s, 'is out of range', accepted);
      return { ok: true, value: n };
    },
    { range: '0 to 100' },
  );
}

export function oneOf<const V extends string>(values: readonly V[]): Kind<V, false> {
  const accepted = `use one of ${values.join(', ')}`;
  return textKind(
    'enum',
    values.join('|'),
    accepted,
    (s) =>
      (values as readonly string[]).includes(s)
        ? { ok: true, value: s as V }
        : fail(s, 'is not an accepted value', accepted),
    { values },
  );
}

const BOOLEAN_ACCEPTED = 'use true, false, 1 or 0';

/** `true/false/1/0`, as accepted from `--flag=VALUE`, the environment and --config. */
export function parseBoolean(s: string): ParseResult<boolean> {
  if (s === 'true' || s === '1') return { ok: true, value: true };
  if (s === 'false' || s === '0') return { ok: true, value: false };
  return fail(s, 'is not a boolean', BOOLEAN_ACCEPTED);
}

export function boolean(): Kind<boolean, true> {
  return { ...textKind('boolean', '', BOOLEAN_ACCEPTED, parseBoolean), unset: 'false' };
}

const HEALTH_ADDR_ACCEPTED = 'use [HOST]:PORT like :9090, 0.0.0.0:9090 or [::1]:9090, or off';

export function parseHealthAddr(s: string): ParseResult<HealthAddr | 'off'> {
  if (s === 'off') return { ok: true, value: 'off' };
  const m = /^(?:\[([0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:%[\w.-]+)?)\]|([A-Za-z0-9.-]*)):(\d+)$/.exec(s);
  if (!m) return fail(s, 'is not an address', HEALTH_ADDR_ACCEPTED);
  const port = Number(m[3]);
  if (port > 65535) return fail(s, 'has a port above 65535', HEALTH_ADDR_ACCEPTED);
  return { ok: true, value: { host: m[1] ?? m[2] ?? '', port } };
}

export function healthAddr(): Kind<HealthAddr | 'off', false> {
  return textKind('healthAddr', '[HOST]:PORT|off', HEALTH_ADDR_ACCEPTED, parseHealthAddr);
}

/** An http(s) URL without query or fragment; trailing slashes dropped. */
export function parseHttpUrl(s: string, accepted: string): ParseResult<string> {
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return fail(s, 'is not a URL', accepted);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return fail(s, 'is not an http(s) URL', accepted);
  }
  // Paths are appended to it (`/info`), so a query or fragment would end up in the middle.
  if (url.search !== '' || url.hash !== '') {
    return fail(s, 'has a query or fragment', accepted);
  }
  return { ok: true, value: s.replace(/\/+$/, '') };
}

export const URL_ACCEPTED = 'use an http(s) URL like http://127.0.0.1:20202';

export function url(): Kind<string, false> {
  return textKind('url', 'URL', URL_ACCEPTED, (s) => parseHttpUrl(s, URL_ACCEPTED));
}

const PEERS_ACCEPTED =
  'use one DNS name (like myapp.internal) or a comma-separated list of LiteFS URLs (like http://10.0.0.2:20202,http://10.0.0.3:20202), each optionally followed by #health=PORT';

/**
 * `#health=PORT` after a peer URL names the port of that peer's supervisor health API, for
 * nodes that do not share --peer-health-port (several nodes on one host, as in tests).
 */
export const PEER_HEALTH_SUFFIX = /#health=(\d{1,5})$/;
const DNS_NAME =
  /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

export const APP_READY_ACCEPTED =
  'use none, tcp://HOST:PORT (the app accepts a connection) or an http(s) URL (a GET answers 2xx or 3xx)';

/** When the app counts as ready: `none`, `tcp://HOST:PORT`, or an http(s) URL. */
export function parseAppReady(s: string): ParseResult<string> {
  if (s === 'none') return { ok: true, value: s };
  if (s.startsWith('tcp://')) {
    const m = /^tcp:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(s);
    const port = Number(m?.[2]);
    return m && port >= 1 && port <= 65535
      ? { ok: true, value: s }
      : fail(s, 'is not tcp://HOST:PORT with a port from 1 to 65535', APP_READY_ACCEPTED);
  }
  return parseHttpUrl(s, APP_READY_ACCEPTED);
}

export function appReady(): Kind<string, false> {
  return textKind('appReady', 'URL|none', APP_READY_ACCEPTED, parseAppReady);
}

const CONSUL_KEY = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;
export const CONSUL_KEY_ACCEPTED =
  'use a Consul key like litefs-supervisor/my-app (letters, digits, _ . - and / between parts), or off';

/** A Consul KV key under the lease's prefix, or `off`. */
export function consulKey(): Kind<string, false> {
  return textKind('consulKey', 'KEY|off', CONSUL_KEY_ACCEPTED, (s) =>
    s === 'off' || CONSUL_KEY.test(s)
      ? { ok: true, value: s }
      : fail(s, 'is not a Consul key', CONSUL_KEY_ACCEPTED),
  );
}

export function peers(): Kind<string, false> {
  return textKind('peers', 'NAME|URL,...', PEERS_ACCEPTED, (s) => {
    const items = s.split(',').map((i) => i.trim());
    if (items.some((i) => i === '')) return fail(s, 'has an empty entry', PEERS_ACCEPTED);
    if (items.length === 1 && !items[0]?.includes('://')) {
      return DNS_NAME.test(s.trim())
        ? { ok: true, value: s.trim() }
        : fail(s, 'is not a DNS name', PEERS_ACCEPTED);
    }
    for (const item of items) {
      const health = PEER_HEALTH_SUFFIX.exec(item);
      if (health && (Number(health[1]) < 1 || Number(health[1]) > 65535)) {
        return fail(
          s,
          `has ${showReceived(item)}, whose health port is not 1-65535`,
          PEERS_ACCEPTED,
        );
      }
      if (!parseHttpUrl(item.replace(PEER_HEALTH_SUFFIX, ''), PEERS_ACCEPTED).ok) {
        return fail(s, `has ${showReceived(item)}, which is not an http(s) URL`, PEERS_ACCEPTED);
      }
    }
    return { ok: true, value: items.join(',') };
  });
}

export const DB_ACCEPTED = 'use the file name of a database in the LiteFS mount, like sqlite.db';
// Files LiteFS keeps next to each database (docs/litefs-facts.md, "Files in the FUSE mount directory").
const COMPANION_SUFFIXES = ['-pos', '-lock', '-journal', '-wal', '-shm'];

export function parseDbName(s: string): ParseResult<string> {
  if (s === '') return fail(s, 'is empty', DB_ACCEPTED);
  if (s.includes('/') || s.includes('\0')) return fail(s, 'is a path', DB_ACCEPTED);
  if (s === '.' || s === '..') return fail(s, 'is not a file name', DB_ACCEPTED);
  if (s === '.primary' || s === '.lag') return fail(s, "is one of LiteFS's own files", DB_ACCEPTED);
  const suffix = COMPANION_SUFFIXES.find((x) => s.endsWith(x) && s.length > x.length);
  if (suffix !== undefined) {
    return fail(
      s,
      `is a file LiteFS or SQLite keeps next to the database`,
      `name the database itself, like ${s.slice(0, -suffix.length)}`,
    );
  }
  return { ok: true, value: s };
}

export function list(
  placeholder: string,
  accepted: string,
  item: (s: string) => ParseResult<string>,
  opts: { unique?: boolean } = {},
): Kind<string[], true> {
  const itemSchema = z.pipe(scalarText(accepted), parsedBy(item));
  const schema = z.pipe(
    z.pipe(
      // A --config file may give one value where a list is expected: `db: sqlite.db`.
      z.transform((v: unknown) => (typeof v === 'string' ? [v] : v)),
      z.array(itemSchema, {
        error: (iss) => `${showReceived(iss.input)} is not a list; ${accepted}`,
      }),
    ),
    z.transform((values: string[], ctx) => {
      if (!opts.unique) return values;
      const seen = new Set<string>();
      for (const v of values) {
        if (seen.has(v)) {
          ctx.issues.push({
            code: 'custom',
            message: `${showReceived(v)} is listed twice; list each once`,
            input: values,
          });
        }
        seen.add(v);
      }
      return values;
    }),
  );
  return { type: 'list', placeholder, accepted, schema, unset: [] };
}

export function command(): Kind<string[], true> {
  const accepted = 'give a shell command, like "npx prisma migrate deploy"';
  return list('CMD', accepted, (s) =>
    s.trim() === '' ? fail(s, 'is empty', accepted) : { ok: true, value: s },
  );
}
