// Command line, environment, --config and litefs.yml into one validated Config
// (docs/design.md section 6). Precedence: command line > environment > --config > litefs.yml >
// built-in defaults. Every bad value is reported (not just the first), naming the option,
// where the value came from, the value and what is accepted; the CLI then exits 2.

import { readFileSync } from 'node:fs';
import { posix as path } from 'node:path';
import { parseDocument } from 'yaml';
import type { ConsulEndpoint } from '../consul/endpoint.js';
import type { ParseResult } from '../core/litefs-types.js';
import { type ConfigError, type RawOptions, suggest, type ValueSource } from './args.js';
import { runsLitefsSupervisor } from './exec-line.js';
import { CONSUL_KEY_ACCEPTED, parseHealthAddr, showReceived } from './kinds.js';
import {
  type Getenv,
  httpAddrPort,
  LITEFS_DEFAULT_DATA_DIR,
  LITEFS_DEFAULT_PORT,
  LITEFS_DEFAULT_RECONNECT_DELAY_MS,
  LITEFS_TOP_LEVEL_KEYS,
  loadLitefsYml,
  type ReadFile,
} from './litefs-yml.js';
import { camel, type OptionSpec } from './option.js';
import {
  CONFIG_SCHEMA,
  crossFieldIssues,
  type Mode,
  OPTIONS,
  OPTIONS_BY_KEY,
  OPTIONS_BY_NAME,
  type OptionName,
} from './schema.js';
import type { Config, LitefsYmlFacts } from './types.js';

export {
  type ConfigError,
  type ParsedArgs,
  parseArgs,
  type RawOptions,
  type ValueSource,
} from './args.js';
export type { Mode } from './schema.js';

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
  /** As written: parsed again, with the other winners, into the Config. */
  raw: unknown;
  value: unknown;
  source: ValueSource;
}

/** One layer's accepted values, by option name. */
type Layer = Map<string, Sourced>;

const CLI: ValueSource = { layer: 'command line' };

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

  /**
   * A layer's values, keyed by camelCase name, each checked on its own: every refused value is
   * an error naming its source (even when a higher layer overrides it); the rest are kept.
   */
  const layer = (raw: Record<string, unknown>, sourceOf: (key: string) => ValueSource): Layer => {
    const out: Layer = new Map();
    for (const [key, given] of Object.entries(raw)) {
      const spec = OPTIONS_BY_KEY.get(key) as OptionSpec;
      const source = sourceOf(key);
      const r = spec.kind.schema.safeParse(given);
      if (r.success) out.set(spec.name, { raw: given, value: r.data, source });
      else invalid.add(spec.name);
      for (const issue of r.success ? [] : r.error.issues) {
        const index = issue.path[0];
        const item = Array.isArray(given) && typeof index === 'number' ? given[index] : given;
        errors.push({
          option: spec.flag,
          source,
          value: asText(item),
          accepted: spec.kind.accepted,
          message: `${describeSource(spec, source)}: ${issue.message}`,
        });
      }
    }
    return out;
  };

  const cliRaw: Record<string, unknown> = {};
  const envRaw: Record<string, unknown> = {};
  const envName = new Map<string, string>();
  for (const spec of OPTIONS) {
    const key = camel(spec.name);
    const raw = input.options[spec.name];
    if (raw !== undefined) cliRaw[key] = raw;
    const text = input.env[spec.env];
    // An empty variable counts as unset: images and platforms often set `X=` to clear one.
    if (text !== undefined && text !== '') {
      envRaw[key] =
        spec.kind.type === 'list' ? text.split(/\r?\n/).filter((l) => l.trim() !== '') : text;
      envName.set(key, spec.env);
    }
  }
  const cli = layer(cliRaw, () => CLI);
  const envLayer = layer(envRaw, (key) => ({
    layer: 'environment',
    name: envName.get(key) ?? '',
  }));

  // --config itself comes from the command line or the environment only.
  const configOpt = cli.get('config') ?? envLayer.get('config');
  let configFile: string | undefined;
  let file: Layer = new Map();
  if (configOpt) {
    configFile = path.resolve(input.cwd, configOpt.value as string);
    file = configFileLayer(configFile, configOpt.source, input.readFile, layer, (e) => {
      invalid.add('config');
      errors.push(e);
    });
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
  // where no layer above set the option; the table's own defaults come after them.
  const derived: Layer = new Map();
  const derive = (key: string, raw: unknown, source: ValueSource) => {
    const spec = OPTIONS_BY_KEY.get(key) as OptionSpec;
    if (given(spec.name) !== undefined) return;
    for (const [name, v] of layer({ [key]: raw }, () => source)) derived.set(name, v);
  };
  const yml = (key: string): ValueSource => ({ layer: 'litefs.yml', path: facts?.path ?? '', key });
  if (facts?.fuseDir !== undefined) derive('mountDir', facts.fuseDir, yml('fuse.dir'));
  if (facts?.dataDir !== undefined) derive('dataDir', facts.dataDir, yml('data.dir'));
  // LiteFS itself falls back to /var/lib/litefs when litefs.yml has no data.dir.
  else if (facts) derive('dataDir', LITEFS_DEFAULT_DATA_DIR, { layer: 'default' });
  if (facts?.httpAddr !== undefined) {
    const port = httpAddrPort(facts.httpAddr);
    if (port === undefined) {
      warnings.push(
        `litefs.yml http.addr ${showReceived(facts.httpAddr)} in ${facts.path} has no port the supervisor understands; using ${LITEFS_DEFAULT_PORT}. Pass --litefs-url if LiteFS listens elsewhere`,
      );
    } else {
      derive('litefsUrl', `http://127.0.0.1:${port}`, yml('http.addr'));
    }
  }
  if (facts?.proxyDb) derive('db', [facts.proxyDb], yml('proxy.db'));
  // The app is ready when LiteFS's proxy can reach it (docs/design.md section 6, readiness).
  if (facts?.proxyTarget) {
    // LiteFS dials `http://` + target; a target without a host (`:8081`) is this machine.
    const target = facts.proxyTarget.startsWith(':')
      ? `localhost${facts.proxyTarget}`
      : facts.proxyTarget;
    derive('appReady', `tcp://${target}`, yml('proxy.target'));
  }
  const flyApp = input.env.FLY_APP_NAME;
  if (!standalone && flyApp) {
    derive('peers', `${flyApp}.internal`, { layer: 'environment', name: 'FLY_APP_NAME' });
  }
  // The cluster record lives in the lease's Consul (docs/design.md section 3, "cluster record"):
  // keyed by the app where Fly names it, so a changed lease key keeps it; else by the lease key.
  const consulLease = facts?.leaseType === 'consul' ? facts.consul : undefined;
  if (!standalone && consulLease?.ok) {
    if (flyApp) {
      derive('clusterRecord', `litefs-supervisor/${flyApp}`, {
        layer: 'environment',
        name: 'FLY_APP_NAME',
      });
    } else {
      derive(
        'clusterRecord',
        `litefs-supervisor/${consulLease.value.leaseKey}`,
        yml('lease.consul.key'),
      );
    }
  }
  const effective = (name: string) => given(name) ?? derived.get(name);
  // The state file beside the data dir, on the same volume (S2's high-water mark).
  const dataDir = effective('data-dir')?.value as string | undefined;
  if (dataDir !== undefined) {
    const parent = path.dirname(path.resolve(input.cwd, dataDir));
    derive('stateFile', path.join(parent, 'litefs-supervisor.json'), { layer: 'default' });
  }

  // The winners as written, parsed together into the Config (defaults fill the rest).
  const winners: Record<string, unknown> = {};
  const sources: Partial<Record<OptionName, ValueSource>> = {};
  for (const spec of OPTIONS) {
    const chosen = effective(spec.name);
    if (chosen === undefined) continue;
    sources[spec.name] = chosen.source;
    if (spec.field !== undefined) winners[spec.field] = chosen.raw;
  }
  const parsed = CONFIG_SCHEMA.parse({
    ...winners,
    configFile,
    litefsConfig: facts?.path,
    hostname: facts?.leaseHostname || input.hostname || undefined,
    command: [...input.command],
  });
  const record = resolveClusterRecord(parsed.clusterRecord, consulLease, standalone);
  if (!record.ok) {
    errors.push({
      option: '--cluster-record',
      source: sources['cluster-record'],
      value: parsed.clusterRecord,
      accepted: CONSUL_KEY_ACCEPTED,
      message: `--cluster-record ${parsed.clusterRecord}: ${record.error}`,
    });
  }
  const config: Config = {
    ...parsed,
    appVersion: input.env[parsed.versionEnv] || undefined,
    clusterRecord: record.ok ? record.key : undefined,
    consul: record.ok ? record.consul : undefined,
  };

  for (const issue of crossFieldIssues(config, input.mode, invalid)) {
    errors.push({ ...issue, source: undefined, value: undefined });
  }
  if (errors.length > 0) return { ok: false, errors };

  if (facts && !standalone) warnings.push(...litefsYmlWarnings(facts));
  if (facts?.leaseType === 'consul' && !standalone && config.clusterRecord === undefined) {
    warnings.push(
      consulLease === undefined
        ? `litefs.yml lease.consul.url is empty (${facts.path}; FLY_CONSUL_URL unset?): the cluster record is off, so an empty primary is judged by its peers alone`
        : consulLease.ok
          ? '--cluster-record off: an empty primary is judged by the peers that answer alone; stopped machines cannot protect their data'
          : `litefs.yml ${consulLease.error} (${facts.path}): the cluster record is off`,
    );
  }
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

/**
 * The --config file's layer. A file that is really a litefs.yml gets one error that says so,
 * not one "unknown key" per LiteFS section.
 */
function configFileLayer(
  configFile: string,
  source: ValueSource,
  readFile: ReadFile,
  layer: (raw: Record<string, unknown>, sourceOf: (key: string) => ValueSource) => Layer,
  report: (e: ConfigError) => void,
): Layer {
  const spec = OPTIONS_BY_NAME.get('config') as OptionSpec;
  const fail = (problem: string) => {
    report({
      option: '--config',
      source,
      value: configFile,
      accepted: 'a readable YAML or JSON file with option names in camelCase as keys',
      message: `${describeSource(spec, source)}: ${configFile} ${problem}`,
    });
    return new Map() as Layer;
  };
  let text: string | undefined;
  try {
    text = readFile(configFile);
  } catch (err) {
    return fail(`cannot be read: ${(err as Error).message}`);
  }
  if (text === undefined) return fail('does not exist');
  const parsed = parseConfigFileText(configFile, text);
  if (!parsed.ok) return fail(`is ${parsed.error}`);
  // An empty file sets nothing.
  if (parsed.value === null || parsed.value === undefined) return new Map();
  if (typeof parsed.value !== 'object' || Array.isArray(parsed.value)) {
    return fail('must hold a mapping of option names (camelCase) to values');
  }
  const keys = Object.keys(parsed.value);
  const litefsKeys = keys.filter((k) => LITEFS_TOP_LEVEL_KEYS.has(k));
  if (litefsKeys.length > 0 && !keys.some((k) => OPTIONS_BY_KEY.has(k))) {
    return fail(
      `looks like a LiteFS config (keys ${litefsKeys.join(', ')}); pass it as --litefs-config, and give --config this supervisor's options in camelCase (maxLag: 10s)`,
    );
  }
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parsed.value)) {
    if (OPTIONS_BY_KEY.has(key) && key !== 'config') {
      raw[key] = value;
      continue;
    }
    const hint =
      key === 'config'
        ? 'a config file cannot name another one'
        : LITEFS_TOP_LEVEL_KEYS.has(key)
          ? 'a litefs.yml key, not an option (LiteFS config goes in --litefs-config)'
          : `unknown key${suggest(key, fileKeys())}`;
    report({
      option: '--config',
      source: { layer: 'config file', path: configFile, key },
      value: key,
      accepted: 'the option names in camelCase, as listed by --help (maxLag, db, ...)',
      message: `--config: ${showReceived(key)} in ${configFile}: ${hint}; keys are the option names in camelCase (--max-lag is maxLag)`,
    });
  }
  return layer(raw, (key) => ({ layer: 'config file', path: configFile, key }));
}

function fileKeys(): string[] {
  return OPTIONS.flatMap((o) => (o.fileKey === undefined ? [] : [o.fileKey]));
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
  if (facts.execCommands.length > 0 && !facts.execCommands.some((c) => runsLitefsSupervisor(c))) {
    warnings.push(
      `litefs-supervisor init rewrites this litefs.yml (${facts.path}) for the supervisor: the exec entries become its options, lease.promote: true becomes --promote, a Consul lease gets reconnect-delay: "100ms"; it shows the change as a diff and writes only with --write`,
    );
  }
  const slowRetry = reconnectDelayWarning(facts);
  if (slowRetry) warnings.push(slowRetry);
  return warnings;
}

/**
 * A candidate on a Consul lease whose running nodes retry the lease only every second (LiteFS's
 * default reconnect-delay): after an expiry, a node that has just started with an older database
 * can take the free lease first (docs/litefs-facts.md, "A free lease goes to the first
 * candidate"). The supervisor runs after LiteFS takes the lease, so litefs.yml is the fix.
 */
function reconnectDelayWarning(facts: LitefsYmlFacts): string | undefined {
  if (facts.leaseType !== 'consul' || facts.leaseCandidate === false) return undefined;
  const delay = facts.leaseReconnectDelay;
  if (delay !== undefined && delay.ms < LITEFS_DEFAULT_RECONNECT_DELAY_MS) return undefined;
  const value =
    delay === undefined ? "is not set: LiteFS's default 1s" : `is ${showReceived(delay.text)}`;
  return `litefs.yml lease.reconnect-delay ${value} (${facts.path}): the running nodes look for a free lease only that often, so when the primary's Consul session expires, a machine that has just started with an older database can take the lease first, and LiteFS then replaces the running nodes' newer databases with its older copy. Set reconnect-delay: "100ms" under lease:, or run litefs-supervisor init --write`;
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

/**
 * The cluster record's key and Consul, or why it cannot be kept: `off` (or nothing set) turns it
 * off; a key needs a Consul lease in litefs.yml to live beside. Never in --standalone.
 */
function resolveClusterRecord(
  key: string | undefined,
  consulLease: ParseResult<ConsulEndpoint> | undefined,
  standalone: boolean,
):
  | { ok: true; key: string | undefined; consul: ConsulEndpoint | undefined }
  | { ok: false; error: string } {
  if (key === undefined || key === 'off' || standalone) {
    return { ok: true, key: undefined, consul: undefined };
  }
  if (consulLease === undefined) {
    return {
      ok: false,
      error:
        'litefs.yml has no Consul lease (lease.type consul with lease.consul.url) for the record to live in; pass --cluster-record off, or configure the lease',
    };
  }
  if (!consulLease.ok) return { ok: false, error: `litefs.yml ${consulLease.error}` };
  return { ok: true, key, consul: consulLease.value };
}
