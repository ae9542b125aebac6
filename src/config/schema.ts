// The one table of options (docs/design.md section 6). Flag names, environment names, --config keys,
// Config fields and their types, defaults, ranges, --help text, the generated docs and the
// command line parser's options all come from OPTIONS: adding an option is one entry here.
//
// zod carries the validation: each kind is a zod schema taking text (command line,
// environment) or a YAML/JSON value (--config) to the typed Config value. The parsers inside
// are small functions so that every message names the value received and what is accepted.
// `Config` (types.ts) is the output type of CONFIG_SCHEMA, the strict object built from the table.

// zod/mini: the same validation with a fraction of the code to load at start (issue 6).
import * as z from 'zod/mini';
import type { ConsulEndpoint } from '../consul/endpoint.js';
import { DURATION_HINT, parseDuration } from '../core/duration.js';
import type { ParseResult } from '../core/litefs-types.js';
import { showValue } from '../core/values.js';
import { LITEFS_DEFAULT_FUSE_DIR, LITEFS_DEFAULT_PORT } from './litefs-yml.js';
import type { Config, HealthAddr } from './types.js';

export const ENV_PREFIX = 'LITEFS_SUPERVISOR_';

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

function duration(opts: { positive?: boolean } = {}): Kind<number, false> {
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
function int(min: number, max?: number): Kind<number, false> {
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

function percent(): Kind<number, false> {
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

function oneOf<const V extends string>(values: readonly V[]): Kind<V, false> {
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

function healthAddr(): Kind<HealthAddr | 'off', false> {
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

function appReady(): Kind<string, false> {
  return textKind('appReady', 'URL|none', APP_READY_ACCEPTED, parseAppReady);
}

const CONSUL_KEY = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;
export const CONSUL_KEY_ACCEPTED =
  'use a Consul key like litefs-supervisor/my-app (letters, digits, _ . - and / between parts), or off';

/** A Consul KV key under the lease's prefix, or `off`. */
function consulKey(): Kind<string, false> {
  return textKind('consulKey', 'KEY|off', CONSUL_KEY_ACCEPTED, (s) =>
    s === 'off' || CONSUL_KEY.test(s)
      ? { ok: true, value: s }
      : fail(s, 'is not a Consul key', CONSUL_KEY_ACCEPTED),
  );
}

function peers(): Kind<string, false> {
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

function list(
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

function command(): Kind<string[], true> {
  const accepted = 'give a shell command, like "npx prisma migrate deploy"';
  return list('CMD', accepted, (s) =>
    s.trim() === '' ? fail(s, 'is empty', accepted) : { ok: true, value: s },
  );
}

export type Group =
  | 'General'
  | 'LiteFS'
  | 'Migrations and the app'
  | 'Primary safety'
  | 'Backups and disk'
  | 'Health and logs';

/** `max-lag` -> `maxLag`: the --config key and the Config field of an option. */
export type Camel<S extends string> = S extends `${infer H}-${infer T}`
  ? `${H}${Capitalize<Camel<T>>}`
  : S;

export function camel<N extends string>(name: N): Camel<N> {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as Camel<N>;
}

/**
 * One option. `V` is its Config field's type, `F` the field (undefined for the two options the
 * loader handles itself: --config and --litefs-config).
 */
export interface OptionSpec<
  N extends string = string,
  V = unknown,
  F extends string | undefined = string | undefined,
> {
  /** kebab-case: the flag is `--<name>`. */
  name: N;
  flag: string;
  /** `LITEFS_SUPERVISOR_<NAME>`. */
  env: string;
  /** camelCase key in a --config file; undefined when the option cannot be set there. */
  fileKey: Camel<N> | undefined;
  /** Where the value lands in Config. */
  field: F;
  kind: Kind<unknown>;
  /** The Config field: the kind with its default (or `unset`, or undefined when neither). */
  schema: z.ZodMiniType<V>;
  /** Built-in default as written (parsed by kind.schema); undefined when none. */
  default: string | undefined;
  /** The default as --help and the docs show it. */
  defaultText: string;
  help: string;
  group: Group;
}

interface OptionInput<N extends string, T, A extends boolean, D extends string | undefined> {
  name: N;
  kind: Kind<T, A>;
  default?: D;
  /** For derived defaults: how --help describes them. */
  defaultHelp?: string;
  help: string;
}

/** Optional in the input, and a field that is present (maybe undefined) in the output. */
function orUndefined<T>(schema: z.ZodMiniType<T>): z.ZodMiniType<T | undefined> {
  return z.prefault(z.union([schema, z.undefined()]), undefined);
}

/** An option whose value lands in Config under its camelCase name. */
function option<
  const N extends string,
  T,
  A extends boolean,
  const D extends string | undefined = undefined,
>(
  o: OptionInput<N, T, A, D>,
): OptionSpec<N, A extends true ? T : D extends string ? T : T | undefined, Camel<N>> {
  const kind = o.kind as Kind<T>;
  const written = o.default ?? kind.unset;
  const schema =
    written === undefined ? orUndefined(kind.schema) : z.prefault(kind.schema, written);
  return {
    ...loaderOption(o),
    field: camel(o.name),
    schema: schema as z.ZodMiniType<A extends true ? T : D extends string ? T : T | undefined>,
  };
}

/** An option the loader reads itself, not a Config field. */
function loaderOption<const N extends string, T, A extends boolean>(
  o: OptionInput<N, T, A, string | undefined>,
  inFile = true,
): OptionSpec<N, never, undefined> {
  return {
    name: o.name,
    flag: `--${o.name}`,
    env: ENV_PREFIX + o.name.toUpperCase().replace(/-/g, '_'),
    fileKey: inFile ? camel(o.name) : undefined,
    field: undefined,
    kind: o.kind as Kind<unknown>,
    schema: z.never(),
    default: o.default,
    defaultText: o.defaultHelp ?? o.default ?? (o.kind.type === 'boolean' ? 'off' : 'none'),
    help: o.help,
    group: 'General',
  };
}

/** Options under one heading of --help and the docs, in order. */
function section<const T extends readonly OptionSpec[]>(group: Group, options: T): T {
  return options.map((o) => ({ ...o, group })) as unknown as T;
}

export const OPTIONS = [
  ...section('General', [
    loaderOption(
      {
        name: 'config',
        kind: text('FILE', 'a file path'),
        help: 'YAML or JSON file with the same options, keys in camelCase (maxLag: 10s). Unknown keys are errors.',
      },
      false,
    ),
    loaderOption({
      name: 'litefs-config',
      kind: text('FILE', 'a file path, or none'),
      defaultHelp: './litefs.yml, ~/litefs.yml, /etc/litefs.yml (first found)',
      help: `litefs.yml to read defaults and warnings from, with LiteFS's \${...} expansion; none disables it.`,
    }),
    option({
      name: 'standalone',
      kind: boolean(),
      help: 'No LiteFS (local development): always primary, each --db is a plain file under --mount-dir, no peers.',
    }),
  ]),
  ...section('LiteFS', [
    option({
      name: 'mount-dir',
      kind: text('DIR', 'a directory path'),
      default: LITEFS_DEFAULT_FUSE_DIR,
      defaultHelp: `litefs.yml fuse.dir, else ${LITEFS_DEFAULT_FUSE_DIR}`,
      help: 'LiteFS FUSE mount directory.',
    }),
    option({
      name: 'data-dir',
      kind: text('DIR', 'a directory path'),
      defaultHelp: 'litefs.yml data.dir (LiteFS default /var/lib/litefs)',
      help: "LiteFS's internal directory: only read for free space and the --state-file default, never written.",
    }),
    option({
      name: 'litefs-url',
      kind: url(),
      default: `http://127.0.0.1:${LITEFS_DEFAULT_PORT}`,
      defaultHelp: `http://127.0.0.1: + port of litefs.yml http.addr, else ${LITEFS_DEFAULT_PORT}`,
      help: 'LiteFS HTTP API.',
    }),
    option({
      name: 'db',
      kind: list('NAME', DB_ACCEPTED, parseDbName, { unique: true }),
      defaultHelp: 'litefs.yml proxy.db',
      help: 'Database (file name in the mount) whose state gates migrations. At least one is required.',
    }),
    option({
      name: 'max-lag',
      kind: duration(),
      default: '10s',
      help: 'A replica is synced (and healthy) when its lag is at most this and every --db has arrived with a replicated position.',
    }),
    option({
      name: 'sync-timeout',
      kind: duration(),
      default: '10m',
      help: 'Waiting longer than this for LiteFS, a primary or sync exits 5; 0 waits forever.',
    }),
    option({
      name: 'poll-interval',
      // 0 would poll LiteFS in a busy loop.
      kind: duration({ positive: true }),
      default: '1s',
      help: 'How often /info and the mount files are read, besides the /events stream; while the app runs and /events is connected, every 10s (the lag routes of the health API still ask for a reading this fresh).',
    }),
  ]),
  ...section('Migrations and the app', [
    option({
      name: 'migrate',
      kind: command(),
      help: 'Shell command run in order, on the primary only, once its database is synced.',
    }),
    option({
      name: 'migrate-timeout',
      kind: duration(),
      default: '10m',
      help: 'Time limit for each --migrate command.',
    }),
    option({
      name: 'migrate-retries',
      kind: int(0, 100),
      default: '3',
      help: 'Retries of a failed --migrate command while this node stays primary, after 1 s, 2 s, 4 s... (each re-confirmed). Then: exit 3 before the app started; with the app running, keep it and retry every 5 minutes.',
    }),
    option({
      name: 'before',
      kind: command(),
      help: 'Shell command run on every node once synced, before the app.',
    }),
    option({
      name: 'restart',
      kind: oneOf(['never', 'on-failure', 'always'] as const),
      default: 'never',
      help: 'App restart policy; backoff from --restart-delay doubling to 30s, at most --restart-max restarts in 10 minutes, then exit with the app code.',
    }),
    option({
      name: 'restart-delay',
      kind: duration(),
      default: '1s',
      help: 'Wait before the first restart of a crashed app; each restart in the 10 minutes doubles it, up to 30s (or this, when longer). 0 restarts at once every time (still at most --restart-max in 10 minutes).',
    }),
    option({
      name: 'restart-max',
      kind: int(0),
      default: '5',
      help: 'Most app restarts allowed in 10 minutes.',
    }),
    option({
      name: 'app-ready',
      kind: appReady(),
      default: 'none',
      defaultHelp: 'tcp://<litefs.yml proxy.target> when set, else none',
      help: 'When the app is ready: it accepts a TCP connection (tcp://HOST:PORT; localhost tries 127.0.0.1 and ::1), or a GET of an http(s) URL answers 2xx/3xx; none: at spawn. /health answers 200 only once it is ready.',
    }),
    option({
      name: 'app-ready-timeout',
      kind: duration({ positive: true }),
      default: '60s',
      help: 'An app not ready this long after it started is stopped, and the run exits 6.',
    }),
    option({
      name: 'shutdown-timeout',
      kind: duration(),
      default: '3s',
      help: 'After forwarding a signal, SIGKILL the process group after this. Keep it below fly.toml kill_timeout (default 5s): LiteFS still needs time to release the lease.',
    }),
  ]),
  ...section('Primary safety', [
    option({
      name: 'promote',
      kind: boolean(),
      help: 'Sync-first promotion: a candidate asks for the lease only once synced and not behind. Use with lease.promote: false.',
    }),
    option({
      name: 'promote-timeout',
      // 0 would repeat POST /promote in a busy loop.
      kind: duration({ positive: true }),
      default: '30s',
      help: 'Wait this long for the lease after asking for it, then ask again.',
    }),
    option({
      name: 'promote-when',
      kind: oneOf(['new-version', 'always'] as const),
      default: 'new-version',
      help: "With --promote, when a synced candidate asks for the lease: new-version (only when the primary's supervisor reports another app version than --version-env gives here, or none: the lease moves once per deploy) or always (every start asks).",
    }),
    option({
      name: 'version-env',
      kind: text('NAME', 'an environment variable name'),
      default: 'FLY_IMAGE_REF',
      help: 'Environment variable that holds this app version (Fly sets FLY_IMAGE_REF per deploy); reported in /status and compared by --promote-when new-version.',
    }),
    option({
      name: 'handoff-timeout',
      kind: duration(),
      default: '1s',
      help: 'On SIGTERM/SIGINT a primary first hands the lease to the most advanced synced candidate and waits up to this for LiteFS to show the move, then stops its app (--shutdown-timeout). 0 stops at once. Keep both within fly.toml kill_timeout (default 5s).',
    }),
    option({
      name: 'hand-back',
      kind: oneOf(['on', 'off'] as const),
      default: 'on',
      help: "on: a primary whose app cannot serve writes (booting after its migrations, a failed migration waiting for its next try, a crashed app waiting to restart) hands the lease to a synced candidate whose app is ready, and takes it back once its app is ready (or its migration's next try is due). The old version then serves on the migrated schema: migrations must be expand/contract. off: the lease stays while the app boots (for migrations the old version cannot run against).",
    }),
    option({
      name: 'on-promotion',
      kind: oneOf(['migrate', 'none'] as const),
      default: 'migrate',
      help: 'What a replica with a running app does when it becomes primary.',
    }),
    option({
      name: 'bootstrap',
      kind: oneOf(['auto', 'never', 'force'] as const),
      default: 'auto',
      help: 'Whether an empty primary may initialise a new cluster: auto (only if every peer answered and none has data), never, force.',
    }),
    option({
      name: 'peers',
      kind: peers(),
      defaultHelp: `\${FLY_APP_NAME}.internal when FLY_APP_NAME is set`,
      help: 'Other LiteFS nodes to compare positions with: a DNS name (each A/AAAA record at the LiteFS port) or LiteFS URLs.',
    }),
    option({
      name: 'cluster-record',
      kind: consulKey(),
      defaultHelp: `litefs-supervisor/\${FLY_APP_NAME} when FLY_APP_NAME is set, else litefs-supervisor/<lease.consul.key>; off without a Consul lease`,
      help: "Consul key (under lease.consul.url's path) where primaries record that the cluster has data, so an empty primary is fenced even when the nodes holding the data are stopped; off disables it.",
    }),
    option({
      name: 'peer-health-port',
      kind: int(1, 65535),
      defaultHelp: 'the port of --health-addr',
      help: "Port of the peers' supervisor health API, asked for their evidence (GET /status) before LiteFS alone. A URL in --peers may name its own with #health=PORT.",
    }),
    option({
      name: 'peer-wait',
      kind: duration(),
      default: '30s',
      help: 'How long to wait for unanswered peers before fencing.',
    }),
    option({
      name: 'state-file',
      kind: text('PATH', 'a file path'),
      default: '/var/lib/litefs-supervisor.json',
      defaultHelp:
        '<parent of data dir>/litefs-supervisor.json, else /var/lib/litefs-supervisor.json',
      help: 'Where the highest TXID seen per database is kept. Put it on the same volume as the LiteFS data dir.',
    }),
    option({
      name: 'fence-timeout',
      kind: duration(),
      default: '60s',
      help: 'A fenced node still primary after this exits 4, so LiteFS releases the lease.',
    }),
  ]),
  ...section('Backups and disk', [
    option({
      name: 'backup-dir',
      kind: text('DIR', 'a directory path'),
      defaultHelp: 'off',
      help: 'Save a copy of each database here before migrating it.',
    }),
    option({
      name: 'backup-keep',
      kind: int(1),
      default: '3',
      help: 'Number of backups kept per database.',
    }),
    option({
      name: 'min-free-disk',
      kind: percent(),
      default: '10',
      help: 'Do not migrate (exit 3), and skip backups, when less than this percent of the data volume is free.',
    }),
  ]),
  ...section('Health and logs', [
    option({
      name: 'health-addr',
      kind: healthAddr(),
      default: ':9090',
      help: 'Address of the health API (GET /health, /status, /metrics); off disables it.',
    }),
    option({
      name: 'log-format',
      kind: oneOf(['logfmt', 'json', 'pretty'] as const),
      default: 'logfmt',
      help: 'Log line format (stderr).',
    }),
    option({
      name: 'log-level',
      kind: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const),
      default: 'info',
      help: 'Lowest level logged.',
    }),
  ]),
] as const;

export type OptionName = (typeof OPTIONS)[number]['name'];

export const OPTIONS_BY_NAME: ReadonlyMap<string, OptionSpec> = new Map(
  OPTIONS.map((o) => [o.name, o]),
);
/** By camelCase name (--config's key, the command line's too): every option. */
export const OPTIONS_BY_KEY: ReadonlyMap<string, OptionSpec> = new Map(
  OPTIONS.map((o) => [camel(o.name), o]),
);

type FieldOption = Extract<(typeof OPTIONS)[number], { field: string }>;
type FieldShape = { [O in FieldOption as O['field']]: O['schema'] };

const FIELD_SHAPE = Object.fromEntries(
  OPTIONS.flatMap((o) => (o.field === undefined ? [] : [[o.field, o.schema]])),
) as FieldShape;

/** The loaded configuration: one field per option (defaults applied), and what the loader adds. */
export const CONFIG_SCHEMA = z.strictObject({
  ...FIELD_SHAPE,
  /** Path of the --config file that was read, if any. */
  configFile: orUndefined(z.string()),
  /** Path of the litefs.yml that was read; undefined when none was found or `none` was given. */
  litefsConfig: orUndefined(z.string()),
  /** litefs.yml lease.hostname, else the machine's host name (Policy.hostname). */
  hostname: orUndefined(z.string()),
  /** The value of --version-env; undefined when unset or empty. */
  appVersion: orUndefined(z.string()),
  /** The app command after `--`. */
  command: z.prefault(z.array(z.string()), []),
  /**
   * The lease's Consul (litefs.yml lease.consul), where the cluster record lives; undefined when
   * the record is off. Its token is a Secret: it never prints.
   */
  consul: orUndefined(z.custom<ConsulEndpoint>()),
});

/** Every field at its built-in default (a fresh copy): what an empty configuration means. */
export function defaultConfig(): z.output<typeof CONFIG_SCHEMA> {
  return CONFIG_SCHEMA.parse({});
}

/** `check`, `doctor` and `record` need no app command. */
export type Mode = 'run' | 'check' | 'doctor' | 'record';

export interface CrossFieldIssue {
  /** `--db`, or `--` for the app command. */
  option: string;
  message: string;
  accepted: string;
}

/**
 * Rules that need more than one value, all here. `invalid` holds the names of options whose
 * value was refused: a rule that reads one of them is skipped rather than report a consequence
 * (a --config or litefs.yml that could not be read may have named the db).
 */
export function crossFieldIssues(
  config: Config,
  mode: Mode,
  invalid: ReadonlySet<string>,
): CrossFieldIssue[] {
  const issues: CrossFieldIssue[] = [];
  const unread = ['db', 'config', 'litefs-config'].some((name) => invalid.has(name));
  // `record` reads the cluster record, which is the cluster's, not a db's: no --db needed.
  if (!unread && config.db.length === 0 && mode !== 'record') {
    issues.push({
      option: '--db',
      message:
        '--db: no database given; pass --db NAME (repeatable), set LITEFS_SUPERVISOR_DB, or set proxy.db in litefs.yml',
      accepted: DB_ACCEPTED,
    });
  }
  if (mode === 'run' && config.command.length === 0) {
    issues.push({
      option: '--',
      message:
        'no app command: put it after --, like litefs-supervisor --db sqlite.db -- npm start (or use `check` to only validate)',
      accepted: 'an app command after --',
    });
  }
  return issues;
}
