// One entry of the option table (schema.ts): its names (flag, environment, --config key, Config
// field), kind, default and --help text, and the helpers the table's parts (options/*.ts) build
// entries with. Adding an option is one `option({...})` in the part of its section.

import * as z from 'zod/mini';
import type { Kind } from './kinds.js';

export const ENV_PREFIX = 'LITEFS_SUPERVISOR_';

export type Group =
  | 'General'
  | 'LiteFS'
  | 'Migrations and the app'
  | 'Primary safety'
  | 'Backups and disk'
  | 'Compaction'
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
export function orUndefined<T>(schema: z.ZodMiniType<T>): z.ZodMiniType<T | undefined> {
  return z.prefault(z.union([schema, z.undefined()]), undefined);
}

/** An option whose value lands in Config under its camelCase name. */
export function option<
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
export function loaderOption<const N extends string, T, A extends boolean>(
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
export function section<const T extends readonly OptionSpec[]>(group: Group, options: T): T {
  return options.map((o) => ({ ...o, group })) as unknown as T;
}
