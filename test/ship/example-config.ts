// litefs.yml.example as LiteFS and the supervisor will see it in the image: expanded with a Fly
// machine's environment, found at /etc/litefs.yml by the search order, its exec line split the
// way LiteFS splits it, and that argv given to the CLI's own parser and loader.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseLitefsYml } from '../../src/config/litefs-yml.js';
import { type LoadResult, loadConfig, parseArgs } from '../../src/config/load.js';
import { shellwords } from '../../src/config/shellwords.js';
import type { LitefsYmlFacts } from '../../src/config/types.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Where the Dockerfile installs the example (COPY litefs.yml.example /etc/litefs.yml). */
export const INSTALLED_AT = '/etc/litefs.yml';

export function readRepoFile(path: string): string {
  return readFileSync(`${ROOT}${path}`, 'utf8');
}

/** A primary-region machine's environment on Fly (what LiteFS expands the file with). */
export function flyEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    FLY_APP_NAME: 'my-litefs-app',
    FLY_REGION: 'sjc',
    PRIMARY_REGION: 'sjc',
    FLY_CONSUL_URL: 'https://:secret@consul-sjc.fly-shared.net/my-litefs-app-abc/',
    HOSTNAME: '148e21ea7e3e89',
    ...overrides,
  };
}

export function exampleFacts(env: Record<string, string>): LitefsYmlFacts {
  const r = parseLitefsYml(INSTALLED_AT, readRepoFile('litefs.yml.example'), (n) => env[n]);
  if (!r.ok) throw new Error(`litefs.yml.example: ${r.error}`);
  return r.value;
}

export interface ExampleExec {
  facts: LitefsYmlFacts;
  /** The exec command as LiteFS splits it. */
  argv: string[];
  /** What shellwords dropped after an unquoted operator ('' when nothing). */
  dropped: string;
  loaded: LoadResult;
}

/** The example's exec line, split like LiteFS, parsed and loaded like the CLI in the image. */
export function loadExampleExec(env: Record<string, string> = flyEnv()): ExampleExec {
  const facts = exampleFacts(env);
  if (facts.execCommands.length !== 1) {
    throw new Error(`expected one exec command, got ${facts.execCommands.length}`);
  }
  const split = shellwords(facts.execCommands[0] as string);
  if (!split.ok) throw new Error(`LiteFS cannot split the exec command: ${split.error}`);
  const parsed = parseArgs(split.args.slice(1));
  if (!parsed.ok) {
    throw new Error(`exec line refused: ${parsed.errors.map((e) => e.message).join('; ')}`);
  }
  if (parsed.command !== 'run') throw new Error(`exec line is a ${parsed.command} command`);
  const text = readRepoFile('litefs.yml.example');
  const loaded = loadConfig({
    mode: 'run',
    options: parsed.options,
    command: parsed.app,
    env,
    // The image's WORKDIR and root's home: neither has a litefs.yml, so the search order
    // reaches /etc/litefs.yml, as it does for LiteFS.
    cwd: '/app',
    home: '/root',
    readFile: (p) => (p === INSTALLED_AT ? text : undefined),
    hostname: env.HOSTNAME ?? 'localhost',
  });
  return { facts, argv: split.args, dropped: split.rest, loaded };
}
