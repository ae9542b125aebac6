// What `litefs-supervisor init` says about the Dockerfile and fly.toml beside litefs.yml: what
// the image and the Fly app need for the supervisor's line (docs/deploying.md, "Stopping";
// docs/deploying.md "Stopping" and "Health API and Fly checks"). It reads them and never edits
// them: both are the app's own files, with more in them than this tool understands.

import { parse as parseToml } from 'smol-toml';
import { parseArgs, type RawOptions } from '../config/args.js';
import { parseHealthAddr } from '../config/kinds.js';
import { OPTIONS_BY_NAME } from '../config/schema.js';
import { shellwords } from '../config/shellwords.js';
import { formatDuration, parseDuration } from '../core/duration.js';
import { isRecord } from '../core/values.js';

/** LiteFS's own shutdown after the supervisor exits: unmount, release the lease (docs/deploying.md, "Stopping"). */
export const LITEFS_SHUTDOWN_MS = 1000;
/** Fly's kill_timeout when fly.toml sets none (seconds). */
const FLY_DEFAULT_KILL_TIMEOUT_S = 5;

export interface FileText {
  path: string;
  text: string;
}

export interface Advice {
  file: string;
  /** ok: nothing to change; change: what to change. */
  kind: 'ok' | 'change';
  text: string;
}

/** What the supervisor's line says about the budgets and ports the deploy files must match. */
export interface LineFacts {
  handoffMs: number;
  shutdownMs: number;
  healthPort: number | undefined;
  commands: string[];
}

function durationOf(options: RawOptions, name: 'handoff-timeout' | 'shutdown-timeout'): number {
  const given = options[name];
  const text =
    typeof given === 'string' ? given : String(OPTIONS_BY_NAME.get(name)?.default ?? '0');
  const r = parseDuration(text);
  return r.ok ? r.value : 0;
}

/**
 * The budgets and health port of the supervisor's exec line (as written: a value that is a
 * `$` reference counts as the default).
 */
export function lineFacts(line: string): LineFacts {
  const split = shellwords(line);
  const args = split.ok ? split.args.slice(1) : [];
  const parsed = parseArgs(args);
  const options: RawOptions = parsed.ok && 'options' in parsed ? parsed.options : {};
  const addrText =
    typeof options['health-addr'] === 'string'
      ? options['health-addr']
      : String(OPTIONS_BY_NAME.get('health-addr')?.default ?? ':9090');
  const addr = parseHealthAddr(addrText);
  const list = (name: 'setup' | 'migrate' | 'before') => {
    const v = options[name];
    return v === undefined ? [] : Array.isArray(v) ? v : [v];
  };
  return {
    handoffMs: durationOf(options, 'handoff-timeout'),
    shutdownMs: durationOf(options, 'shutdown-timeout'),
    healthPort: addr.ok && addr.value !== 'off' ? addr.value.port : undefined,
    commands: [...list('setup'), ...list('migrate'), ...list('before')],
  };
}

/** Dockerfile instructions (continuation lines joined, comments dropped), upper-cased verbs. */
function instructions(text: string): { verb: string; args: string }[] {
  const out: { verb: string; args: string }[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (current === '' && /^\s*#/.test(line)) continue;
    if (/\\\s*$/.test(line)) {
      current += `${line.replace(/\\\s*$/, '')} `;
      continue;
    }
    current += line;
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(current);
    if (m) out.push({ verb: (m[1] as string).toUpperCase(), args: (m[2] as string).trim() });
    current = '';
  }
  return out;
}

/** The words of a CMD/ENTRYPOINT: exec form (JSON) or shell form. */
/** The CMD the repository's Dockerfile ends with (docs/deploying.md). */
const BEFORE_MOUNT_CMD = 'CMD ["sh", "-c", "litefs-supervisor before-mount && exec litefs mount"]';

function commandWords(args: string): string[] {
  if (args.startsWith('[')) {
    try {
      const v: unknown = JSON.parse(args);
      if (Array.isArray(v)) return v.map(String);
    } catch {
      // not JSON: read it as the shell form
    }
  }
  return args.split(/\s+/).filter(Boolean);
}

export function dockerfileAdvice(f: FileText, facts: LineFacts, version: string): Advice[] {
  const out: Advice[] = [];
  const ins = instructions(f.text);
  const file = f.path;
  const installs = ins.some(
    (i) =>
      (i.verb === 'RUN' || i.verb === 'COPY' || i.verb === 'ADD') &&
      /litefs-supervisor/.test(i.args),
  );
  out.push(
    installs
      ? { file, kind: 'ok', text: 'installs litefs-supervisor' }
      : {
          file,
          kind: 'change',
          text: `install the supervisor in the final stage, on PATH where LiteFS's exec line finds it: RUN npm install -g litefs-supervisor@${version}`,
        },
  );
  const cmd = ins.filter((i) => i.verb === 'CMD').at(-1);
  const entry = ins.filter((i) => i.verb === 'ENTRYPOINT').at(-1);
  // Word by word, a `sh -c "..."` line's words too: `before-mount && exec litefs mount`.
  const words = [
    ...(entry ? commandWords(entry.args) : []),
    ...(cmd ? commandWords(cmd.args) : []),
  ].flatMap((w) => w.split(/\s+/).filter(Boolean));
  const followedBy = (name: string, next: string) =>
    words.some((w, i) => (w === name || w.endsWith(`/${name}`)) && words[i + 1] === next);
  out.push(
    followedBy('litefs', 'mount')
      ? { file, kind: 'ok', text: 'starts `litefs mount` (LiteFS then starts the supervisor)' }
      : {
          file,
          kind: 'change',
          text: `end with ${BEFORE_MOUNT_CMD}: LiteFS starts the supervisor as its exec command (now: ${cmd ? `CMD ${cmd.args}` : 'no CMD'})`,
        },
  );
  // docs/design.md section 1, "Before the mount": a starting node leaves a free lease to the
  // running nodes, which hold newer data.
  out.push(
    followedBy('litefs-supervisor', 'before-mount')
      ? { file, kind: 'ok', text: 'runs `litefs-supervisor before-mount` before LiteFS' }
      : {
          file,
          kind: 'change',
          text: `run litefs-supervisor before-mount before LiteFS, so a starting node leaves a free lease to the running nodes: ${BEFORE_MOUNT_CMD}`,
        },
  );
  const needsSqlite = facts.commands.some((c) => /(^|[\s'"/])sqlite3(\s|$)/.test(c));
  if (needsSqlite) {
    const hasSqlite = ins.some((i) => i.verb === 'RUN' && /\bsqlite3\b/.test(i.args));
    out.push(
      hasSqlite
        ? { file, kind: 'ok', text: 'installs the sqlite3 CLI the commands use' }
        : {
            file,
            kind: 'change',
            text: 'a command runs the sqlite3 CLI: install it (apt-get install -y sqlite3), or do that step in your migration tool',
          },
    );
  }
  return out;
}

function seconds(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') {
    const r = parseDuration(v);
    if (r.ok) return r.value / 1000;
  }
  return undefined;
}

export function flyTomlAdvice(f: FileText, facts: LineFacts): Advice[] {
  const file = f.path;
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(f.text) as Record<string, unknown>;
  } catch (err) {
    return [{ file, kind: 'change', text: `cannot read it as TOML: ${(err as Error).message}` }];
  }
  const out: Advice[] = [];
  const signal = doc.kill_signal;
  out.push(
    signal === undefined || signal === 'SIGINT' || signal === 'SIGTERM'
      ? {
          file,
          kind: 'ok',
          text: `kill_signal ${signal ?? 'SIGINT (Fly default)'}: LiteFS forwards it to the supervisor`,
        }
      : {
          file,
          kind: 'change',
          text: `kill_signal = "SIGINT" (now ${JSON.stringify(signal)}): LiteFS forwards only SIGINT and SIGTERM to its exec command`,
        },
  );
  const budgetMs = facts.handoffMs + facts.shutdownMs + LITEFS_SHUTDOWN_MS;
  const need = Math.ceil(budgetMs / 1000);
  const budget = `--handoff-timeout ${formatDuration(facts.handoffMs)} + --shutdown-timeout ${formatDuration(facts.shutdownMs)} + ${formatDuration(LITEFS_SHUTDOWN_MS)} for LiteFS to unmount and release the lease`;
  const given = doc.kill_timeout;
  const kill = given === undefined ? FLY_DEFAULT_KILL_TIMEOUT_S : seconds(given);
  out.push(
    kill !== undefined && kill >= need
      ? {
          file,
          kind: 'ok',
          text: `kill_timeout ${kill} s${given === undefined ? ' (Fly default)' : ''} covers ${budget}`,
        }
      : {
          file,
          kind: 'change',
          text: `kill_timeout = ${need} or more (now ${given === undefined ? 'unset' : JSON.stringify(given)}): it must cover ${budget}`,
        },
  );
  const checks = isRecord(doc.checks) ? Object.entries(doc.checks) : [];
  const port = facts.healthPort;
  const ours = checks.find(
    ([, c]) => isRecord(c) && Number(c.port) === port && c.path === '/health',
  );
  out.push(
    port === undefined
      ? {
          file,
          kind: 'change',
          text: "the supervisor's health API is off (--health-addr off): no Fly check can ask it",
        }
      : ours
        ? { file, kind: 'ok', text: `[checks.${ours[0]}] asks the supervisor's /health on ${port}` }
        : {
            file,
            kind: 'change',
            text: `add a top-level check on the supervisor's /health (it holds a rolling deploy until a machine migrated, synced and started its app; service checks cannot reach port ${port}):\n[checks.supervisor]\n  type = "http"\n  port = ${port}\n  method = "get"\n  path = "/health"\n  grace_period = "60s"\n  interval = "10s"\n  timeout = "2s"`,
          },
  );
  const deploy = isRecord(doc.deploy) ? doc.deploy : {};
  const release = deploy.release_command;
  if (typeof release === 'string' && /migrat/i.test(release)) {
    out.push({
      file,
      kind: 'change',
      text: `remove [deploy] release_command = ${JSON.stringify(release)}: a release machine has no volume and no LiteFS mount; give it to the supervisor as --migrate`,
    });
  }
  return out;
}
