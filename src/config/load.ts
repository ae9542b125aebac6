// Command line, environment, --config and litefs.yml into one validated Config
// (docs/design.md section 6). Precedence: command line > environment > --config > litefs.yml >
// built-in defaults. Every bad value is reported (not just the first), naming the option,
// where the value came from, the value and what is accepted; the CLI then exits 2.

import { readFileSync } from 'node:fs';
import { posix as path } from 'node:path';
import { parseDocument } from 'yaml';
import type { ParseResult } from '../core/litefs-types.js';
import { runsLitefsSupervisor } from './exec-line.js';
import {
  type Getenv,
  httpAddrPort,
  LITEFS_DEFAULT_DATA_DIR,
  LITEFS_DEFAULT_FUSE_DIR,
  LITEFS_DEFAULT_PORT,
  loadLitefsYml,
  type ReadFile,
} from './litefs-yml.js';
import {
  crossFieldIssues,
  type Mode,
  OPTIONS,
  OPTIONS_BY_FILE_KEY,
  OPTIONS_BY_NAME,
  type OptionName,
  type OptionSpec,
  parseBoolean,
  parseHealthAddr,
  parseHttpUrl,
  showReceived,
  URL_ACCEPTED,
} from './schema.js';
import type { Config, LitefsYmlFacts } from './types.js';

export type { Mode } from './schema.js';

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

// ---------------------------------------------------------------------------------------------
// Command line

export type ParsedArgs =
  | {
      ok: true;
      command: 'run' | 'check' | 'doctor';
      options: RawOptions;
      app: string[];
      /** `doctor --json`; only set for doctor. */
      json?: boolean;
    }
  | { ok: true; command: 'status'; healthUrl: string | undefined; json: boolean }
  | { ok: true; command: 'help' }
  | { ok: true; command: 'version' }
  | { ok: false; errors: ConfigError[] };

const CLI: ValueSource = { layer: 'command line' };
const STATUS_OPTIONS = ['--health-url', '--json'];

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

function suggest(word: string, candidates: Iterable<string>): string {
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

type Command = 'run' | 'check' | 'doctor' | 'status';

// After an unknown option the parser also skips the next argument when it does not look like
// an option: it was most likely that option's value, and reporting it again is noise.
function unknownOption(arg: string, command: Command): ConfigError {
  const name = arg.split('=')[0] ?? arg;
  const accepted =
    command === 'status'
      ? 'status accepts --health-url URL and --json'
      : 'see litefs-supervisor --help for the options';
  if (command !== 'status' && STATUS_OPTIONS.includes(name)) {
    const of =
      name === '--json'
        ? '`litefs-supervisor status` and `litefs-supervisor doctor`'
        : '`litefs-supervisor status`';
    return cliError(name, undefined, `is an option of ${of}`, accepted);
  }
  const known = command === 'status' ? STATUS_OPTIONS : OPTIONS.map((o) => o.flag);
  return cliError(
    name,
    undefined,
    `unknown option${suggest(name.replace(/^-+/, '--'), known)}`,
    accepted,
  );
}

/**
 * Splits argv (without node and the script) into a command and raw option text. Values are
 * checked by loadConfig, so that bad values and bad litefs.yml/env input are reported together.
 */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  let args = [...argv];
  let command: Command = 'run';
  if (args[0] === 'check' || args[0] === 'status' || args[0] === 'doctor') {
    command = args[0];
    args = args.slice(1);
  }
  const dashDash = args.indexOf('--');
  const opts = dashDash === -1 ? args : args.slice(0, dashDash);
  const app = dashDash === -1 ? [] : args.slice(dashDash + 1);
  if (opts.includes('--help') || opts.includes('-h')) return { ok: true, command: 'help' };
  if (opts.includes('--version')) return { ok: true, command: 'version' };

  const errors: ConfigError[] = [];
  if (command === 'status') {
    let healthUrl: string | undefined;
    let json = false;
    for (let i = 0; i < opts.length; i++) {
      const arg = opts[i] ?? '';
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg : arg.slice(0, eq);
      const inline = eq === -1 ? undefined : arg.slice(eq + 1);
      if (name === '--json') {
        const r = inline === undefined ? { ok: true as const, value: true } : parseBoolean(inline);
        if (r.ok) json = r.value;
        else errors.push(cliError('--json', inline, r.error, 'use --json or --json=false'));
      } else if (name === '--health-url') {
        const value = inline ?? opts[i + 1];
        if (inline === undefined) i++;
        if (value === undefined || (inline === undefined && value.startsWith('--'))) {
          errors.push(cliError(name, undefined, 'needs a value', URL_ACCEPTED));
          continue;
        }
        const r = parseHttpUrl(value, URL_ACCEPTED);
        if (r.ok) healthUrl = r.value;
        else errors.push(cliError(name, value, r.error, URL_ACCEPTED));
      } else if (arg.startsWith('-')) {
        errors.push(unknownOption(arg, command));
        if (eq === -1 && !(opts[i + 1] ?? '-').startsWith('-')) i++;
      } else {
        errors.push(
          cliError(arg, arg, 'unexpected argument', 'status accepts --health-url URL and --json'),
        );
      }
    }
    if (dashDash !== -1) {
      errors.push(cliError('--', undefined, 'status takes no command', 'remove -- and after'));
    }
    return errors.length > 0 ? { ok: false, errors } : { ok: true, command, healthUrl, json };
  }

  const options: Record<string, string | string[]> = {};
  let json = false;
  for (let i = 0; i < opts.length; i++) {
    const arg = opts[i] ?? '';
    if (command === 'doctor' && (arg === '--json' || arg.startsWith('--json='))) {
      const inline = arg === '--json' ? undefined : arg.slice('--json='.length);
      const r = inline === undefined ? { ok: true as const, value: true } : parseBoolean(inline);
      if (r.ok) json = r.value;
      else errors.push(cliError('--json', inline, r.error, 'use --json or --json=false'));
      continue;
    }
    if (!arg.startsWith('--') || arg === '--') {
      if (arg.startsWith('-') && arg !== '-') {
        errors.push(unknownOption(arg, command));
        if (!arg.includes('=') && !(opts[i + 1] ?? '-').startsWith('-')) i++;
      } else {
        errors.push(
          cliError(
            showReceived(arg),
            arg,
            'unexpected argument',
            'put the app command after --, like litefs-supervisor --db sqlite.db -- npm start',
          ),
        );
      }
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    const spec = OPTIONS_BY_NAME.get(flag.slice(2));
    if (!spec) {
      errors.push(unknownOption(arg, command));
      if (inline === undefined && !(opts[i + 1] ?? '-').startsWith('-')) i++;
      continue;
    }
    let value: string;
    if (spec.kind.type === 'boolean') {
      value = inline ?? 'true';
    } else if (inline !== undefined) {
      value = inline;
    } else {
      const next = opts[i + 1];
      // `--db --promote` is a forgotten value, not a database named "--promote".
      if (next === undefined || next.startsWith('--')) {
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
      value = next;
      i++;
    }
    const previous = options[spec.name];
    if (spec.kind.type === 'list') {
      options[spec.name] = [...((previous as string[] | undefined) ?? []), value];
    } else if (previous !== undefined) {
      errors.push(
        cliError(
          flag,
          value,
          `given twice (${showReceived(previous)} and ${showReceived(value)})`,
          'give it once',
        ),
      );
    } else {
      options[spec.name] = value;
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  const base = { ok: true as const, command, options: options as RawOptions, app };
  return command === 'doctor' ? { ...base, json } : base;
}

// ---------------------------------------------------------------------------------------------
// Layers

export interface LoadInput {
  mode: Mode;
  /** From parseArgs. */
  options: RawOptions;
  /** The app command after `--`. */
  command: string[];
  env: Record<string, string | undefined>;
  cwd: string;
  /**
   * For the ~/litefs.yml search. LiteFS takes the home directory from the user database, not
   * $HOME, so the CLI passes os.userInfo().homedir.
   */
  home: string | undefined;
  /** Returns undefined when the file does not exist; throws on any other failure. */
  readFile: ReadFile;
  /** LiteFS sets HOSTNAME to the host name when it is unset, before expanding litefs.yml. */
  hostname?: string;
}

export type LoadResult =
  | {
      ok: true;
      config: Config;
      litefsYml: LitefsYmlFacts | undefined;
      warnings: string[];
      /** Where each option's value came from (for `check`). */
      sources: Partial<Record<OptionName, ValueSource>>;
    }
  | { ok: false; errors: ConfigError[] };

interface Sourced {
  value: unknown;
  source: ValueSource;
}

function describeSource(spec: OptionSpec, source: ValueSource): string {
  switch (source.layer) {
    case 'command line':
      return spec.flag;
    case 'environment':
      return `${spec.flag} (from ${source.name})`;
    case 'config file':
      return `${spec.flag} (key ${source.key} in ${source.path})`;
    case 'litefs.yml':
      return `${spec.flag} (from litefs.yml ${source.key} in ${source.path})`;
    case 'default':
      return spec.flag;
  }
}

function asText(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Reads a file with node:fs; undefined when it does not exist (ENOENT only, as LiteFS). */
export const nodeReadFile: ReadFile = (p) => {
  try {
    return readFileSync(p, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
};

function parseConfigFileText(filePath: string, text: string): ParseResult<unknown> {
  if (filePath.endsWith('.json')) {
    try {
      return { ok: true, value: JSON.parse(text) };
    } catch (err) {
      return { ok: false, error: `not valid JSON: ${(err as Error).message}` };
    }
  }
  const doc = parseDocument(text, { prettyErrors: false });
  const first = doc.errors[0];
  if (first) return { ok: false, error: `not valid YAML: ${first.message}` };
  return { ok: true, value: doc.toJS() };
}

export function loadConfig(input: LoadInput): LoadResult {
  const errors: ConfigError[] = [];
  const warnings: string[] = [];
  const invalid = new Set<string>();
  const cli = new Map<string, Sourced>();
  const envLayer = new Map<string, Sourced>();
  const file = new Map<string, Sourced>();

  const accept = (spec: OptionSpec, raw: unknown, source: ValueSource): Sourced | undefined => {
    const r = spec.kind.schema.safeParse(raw);
    if (r.success) return { value: r.data, source };
    invalid.add(spec.name);
    for (const issue of r.error.issues) {
      const item =
        Array.isArray(raw) && typeof issue.path[0] === 'number' ? raw[issue.path[0]] : raw;
      errors.push({
        option: spec.flag,
        source,
        value: asText(item),
        accepted: spec.kind.accepted,
        message: `${describeSource(spec, source)}: ${issue.message}`,
      });
    }
    return undefined;
  };
  const put = (layer: Map<string, Sourced>, spec: OptionSpec, raw: unknown, src: ValueSource) => {
    const v = accept(spec, raw, src);
    if (v) layer.set(spec.name, v);
  };

  for (const spec of OPTIONS) {
    const raw = input.options[spec.name];
    if (raw !== undefined) put(cli, spec, raw, CLI);
    const text = input.env[spec.env];
    // An empty variable counts as unset: images and platforms often set `X=` to clear one.
    if (text !== undefined && text !== '') {
      const envRaw =
        spec.kind.type === 'list' ? text.split(/\r?\n/).filter((l) => l.trim() !== '') : text;
      put(envLayer, spec, envRaw, { layer: 'environment', name: spec.env });
    }
  }

  // --config itself comes from the command line or the environment only.
  const configOpt = cli.get('config') ?? envLayer.get('config');
  let configFile: string | undefined;
  if (configOpt) {
    const spec = OPTIONS_BY_NAME.get('config') as OptionSpec;
    configFile = path.resolve(input.cwd, configOpt.value as string);
    const fail = (problem: string) => {
      invalid.add('config');
      errors.push({
        option: '--config',
        source: configOpt.source,
        value: configFile,
        accepted: 'a readable YAML or JSON file with option names in camelCase as keys',
        message: `${describeSource(spec, configOpt.source)}: ${configFile} ${problem}`,
      });
    };
    let text: string | undefined;
    try {
      text = input.readFile(configFile);
    } catch (err) {
      fail(`cannot be read: ${(err as Error).message}`);
    }
    if (text === undefined && !invalid.has('config')) fail('does not exist');
    if (text !== undefined) {
      const parsed = parseConfigFileText(configFile, text);
      if (!parsed.ok) fail(`is ${parsed.error}`);
      else if (parsed.value === null || parsed.value === undefined) {
        // An empty file sets nothing.
      } else if (typeof parsed.value !== 'object' || Array.isArray(parsed.value)) {
        fail('must hold a mapping of option names (camelCase) to values');
      } else {
        for (const [key, raw] of Object.entries(parsed.value)) {
          const optSpec = OPTIONS_BY_FILE_KEY.get(key);
          if (!optSpec) {
            invalid.add('config');
            const hint =
              key === 'config'
                ? 'a config file cannot name another one'
                : `unknown key${suggest(key, OPTIONS_BY_FILE_KEY.keys())}`;
            errors.push({
              option: '--config',
              source: { layer: 'config file', path: configFile, key },
              value: key,
              accepted: 'the option names in camelCase, as listed by --help (maxLag, db, ...)',
              message: `--config: ${showReceived(key)} in ${configFile}: ${hint}; keys are the option names in camelCase (--max-lag is maxLag)`,
            });
            continue;
          }
          put(file, optSpec, raw, { layer: 'config file', path: configFile, key });
        }
      }
    }
  }

  const given = (name: string): Sourced | undefined =>
    cli.get(name) ?? envLayer.get(name) ?? file.get(name);
  const standalone = (given('standalone')?.value as boolean | undefined) ?? false;

  // litefs.yml, read with the same environment LiteFS expanded it with.
  const getenv: Getenv = (name) => {
    const v = input.env[name];
    if (name === 'HOSTNAME' && (v === undefined || v === '')) return input.hostname;
    return v;
  };
  const litefsOpt = given('litefs-config');
  let facts: LitefsYmlFacts | undefined;
  if (!invalid.has('litefs-config')) {
    const r = loadLitefsYml({
      explicit: litefsOpt?.value as string | undefined,
      cwd: input.cwd,
      home: input.home,
      readFile: input.readFile,
      getenv,
    });
    if (r.ok) {
      facts = r.facts;
      if (!facts && litefsOpt === undefined && !standalone) {
        warnings.push(
          `no litefs.yml found (looked at ${r.searched.join(', ')}); using built-in defaults. If LiteFS reads another file (litefs mount -config FILE), pass --litefs-config FILE`,
        );
      }
    } else {
      invalid.add('litefs-config');
      const spec = OPTIONS_BY_NAME.get('litefs-config') as OptionSpec;
      const how = litefsOpt
        ? describeSource(spec, litefsOpt.source)
        : `--litefs-config (found by LiteFS's search order)`;
      errors.push({
        option: '--litefs-config',
        source: litefsOpt?.source ?? { layer: 'litefs.yml', path: r.path, key: '' },
        value: r.path,
        accepted: 'a litefs.yml that LiteFS can read, or none',
        message: `${how}: ${r.path}: ${r.error}; fix it, or pass --litefs-config FILE or none`,
      });
    }
  }

  // Defaults derived from litefs.yml and the environment (docs/design.md section 6), used only
  // where no layer above set the option.
  const derived = new Map<string, Sourced>();
  const derive = (name: string, raw: unknown, source: ValueSource) => {
    const spec = OPTIONS_BY_NAME.get(name) as OptionSpec;
    if (given(name) === undefined) put(derived, spec, raw, source);
  };
  const yml = (key: string): ValueSource => ({
    layer: 'litefs.yml',
    path: facts?.path ?? '',
    key,
  });
  if (facts?.fuseDir !== undefined) derive('mount-dir', facts.fuseDir, yml('fuse.dir'));
  if (facts?.dataDir !== undefined) derive('data-dir', facts.dataDir, yml('data.dir'));
  // LiteFS itself falls back to /var/lib/litefs when litefs.yml has no data.dir.
  else if (facts) derive('data-dir', LITEFS_DEFAULT_DATA_DIR, { layer: 'default' });
  if (facts?.httpAddr !== undefined) {
    const port = httpAddrPort(facts.httpAddr);
    if (port === undefined) {
      warnings.push(
        `litefs.yml http.addr ${showReceived(facts.httpAddr)} in ${facts.path} has no port the supervisor understands; using ${LITEFS_DEFAULT_PORT}. Pass --litefs-url if LiteFS listens elsewhere`,
      );
    } else {
      derive('litefs-url', `http://127.0.0.1:${port}`, yml('http.addr'));
    }
  }
  if (facts?.proxyDb) derive('db', [facts.proxyDb], yml('proxy.db'));
  const flyApp = input.env.FLY_APP_NAME;
  if (!standalone && flyApp) {
    derive('peers', `${flyApp}.internal`, { layer: 'environment', name: 'FLY_APP_NAME' });
  }

  const effective = (name: string): Sourced | undefined => given(name) ?? derived.get(name);
  const dataDir = effective('data-dir')?.value as string | undefined;
  derive(
    'state-file',
    dataDir === undefined
      ? '/var/lib/litefs-supervisor.json'
      : path.join(path.dirname(path.resolve(input.cwd, dataDir)), 'litefs-supervisor.json'),
    { layer: 'default' },
  );

  const values: Record<string, unknown> = {};
  const sources: Partial<Record<OptionName, ValueSource>> = {};
  for (const spec of OPTIONS) {
    const chosen = effective(spec.name);
    if (chosen) sources[spec.name] = chosen.source;
    if (spec.field === undefined) continue;
    let value = chosen?.value ?? spec.defaultValue;
    if (value === undefined && spec.kind.type === 'list') value = [];
    if (value === undefined && spec.kind.type === 'boolean') value = false;
    values[spec.field] = value;
  }
  values.mountDir ??= LITEFS_DEFAULT_FUSE_DIR;
  values.litefsUrl ??= `http://127.0.0.1:${LITEFS_DEFAULT_PORT}`;
  // Typed per field by the option table (schema.ts `option`), so this assembly is safe.
  const config = {
    ...values,
    configFile,
    litefsConfig: facts?.path,
    hostname: facts?.leaseHostname || input.hostname || undefined,
    appVersion: input.env[String(values.versionEnv ?? 'FLY_IMAGE_REF')] || undefined,
    command: [...input.command],
  } as Config;

  for (const issue of crossFieldIssues(config, input.mode, invalid)) {
    errors.push({ ...issue, source: undefined, value: undefined });
  }
  if (errors.length > 0) return { ok: false, errors };

  if (facts && !standalone) warnings.push(...litefsYmlWarnings(facts));
  if (standalone) {
    for (const name of ['promote', 'peers'] as const) {
      const g = given(name);
      if (g && g.value !== false) {
        warnings.push(`--${name} has no effect with --standalone (there is no LiteFS cluster)`);
      }
    }
  }
  return { ok: true, config, litefsYml: facts, warnings, sources };
}

/** Warnings about litefs.yml settings that defeat the supervisor (docs/design.md S5, section 1). */
export function litefsYmlWarnings(facts: LitefsYmlFacts): string[] {
  const warnings: string[] = [];
  if (facts.leasePromote === true) {
    warnings.push(
      `litefs.yml lease.promote is true (${facts.path}): LiteFS promotes this node before the supervisor can check that its database is synced and not empty. Set promote: false under lease: and pass --promote to litefs-supervisor instead`,
    );
  }
  if (facts.execCommands.length > 1) {
    warnings.push(
      `litefs.yml exec has ${facts.execCommands.length} commands (${facts.path}): LiteFS runs all but the last before the supervisor, without its checks. Make litefs-supervisor the only exec command and give it the others as --before or --migrate`,
    );
  }
  for (const cmd of facts.execCommands) {
    if (!runsLitefsSupervisor(cmd)) {
      warnings.push(
        `litefs.yml exec command ${showReceived(cmd)} (${facts.path}) does not run litefs-supervisor: it runs without the supervisor's checks`,
      );
    }
  }
  return warnings;
}

/** The --health-url for `status`: given, else from LITEFS_SUPERVISOR_HEALTH_ADDR, else :9090. */
export function statusHealthUrl(
  healthUrl: string | undefined,
  env: Record<string, string | undefined>,
): string {
  if (healthUrl !== undefined) return healthUrl;
  const spec = OPTIONS_BY_NAME.get('health-addr') as OptionSpec;
  const r = parseHealthAddr(env[spec.env] || (spec.default as string));
  if (!r.ok || r.value === 'off') return 'http://127.0.0.1:9090';
  const { host, port } = r.value;
  const wildcard = host === '' || host === '0.0.0.0' || host === '::';
  const h = wildcard ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port}`;
}

/** A copy of the config safe to print: credentials in URLs replaced. */
export function configForDisplay(config: Config): Config {
  const redact = (s: string) => s.replace(/(https?:\/\/)[^/@\s,]*@/g, '$1***@');
  return {
    ...config,
    litefsUrl: redact(config.litefsUrl),
    peers: config.peers === undefined ? undefined : redact(config.peers),
  };
}
