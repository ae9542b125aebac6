// Reads litefs.yml the way LiteFS does (superfly/litefs cmd/litefs/config.go), for defaults
// and warnings only: the supervisor never changes it. Matching LiteFS matters: if we expanded
// or searched differently we would watch a different mount dir or API port than LiteFS uses.

import { posix as path } from 'node:path';
import { parseDocument } from 'yaml';
import { type ConsulEndpoint, parseConsulEndpoint } from '../consul/endpoint.js';
import { parseGoDurationNs } from '../core/duration.js';
import type { ParseResult } from '../core/litefs-types.js';
import { isRecord, showValue } from '../core/values.js';
import type { GoDuration, LitefsYmlFacts } from './types.js';

export type Getenv = (name: string) => string | undefined;

// LiteFS's defaults for the keys we read (cmd/litefs/config.go NewConfig, http.DefaultAddr).
export const LITEFS_DEFAULT_DATA_DIR = '/var/lib/litefs';
export const LITEFS_DEFAULT_FUSE_DIR = '/litefs';
export const LITEFS_DEFAULT_PORT = 20202;
/** store.go DefaultReconnectDelay: how long a node waits before it looks for the lease again. */
export const LITEFS_DEFAULT_RECONNECT_DELAY_MS = 1000;
/** consul/consul.go DefaultTTL: the lease session's TTL (the primary renews every TTL/2). */
export const LITEFS_DEFAULT_CONSUL_TTL_MS = 10_000;
/** consul/consul.go DefaultLockDelay: Consul refuses `?acquire=` this long after an expiry. */
export const LITEFS_DEFAULT_CONSUL_LOCK_DELAY_MS = 1000;

// Go's regexp \w and \s are ASCII-only, and `.` stops only at \n: spelled out so JavaScript's
// wider Unicode classes don't accept what LiteFS refuses.
const W = '[0-9A-Za-z_]';
const S = '[\\t\\n\\f\\r ]';
const EXPR_SINGLE = new RegExp(`^(${W}+)${S}*(==|!=)${S}*'([^\\n]*)'$`);
const EXPR_DOUBLE = new RegExp(`^(${W}+)${S}*(==|!=)${S}*"([^\\n]*)"$`);
const EXPR_VAR = new RegExp(`^(${W}+)${S}*(==|!=)${S}*(${W}+)$`);
// Go's strings.TrimSpace trims unicode.IsSpace: like JavaScript's trim() but with U+0085 and
// without U+FEFF.
const GO_SPACE =
  '[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const GO_TRIM = new RegExp(`^${GO_SPACE}+|${GO_SPACE}+$`, 'g');

/** What LiteFS substitutes for the name inside `${...}` (or after `$`). */
function expandName(raw: string, getenv: Getenv): string {
  const v = raw.replace(GO_TRIM, '');
  const env = (name: string) => getenv(name) ?? '';
  const m = EXPR_SINGLE.exec(v) ?? EXPR_DOUBLE.exec(v);
  if (m) {
    const equal = env(m[1] ?? '') === m[3];
    return String(m[2] === '==' ? equal : !equal);
  }
  const mv = EXPR_VAR.exec(v);
  if (mv) {
    const equal = env(mv[1] ?? '') === env(mv[3] ?? '');
    return String(mv[2] === '==' ? equal : !equal);
  }
  return env(v);
}

const SHELL_SPECIAL = new Set('*#$@!?-0123456789');
const ALNUM = /[0-9A-Za-z_]/;

/**
 * One `$` in litefs.yml's raw text as LiteFS's expansion reads it (Go's os.Expand and
 * os.getShellName): `start`..`end` is the text it replaces. `name`: what goes to LiteFS's
 * mapping (a variable name, or an expression like `FLY_REGION == PRIMARY_REGION`); `special`: a
 * shell special (`$1`, `$*`, `${1}`) that LiteFS looks up as a variable of that name; `bad`: `${}`
 * or an unclosed `${`, dropped; `lone`: a `$` followed by no name (or last in the text), kept.
 */
export interface LitefsRef {
  start: number;
  end: number;
  kind: 'name' | 'special' | 'bad' | 'lone';
  name: string;
}

/** Every `$` of `text` as LiteFS's expansion reads it, in order. Pure. */
export function scanLitefsRefs(text: string): LitefsRef[] {
  const refs: LitefsRef[] = [];
  for (let j = 0; j < text.length; j++) {
    if (text[j] !== '$') continue;
    // A `$` as the very last character is kept, as in Go.
    if (j + 1 >= text.length) {
      refs.push({ start: j, end: j + 1, kind: 'lone', name: '' });
      continue;
    }
    const { name, width, special } = shellName(text.slice(j + 1));
    const end = j + 1 + width;
    if (name === '' && width > 0) {
      // Bad syntax (`${}` or an unclosed `${`): Go drops those characters.
      refs.push({ start: j, end, kind: 'bad', name: '' });
    } else if (name === '') {
      refs.push({ start: j, end: j + 1, kind: 'lone', name: '' }); // `$` not followed by a name: kept.
    } else {
      refs.push({ start: j, end, kind: special ? 'special' : 'name', name });
    }
    j = end - 1;
  }
  return refs;
}

/**
 * LiteFS's expansion of the raw file text (before YAML parsing), i.e. Go's os.Expand with
 * LiteFS's mapping: `${NAME}`, `$NAME`, `${A == 'x'}`, `${A != "x"}`, `${A == B}`. Unset
 * and empty variables both read as ''. Pure: the environment is passed in.
 */
export function expandLitefsEnv(text: string, getenv: Getenv): string {
  let out = '';
  let i = 0; // start of text not yet copied
  for (const ref of scanLitefsRefs(text)) {
    out += text.slice(i, ref.start);
    if (ref.kind === 'lone') out += '$';
    else if (ref.kind !== 'bad') out += expandName(ref.name, getenv);
    i = ref.end;
  }
  return out + text.slice(i);
}

/** The name after a `$` and how many characters it took (Go's os.getShellName). */
function shellName(s: string): { name: string; width: number; special: boolean } {
  if (s[0] === '{') {
    if (s.length > 2 && SHELL_SPECIAL.has(s[1] ?? '') && s[2] === '}') {
      return { name: s.slice(1, 2), width: 3, special: true };
    }
    // The name runs to the first `}`, whatever it contains: that is what lets LiteFS put
    // `FLY_REGION == PRIMARY_REGION` inside.
    const close = s.indexOf('}', 1);
    if (close === 1) return { name: '', width: 2, special: false };
    if (close === -1) return { name: '', width: 1, special: false };
    return { name: s.slice(1, close), width: close + 1, special: false };
  }
  if (SHELL_SPECIAL.has(s[0] ?? '')) return { name: s.slice(0, 1), width: 1, special: true };
  let n = 0;
  while (n < s.length && ALNUM.test(s[n] ?? '')) n++;
  return { name: s.slice(0, n), width: n, special: false };
}

/** LiteFS's search order: ./litefs.yml (made absolute), ~/litefs.yml, /etc/litefs.yml. */
export function litefsYmlSearchPaths(cwd: string, home: string | undefined): string[] {
  const paths = [path.resolve(cwd, 'litefs.yml')];
  if (home) paths.push(path.join(home, 'litefs.yml'));
  paths.push('/etc/litefs.yml');
  return paths;
}

export type Field<T> = { ok: true; value: T | undefined } | { ok: false; error: string };

function section(doc: Record<string, unknown>, key: string): ParseResult<Record<string, unknown>> {
  const v = doc[key];
  if (v === undefined || v === null) return { ok: true, value: {} };
  if (isRecord(v)) return { ok: true, value: v };
  return { ok: false, error: `${key} is ${describe(v)}, expected a mapping` };
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (isRecord(v)) return 'a mapping';
  return showValue(v);
}

// yaml.v3 decodes any scalar into a string field (`dir: 123` is "123").
function textField(sec: Record<string, unknown>, name: string, key: string): Field<string> {
  const v = sec[key];
  if (v === undefined || v === null) return { ok: true, value: undefined };
  if (typeof v === 'string') return { ok: true, value: v };
  if (typeof v === 'number' || typeof v === 'boolean') return { ok: true, value: String(v) };
  return { ok: false, error: `${name} is ${describe(v)}, expected text` };
}

// yaml.v3 also accepts YAML 1.1 booleans when the target field is a bool.
const YAML11_TRUE = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON']);
const YAML11_FALSE = new Set(['n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF']);

function boolField(sec: Record<string, unknown>, name: string, key: string): Field<boolean> {
  const v = sec[key];
  if (v === undefined || v === null) return { ok: true, value: undefined };
  if (typeof v === 'boolean') return { ok: true, value: v };
  if (typeof v === 'string' && YAML11_TRUE.has(v)) return { ok: true, value: true };
  if (typeof v === 'string' && YAML11_FALSE.has(v)) return { ok: true, value: false };
  return { ok: false, error: `${name} is ${describe(v)}, expected true or false` };
}

/** What a litefs.yml duration may be, for messages. */
const GO_DURATION_ACCEPTED = 'a duration with a unit, like "100ms", "1s" or "1m30s"';

/**
 * A duration field as yaml.v3 decodes a time.Duration: text through Go's time.ParseDuration; a
 * number (even 0) is an error there, so it is one here. Null or absent: LiteFS's default.
 */
export function goDurationOf(v: unknown, name: string): Field<GoDuration> {
  if (v === undefined || v === null) return { ok: true, value: undefined };
  const r = typeof v === 'string' ? parseGoDurationNs(v) : undefined;
  if (r?.ok) return { ok: true, value: { text: v as string, ms: Number(r.value) / 1e6 } };
  return { ok: false, error: `${name} is ${describe(v)}, expected ${GO_DURATION_ACCEPTED}` };
}

// `exec` is one command string or a list of `{cmd, if-candidate}` (ExecConfigSlice).
function execField(v: unknown): Field<string[]> {
  if (v === undefined || v === null) return { ok: true, value: [] };
  if (typeof v === 'string') return { ok: true, value: [v] };
  if (!Array.isArray(v)) return { ok: false, error: `exec is ${describe(v)}, expected a list` };
  const cmds: string[] = [];
  for (const item of v) {
    if (typeof item === 'string') cmds.push(item);
    else if (isRecord(item) && typeof item.cmd === 'string') cmds.push(item.cmd);
    else return { ok: false, error: `exec has ${describe(item)}, expected {cmd: ...}` };
  }
  return { ok: true, value: cmds };
}

/** Expands `text` like LiteFS, parses it as YAML and picks out the keys the supervisor uses. */
export function parseLitefsYml(
  filePath: string,
  text: string,
  getenv: Getenv,
): ParseResult<LitefsYmlFacts> {
  const doc = parseDocument(expandLitefsEnv(text, getenv), { prettyErrors: false });
  const first = doc.errors[0];
  if (first)
    return { ok: false, error: `not valid YAML after \${...} expansion: ${first.message}` };
  const root: unknown = doc.toJS() ?? {};
  if (!isRecord(root)) return { ok: false, error: `expected a mapping at the top level` };

  const errors: string[] = [];
  const sec = (key: string) => {
    const r = section(root, key);
    if (r.ok) return r.value;
    errors.push(r.error);
    return {};
  };
  const take = <T>(r: Field<T>): T | undefined => {
    if (r.ok) return r.value;
    errors.push(r.error);
    return undefined;
  };
  const fuse = sec('fuse');
  const data = sec('data');
  const http = sec('http');
  const proxy = sec('proxy');
  const lease = sec('lease');
  const consulSec = section(lease, 'consul');
  if (!consulSec.ok) errors.push(`lease.${consulSec.error}`);
  const consulFields = consulSec.ok ? consulSec.value : {};
  const consulUrl = take(textField(consulFields, 'lease.consul.url', 'url'));
  const consulKey = take(textField(consulFields, 'lease.consul.key', 'key'));
  const facts: LitefsYmlFacts = {
    path: filePath,
    fuseDir: take(textField(fuse, 'fuse.dir', 'dir')),
    dataDir: take(textField(data, 'data.dir', 'dir')),
    httpAddr: take(textField(http, 'http.addr', 'addr')),
    proxyDb: take(textField(proxy, 'proxy.db', 'db')),
    proxyTarget: take(textField(proxy, 'proxy.target', 'target')),
    leaseType: take(textField(lease, 'lease.type', 'type')),
    leaseCandidate: take(boolField(lease, 'lease.candidate', 'candidate')),
    leasePromote: take(boolField(lease, 'lease.promote', 'promote')),
    leaseReconnectDelay: take(goDurationOf(lease['reconnect-delay'], 'lease.reconnect-delay')),
    leaseHostname: take(textField(lease, 'lease.hostname', 'hostname')),
    leaseConsulTtl: take(goDurationOf(consulFields.ttl, 'lease.consul.ttl')),
    leaseConsulLockDelay: take(goDurationOf(consulFields['lock-delay'], 'lease.consul.lock-delay')),
    execCommands: take(execField(root.exec)) ?? [],
    consul: consulEndpointOf(consulUrl, consulKey),
  };
  if (errors.length > 0) return { ok: false, error: errors.join('; ') };
  return { ok: true, value: facts };
}

/**
 * Where the lease's Consul is (LiteFS reads `lease.consul.url` and `.key` only with `lease.type:
 * consul`; the loader checks the type). Undefined when litefs.yml names no Consul URL; a URL it
 * cannot use is an error value, never quoted (it may hold a token).
 */
function consulEndpointOf(
  url: string | undefined,
  key: string | undefined,
): ParseResult<ConsulEndpoint> | undefined {
  if (url === undefined || url === '') return undefined;
  return parseConsulEndpoint(url, key ?? '');
}

/** Port of a Go listen address (`:20202`, `0.0.0.0:20202`, `[::]:20202`); undefined if none. */
export function httpAddrPort(addr: string): number | undefined {
  const m = /^(?:\[[^\]]*\]|[^:[\]]*):(\d{1,5})$/.exec(addr);
  if (!m) return undefined;
  const port = Number(m[1]);
  return port <= 65535 ? port : undefined;
}

export type ReadFile = (path: string) => string | undefined;

export type LitefsYmlResult =
  | { ok: true; facts: LitefsYmlFacts | undefined; searched: string[] }
  | { ok: false; path: string; error: string };

/**
 * Finds and reads litefs.yml. `explicit` is --litefs-config: a path (must exist, as with
 * `litefs mount -config`), `none`, or undefined for LiteFS's search order. `readFile` returns
 * undefined when the file does not exist and throws on any other failure.
 */
export function loadLitefsYml(opts: {
  explicit: string | undefined;
  cwd: string;
  home: string | undefined;
  readFile: ReadFile;
  getenv: Getenv;
}): LitefsYmlResult {
  if (opts.explicit === 'none') return { ok: true, facts: undefined, searched: [] };
  const explicit = opts.explicit === undefined ? undefined : path.resolve(opts.cwd, opts.explicit);
  const candidates = explicit ? [explicit] : litefsYmlSearchPaths(opts.cwd, opts.home);
  for (const p of candidates) {
    let text: string | undefined;
    try {
      text = opts.readFile(p);
    } catch (err) {
      // LiteFS stops at a file it cannot read rather than trying the next one.
      return { ok: false, path: p, error: `cannot read: ${(err as Error).message}` };
    }
    if (text === undefined) {
      if (explicit) return { ok: false, path: p, error: 'file not found' };
      continue;
    }
    const r = parseLitefsYml(p, text, opts.getenv);
    if (!r.ok) return { ok: false, path: p, error: r.error };
    return { ok: true, facts: r.value, searched: candidates };
  }
  return { ok: true, facts: undefined, searched: candidates };
}

/**
 * The top-level keys of litefs.yml (cmd/litefs/config.go, `Config`'s yaml tags): a --config
 * file made of these is a litefs.yml given to the wrong option.
 */
export const LITEFS_TOP_LEVEL_KEYS: ReadonlySet<string> = new Set(
  'exit-on-error skip-sync strict-verify exec data fuse http proxy lease backup log tracing'.split(
    ' ',
  ),
);
