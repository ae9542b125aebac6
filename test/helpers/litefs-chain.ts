// LiteFS's chain from litefs.yml to the argv of each exec command, and the supervisor's chain
// from its exec line to the argv of each --setup/--migrate/--before command (through a real
// `/bin/sh -c`) and of the app: what `init` must keep the same (docs/deploying.md, "Moving an
// exec block to the supervisor").

import { spawnSync } from 'node:child_process';
import { parseDocument } from 'yaml';
import { parseArgs } from '../../src/config/args.js';
import { expandLitefsEnv } from '../../src/config/litefs-yml.js';
import { shellwords } from '../../src/config/shellwords.js';

export type Env = Record<string, string>;

interface RawEntry {
  cmd: string;
  ifCandidate: boolean;
}

/** The exec entries LiteFS reads from `text` with `env`: YAML after `$` expansion. */
export function litefsExec(text: string, env: Env): RawEntry[] {
  const doc = parseDocument(
    expandLitefsEnv(text, (n) => env[n]),
    { prettyErrors: false },
  );
  if (doc.errors.length > 0) throw new Error(`not YAML after expansion: ${doc.errors[0]?.message}`);
  const exec = (doc.toJS() as { exec?: unknown }).exec;
  if (typeof exec === 'string') return [{ cmd: exec, ifCandidate: false }];
  if (!Array.isArray(exec)) throw new Error('no exec list');
  return exec.map((e: { cmd: unknown; 'if-candidate'?: unknown }) => ({
    cmd: String(e.cmd),
    ifCandidate: e['if-candidate'] === true,
  }));
}

/** go-shellwords on an exec command, as LiteFS splits it (an error when it would drop text). */
export function litefsArgv(cmd: string): string[] {
  const r = shellwords(cmd);
  if (!r.ok) throw new Error(`${cmd}: ${r.error}`);
  if (r.rest !== '') throw new Error(`${cmd}: LiteFS drops ${JSON.stringify(r.rest)}`);
  return r.args;
}

/** The argv a real `/bin/sh -c <command>` runs (the command is a simple command). */
export function shArgv(command: string, env: Env = {}): string[] {
  const script = `argv() { for a in "$@"; do printf '%s\\0' "$a"; done; }; argv ${command}`;
  const r = spawnSync('/bin/sh', ['-c', script], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...env },
    cwd: '/',
  });
  if (r.status !== 0) throw new Error(`sh -c failed (${r.status}): ${r.stderr}`);
  const parts = r.stdout.split('\0');
  parts.pop();
  return parts;
}

export interface SupervisorRun {
  setup: string[][];
  migrate: string[][];
  before: string[][];
  app: string[];
  /** The options of the line (for check). */
  args: string[];
}

/** What the supervisor's one exec line in `text` runs, with `env`, argv by argv. */
export function supervisorArgv(text: string, env: Env): SupervisorRun {
  const entries = litefsExec(text, env);
  if (entries.length !== 1) throw new Error(`${entries.length} exec entries, not 1`);
  const argv = litefsArgv(entries[0]?.cmd ?? '');
  const parsed = parseArgs(argv.slice(1));
  if (!parsed.ok || parsed.command !== 'run') {
    throw new Error(`the supervisor refuses ${JSON.stringify(argv)}`);
  }
  const list = (v: string | string[] | undefined) => (v === undefined ? [] : [v].flat());
  return {
    setup: list(parsed.options.setup).map((c) => shArgv(c)),
    migrate: list(parsed.options.migrate).map((c) => shArgv(c)),
    before: list(parsed.options.before).map((c) => shArgv(c)),
    app: parsed.app,
    args: argv.slice(1),
  };
}
