// A small Dockerfile reader and .dockerignore matcher, for checking the repository's Dockerfile
// without a Docker engine. It covers what that Dockerfile uses and refuses the rest (heredocs,
// variables in COPY sources), so a construct it does not understand fails the test instead of
// being misread.
//
// Rules followed (BuildKit's frontend/dockerfile/parser and moby/patternmatcher):
// - parser directives (`# syntax=...`, `# escape=...`) only before anything else;
// - a line ending in the escape character (default `\`, optionally followed by blanks)
//   continues on the next line; comment lines and empty lines inside a continuation are dropped;
// - the instruction keyword is case-insensitive; RUN, CMD and ENTRYPOINT are in JSON (exec)
//   form when their arguments are a JSON array of strings, else in shell form;
// - .dockerignore: one pattern per line, `#` comments, `!` re-includes, patterns cleaned and
//   relative to the context root, `*` and `?` stop at `/`, `**` crosses directories; a path is
//   excluded when the last pattern matching it or one of its parent directories is not `!`.

import { posix } from 'node:path';

export interface Instruction {
  /** Upper-case keyword: FROM, RUN, COPY... */
  keyword: string;
  /** 1-based line of the keyword. */
  line: number;
  /** Everything after the keyword, continuations joined. */
  args: string;
  /** `--name=value` flags at the start of args (COPY, ADD, FROM, RUN). */
  flags: Record<string, string>;
  /** args without the flags. */
  rest: string;
  /** The JSON array when args (after flags) is one. */
  json: string[] | undefined;
}

export interface Stage {
  index: number;
  /** `AS name`, lower-cased as Docker does. */
  name: string | undefined;
  image: string;
  from: Instruction;
  instructions: Instruction[];
}

export interface Dockerfile {
  directives: Record<string, string>;
  /** Instructions before the first FROM (only ARG is allowed there). */
  preamble: Instruction[];
  stages: Stage[];
}

const FLAG_KEYWORDS = new Set(['COPY', 'ADD', 'FROM', 'RUN']);

function parseJsonArray(text: string): string[] | undefined {
  const t = text.trim();
  if (!t.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(t);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    // Not JSON: Docker falls back to the shell form.
  }
  return undefined;
}

function splitFlags(
  keyword: string,
  args: string,
): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  if (!FLAG_KEYWORDS.has(keyword)) return { flags, rest: args };
  let rest = args;
  for (;;) {
    const m = /^--([A-Za-z][A-Za-z0-9-]*)(?:=(\S*))?(?:\s+|$)/.exec(rest);
    if (!m) break;
    flags[m[1] as string] = m[2] ?? 'true';
    rest = rest.slice(m[0].length);
  }
  return { flags, rest };
}

export function parseDockerfile(text: string): Dockerfile {
  const lines = text.split(/\r?\n/);
  const directives: Record<string, string> = {};
  let i = 0;
  // Parser directives: `# key=value` lines at the very top, nothing else before them.
  for (; i < lines.length; i++) {
    const m = /^#\s*([A-Za-z]+)\s*=\s*(\S+)\s*$/.exec(lines[i] ?? '');
    if (!m) break;
    const key = (m[1] as string).toLowerCase();
    if (key in directives) throw new Error(`line ${i + 1}: directive ${key} given twice`);
    directives[key] = m[2] as string;
  }
  const escapeChar = directives.escape ?? '\\';
  if (escapeChar !== '\\' && escapeChar !== '`')
    throw new Error(`escape directive ${escapeChar} is invalid`);
  const continues = new RegExp(`\\${escapeChar}[ \\t]*$`);

  const instructions: Instruction[] = [];
  while (i < lines.length) {
    const first = lines[i] ?? '';
    const startLine = i + 1;
    i++;
    if (first.trim() === '' || /^\s*#/.test(first)) continue;
    let logical = first;
    while (continues.test(logical)) {
      logical = logical.replace(continues, '');
      // Comment and empty lines inside a continuation are dropped.
      while (i < lines.length && (/^\s*#/.test(lines[i] ?? '') || (lines[i] ?? '').trim() === '')) {
        i++;
      }
      if (i >= lines.length) break;
      logical += lines[i];
      i++;
    }
    const m = /^\s*(\S+)\s*([\s\S]*)$/.exec(logical);
    if (!m) continue;
    const keyword = (m[1] as string).toUpperCase();
    const args = (m[2] as string).trim();
    if (/<<-?["']?[A-Za-z_]/.test(args) && (keyword === 'RUN' || keyword === 'COPY')) {
      throw new Error(`line ${startLine}: heredocs are not supported by this reader`);
    }
    const { flags, rest } = splitFlags(keyword, args);
    instructions.push({ keyword, line: startLine, args, flags, rest, json: parseJsonArray(rest) });
  }

  const preamble: Instruction[] = [];
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const words = ins.rest.split(/\s+/).filter((w) => w !== '');
      const [image, as, name, ...extra] = words;
      if (image === undefined) throw new Error(`line ${ins.line}: FROM without an image`);
      if (as !== undefined && (as.toUpperCase() !== 'AS' || name === undefined || extra.length)) {
        throw new Error(`line ${ins.line}: expected FROM image [AS name], got FROM ${ins.args}`);
      }
      stages.push({
        index: stages.length,
        name: name?.toLowerCase(),
        image,
        from: ins,
        instructions: [],
      });
      continue;
    }
    const stage = stages.at(-1);
    if (stage) stage.instructions.push(ins);
    else if (ins.keyword === 'ARG') preamble.push(ins);
    else throw new Error(`line ${ins.line}: ${ins.keyword} before the first FROM`);
  }
  return { directives, preamble, stages };
}

export interface CopySpec {
  keyword: 'COPY' | 'ADD';
  line: number;
  /** `--from`: a stage name or index, or an image; undefined for the build context. */
  from: string | undefined;
  sources: string[];
  dest: string;
}

export function copySpec(ins: Instruction): CopySpec {
  if (ins.keyword !== 'COPY' && ins.keyword !== 'ADD') {
    throw new Error(`line ${ins.line}: ${ins.keyword} is not COPY or ADD`);
  }
  const words = ins.json ?? ins.rest.split(/\s+/).filter((w) => w !== '');
  if (words.length < 2)
    throw new Error(`line ${ins.line}: ${ins.keyword} needs a source and a dest`);
  const sources = words.slice(0, -1);
  for (const s of sources) {
    if (s.includes('$'))
      throw new Error(`line ${ins.line}: variables in sources are not supported`);
  }
  return {
    keyword: ins.keyword,
    line: ins.line,
    from: ins.flags.from,
    sources,
    dest: words.at(-1) as string,
  };
}

/** The stage a `--from` value names, if it is one (else it is an image). */
export function stageNamed(df: Dockerfile, from: string): Stage | undefined {
  if (/^\d+$/.test(from)) return df.stages[Number(from)];
  return df.stages.find((s) => s.name === from.toLowerCase());
}

// ---------------------------------------------------------------------------------------------
// .dockerignore

export interface IgnorePattern {
  text: string;
  exclusion: boolean;
  regex: RegExp;
}

const REGEX_SPECIAL = new Set('.+()|{}$^');

function patternRegex(pattern: string): RegExp {
  let re = '^';
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === '*') {
      if (chars[i + 1] === '*') {
        i++;
        if (chars[i + 1] === '/') i++;
        re += i + 1 >= chars.length ? '.*' : '(.*/)?';
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '\\') {
      i++;
      const next = chars[i];
      if (next !== undefined) re += `\\${next}`;
    } else if (REGEX_SPECIAL.has(c)) {
      re += `\\${c}`;
    } else {
      re += c;
    }
  }
  return new RegExp(`${re}$`);
}

export function parseDockerignore(text: string): IgnorePattern[] {
  const patterns: IgnorePattern[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const exclusion = line.startsWith('!');
    if (exclusion) line = line.slice(1).trim();
    let cleaned = posix.normalize(line);
    if (cleaned.endsWith('/') && cleaned !== '/') cleaned = cleaned.slice(0, -1);
    cleaned = cleaned.replace(/^\/+/, '');
    if (cleaned === '' || cleaned === '.') continue;
    patterns.push({ text: raw.trim(), exclusion, regex: patternRegex(cleaned) });
  }
  return patterns;
}

/** Whether `path` (relative to the context root) is left out of the build context. */
export function isIgnored(path: string, patterns: readonly IgnorePattern[]): boolean {
  const clean = posix.normalize(path).replace(/^\.\/|\/$/g, '');
  const parts = clean.split('/');
  const candidates = parts.map((_, n) => parts.slice(0, n + 1).join('/'));
  let ignored = false;
  for (const p of patterns) {
    if (candidates.some((c) => p.regex.test(c))) ignored = !p.exclusion;
  }
  return ignored;
}
