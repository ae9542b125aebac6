// The one table of options (docs/design.md section 6). Flag names, environment names, --config keys,
// Config fields and their types, defaults, ranges, --help text, the generated docs and the
// command line parser's options all come from OPTIONS: adding an option is one entry in the part
// of its section (options/*.ts), built with option() (option.ts) and a kind (kinds.ts).
//
// OPTIONS puts the sections together in the order --help and docs/configuration.md show them.
// `Config` (types.ts) is the output type of CONFIG_SCHEMA, the strict object built from the table.

// zod/mini: the same validation with a fraction of the code to load at start (docs/performance.md,
// start-up).
import * as z from 'zod/mini';
import type { ConsulEndpoint } from '../consul/endpoint.js';
import { DB_ACCEPTED } from './kinds.js';
import { camel, type OptionSpec, orUndefined } from './option.js';
import { APP_OPTIONS } from './options/app.js';
import { BACKUP_OPTIONS } from './options/backups.js';
import { COMPACT_OPTIONS } from './options/compact.js';
import { GENERAL_OPTIONS } from './options/general.js';
import { HEALTH_OPTIONS } from './options/health.js';
import { LITEFS_OPTIONS } from './options/litefs.js';
import { PRIMARY_OPTIONS } from './options/primary.js';
import type { Config } from './types.js';

export const OPTIONS = [
  ...GENERAL_OPTIONS,
  ...LITEFS_OPTIONS,
  ...APP_OPTIONS,
  ...PRIMARY_OPTIONS,
  ...BACKUP_OPTIONS,
  ...COMPACT_OPTIONS,
  ...HEALTH_OPTIONS,
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

/** `check`, `doctor`, `record`, `compact` and `before-mount` need no app command. */
export type Mode = 'run' | 'check' | 'doctor' | 'record' | 'compact' | 'before-mount';

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
  // `record` reads the cluster record, which is the cluster's, not a db's, and `before-mount`
  // reads the lease: no --db needed.
  if (!unread && config.db.length === 0 && mode !== 'record' && mode !== 'before-mount') {
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
