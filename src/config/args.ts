// The command line: node:util parseArgs, its options generated from the option table (and, for
// `status` and `doctor`, a tiny table of their own). Its tokens keep the order, so a value given
// twice and an unknown option ("did you mean") are reported here; values are checked by
// loadConfig, so bad values and bad litefs.yml/environment input are reported together.

import { parseArgs as nodeParseArgs, type ParseArgsConfig } from 'node:util';
import { boolean, duration, type Kind, showReceived, text, url } from './kinds.js';
import { OPTIONS, type OptionName } from './schema.js';

/** Option values as written on the command line: text, or a list for repeatable options. */
export type RawOptions = Partial<Record<OptionName, string | string[]>>;

export type ValueSource =
  | { layer: 'command line' }
  | { layer: 'environment'; name: string }
  | { layer: 'config file'; path: string; key: string }
  | { layer: 'litefs.yml'; path: string; key: string }
  | { layer: 'default' };

export interface ConfigError {
  /** `--max-lag`; `--` for the app command. */
  option: string;
  /** Where the refused value came from; undefined for rules over several values. */
  source: ValueSource | undefined;
  /** The value received, as text (JSON for non-text values); undefined when none. */
  value: string | undefined;
  /** What would have been accepted. */
  accepted: string;
  /** One line, ready to print. */
  message: string;
}

export type ParsedArgs =
  | {
      ok: true;
      command: 'run' | 'check' | 'doctor' | 'record' | 'compact' | 'before-mount';
      options: RawOptions;
      app: string[];
      /** `doctor --json`, `record --json`; only set for those. */
      json?: boolean;
      /** `record reset [--yes]`; only set for record. */
      reset?: { yes: boolean };
      /** `compact --dry-run --no-backup`; only set for compact. */
      compact?: { dryRun: boolean; noBackup: boolean };
      /** `before-mount --max-wait` in ms; only set for before-mount, when given. */
      maxWaitMs?: number;
    }
  | { ok: true; command: 'status'; healthUrl: string | undefined; json: boolean }
  /** `init [--litefs-config FILE] [--write]`: rewrite litefs.yml for the supervisor. */
  | { ok: true; command: 'init'; litefsConfig: string | undefined; write: boolean }
  | { ok: true; command: 'help' }
  | { ok: true; command: 'version' }
  | { ok: false; errors: ConfigError[] };

type Command =
  | 'run'
  | 'check'
  | 'doctor'
  | 'status'
  | 'record'
  | 'init'
  | 'compact'
  | 'before-mount';

/** What the parser needs of an option: OptionSpec has it, and so do the small tables below. */
interface ArgOption {
  name: string;
  kind: Kind<unknown>;
  short?: string;
}

const HEALTH_URL: ArgOption = { name: 'health-url', kind: url() };
const JSON_FLAG: ArgOption = { name: 'json', kind: boolean() };
const YES_FLAG: ArgOption = { name: 'yes', kind: boolean() };
const DRY_RUN_FLAG: ArgOption = { name: 'dry-run', kind: boolean() };
const NO_BACKUP_FLAG: ArgOption = { name: 'no-backup', kind: boolean() };
const MAX_WAIT: ArgOption = { name: 'max-wait', kind: duration() };
const STATUS_ACCEPTS = 'status accepts --health-url URL and --json';
const WRITE_FLAG: ArgOption = { name: 'write', kind: boolean() };
const INIT_FILE: ArgOption = { name: 'litefs-config', kind: text('FILE', 'a file path') };
const INIT_ACCEPTS = 'init accepts --litefs-config FILE and --write';
const EVERYWHERE: ArgOption[] = [
  { name: 'help', kind: boolean(), short: 'h' },
  { name: 'version', kind: boolean() },
];
const TABLES: Record<Command, readonly ArgOption[]> = {
  run: OPTIONS,
  check: OPTIONS,
  doctor: [...OPTIONS, JSON_FLAG],
  status: [HEALTH_URL, JSON_FLAG],
  record: [...OPTIONS, JSON_FLAG, YES_FLAG],
  compact: [...OPTIONS, JSON_FLAG, DRY_RUN_FLAG, NO_BACKUP_FLAG],
  init: [INIT_FILE, WRITE_FLAG],
  'before-mount': [...OPTIONS, MAX_WAIT],
};

/** node:util parseArgs options from a table: flags are booleans, the rest take a value. */
function nodeOptions(table: readonly ArgOption[]): NonNullable<ParseArgsConfig['options']> {
  return Object.fromEntries(
    table.map((o) => [
      o.name,
      {
        type: o.kind.type === 'boolean' ? 'boolean' : 'string',
        multiple: o.kind.type === 'list',
        ...(o.short === undefined ? {} : { short: o.short }),
      } as const,
    ]),
  );
}

const CLI: ValueSource = { layer: 'command line' };

function cliError(option: string, value: string | undefined, problem: string, accepted: string) {
  return {
    option,
    source: CLI,
    value,
    accepted,
    message: `${option}: ${problem}; ${accepted}`,
  } satisfies ConfigError;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min(sub, (prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** ` (did you mean X?)` for the closest candidate, when close enough; else ''. */
export function suggest(word: string, candidates: Iterable<string>): string {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(word.length / 4))
    ? ` (did you mean ${best}?)`
    : '';
}

function unknownOption(name: string, command: Command): ConfigError {
  const accepted =
    command === 'status'
      ? STATUS_ACCEPTS
      : command === 'init'
        ? INIT_ACCEPTS
        : 'see litefs-supervisor --help for the options';
  if (
    command !== 'status' &&
    command !== 'init' &&
    (name === '--health-url' ||
      name === '--json' ||
      name === '--yes' ||
      name === '--write' ||
      name === '--dry-run' ||
      name === '--no-backup' ||
      name === '--max-wait')
  ) {
    const of =
      name === '--max-wait'
        ? '`litefs-supervisor before-mount`'
        : name === '--json'
          ? '`litefs-supervisor status`, `doctor`, `record` and `compact`'
          : name === '--dry-run' || name === '--no-backup'
            ? '`litefs-supervisor compact`'
            : name === '--yes'
              ? '`litefs-supervisor record reset`'
              : name === '--write'
                ? '`litefs-supervisor init`'
                : '`litefs-supervisor status`';
    return cliError(name, undefined, `is an option of ${of}`, accepted);
  }
  const known = TABLES[command].map((o) => `--${o.name}`);
  const hint = suggest(name.replace(/^-+/, '--'), known);
  return cliError(name, undefined, `unknown option${hint}`, accepted);
}

/** A value of one of the subcommands' own options (status, doctor --json), checked here. */
function checked(
  o: ArgOption,
  raw: string | string[] | undefined,
  errors: ConfigError[],
): unknown | undefined {
  if (raw === undefined) return undefined;
  const r = o.kind.schema.safeParse(raw);
  if (r.success) return r.data;
  for (const issue of r.error.issues) {
    const option = `--${o.name}`;
    const value = String(raw);
    errors.push({
      option,
      source: CLI,
      value,
      accepted: o.kind.accepted,
      message: `${option}: ${issue.message}`,
    });
  }
  return undefined;
}

/** Splits argv (without node and the script) into a command, raw option text and the app. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const first = argv[0];
  const command: Command =
    first === 'check' ||
    first === 'status' ||
    first === 'doctor' ||
    first === 'record' ||
    first === 'compact' ||
    first === 'init' ||
    first === 'before-mount'
      ? first
      : 'run';
  // `record reset`: the one subcommand with an action word of its own.
  const reset = command === 'record' && argv[1] === 'reset';
  const rest = command === 'run' ? argv : argv.slice(reset ? 2 : 1);
  // Everything after `--` is the app's, even `--help`.
  const dashDash = rest.indexOf('--');
  const args = dashDash === -1 ? [...rest] : rest.slice(0, dashDash);
  const app = dashDash === -1 ? [] : rest.slice(dashDash + 1);

  const table = [...TABLES[command], ...EVERYWHERE];
  const byName = new Map(table.map((o) => [o.name, o]));
  const { tokens } = nodeParseArgs({
    args,
    options: nodeOptions(table),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const given = (name: string) => tokens.some((t) => t.kind === 'option' && t.name === name);
  if (given('help')) return { ok: true, command: 'help' };
  if (given('version')) return { ok: true, command: 'version' };

  const errors: ConfigError[] = [];
  const raw: Record<string, string | string[]> = {};
  // After an unknown option, the next argument when it is not an option: most likely that
  // option's value, and reporting it again is noise. Short options: one error per argument.
  let valueOfUnknown = -1;
  const reported = new Set<number>();
  for (const token of tokens) {
    if (token.kind === 'positional') {
      if (token.index === valueOfUnknown) continue;
      errors.push(
        command === 'status' || command === 'init'
          ? cliError(
              token.value,
              token.value,
              'unexpected argument',
              command === 'status' ? STATUS_ACCEPTS : INIT_ACCEPTS,
            )
          : cliError(
              showReceived(token.value),
              token.value,
              'unexpected argument',
              'put the app command after --, like litefs-supervisor --db sqlite.db -- npm start',
            ),
      );
      continue;
    }
    if (token.kind !== 'option') continue;
    const spec = token.rawName.startsWith('--') ? byName.get(token.name) : undefined;
    if (spec === undefined) {
      if (!reported.has(token.index)) {
        reported.add(token.index);
        errors.push(unknownOption((args[token.index] ?? '').split('=')[0] ?? '', command));
      }
      if (!token.inlineValue) valueOfUnknown = token.index + 1;
      continue;
    }
    const flag = token.rawName;
    let value = token.value;
    if (spec.kind.type === 'boolean') {
      value ??= 'true';
    } else if (value === undefined || (!token.inlineValue && value.startsWith('--'))) {
      // `--db --promote` is a forgotten value, not a database named "--promote".
      errors.push(
        cliError(
          flag,
          undefined,
          `needs a value (${spec.kind.placeholder})`,
          `write ${flag} VALUE or ${flag}=VALUE`,
        ),
      );
      continue;
    }
    const previous = raw[spec.name];
    if (spec.kind.type === 'list') {
      raw[spec.name] = [...((previous as string[] | undefined) ?? []), value];
    } else if (previous !== undefined) {
      const both = `${showReceived(previous)} and ${showReceived(value)}`;
      errors.push(cliError(flag, value, `given twice (${both})`, 'give it once'));
    } else {
      raw[spec.name] = value;
    }
  }

  const {
    json: jsonText,
    'health-url': healthUrlText,
    yes: yesText,
    write: writeText,
    'dry-run': dryRunText,
    'no-backup': noBackupText,
    'max-wait': maxWaitText,
    ...options
  } = raw;
  const json = (checked(JSON_FLAG, jsonText, errors) as boolean | undefined) ?? false;
  const yes = (checked(YES_FLAG, yesText, errors) as boolean | undefined) ?? false;
  if (yes && !reset) {
    errors.push(
      cliError(
        '--yes',
        undefined,
        'only confirms `record reset`',
        'write litefs-supervisor record reset --yes',
      ),
    );
  }
  if (command === 'init') {
    const write = (checked(WRITE_FLAG, writeText, errors) as boolean | undefined) ?? false;
    const litefsConfig = checked(INIT_FILE, options['litefs-config'], errors) as string | undefined;
    if (dashDash !== -1) {
      errors.push(cliError('--', undefined, 'init takes no command', 'remove -- and after'));
    }
    return errors.length > 0 ? { ok: false, errors } : { ok: true, command, litefsConfig, write };
  }
  if (command === 'status') {
    const healthUrl = checked(HEALTH_URL, healthUrlText, errors) as string | undefined;
    if (dashDash !== -1) {
      errors.push(cliError('--', undefined, 'status takes no command', 'remove -- and after'));
    }
    return errors.length > 0 ? { ok: false, errors } : { ok: true, command, healthUrl, json };
  }
  if (errors.length > 0) return { ok: false, errors };
  const base = { ok: true as const, command, options: options as RawOptions, app };
  if (command === 'record') {
    if (dashDash !== -1) {
      return {
        ok: false,
        errors: [cliError('--', undefined, 'record takes no command', 'remove -- and after')],
      };
    }
    return { ...base, json, ...(reset ? { reset: { yes } } : {}) };
  }
  if (command === 'compact') {
    const dryRun = (checked(DRY_RUN_FLAG, dryRunText, errors) as boolean | undefined) ?? false;
    const noBackup =
      (checked(NO_BACKUP_FLAG, noBackupText, errors) as boolean | undefined) ?? false;
    if (dashDash !== -1) {
      errors.push(cliError('--', undefined, 'compact takes no command', 'remove -- and after'));
    }
    return errors.length > 0
      ? { ok: false, errors }
      : { ...base, json, compact: { dryRun, noBackup } };
  }
  if (command === 'before-mount') {
    const maxWaitMs = checked(MAX_WAIT, maxWaitText, errors) as number | undefined;
    if (dashDash !== -1) {
      errors.push(
        cliError('--', undefined, 'before-mount takes no command', 'remove -- and after'),
      );
    }
    return errors.length > 0
      ? { ok: false, errors }
      : { ...base, ...(maxWaitMs === undefined ? {} : { maxWaitMs }) };
  }
  return command === 'doctor' ? { ...base, json } : base;
}
