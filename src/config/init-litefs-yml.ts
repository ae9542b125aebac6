// `litefs-supervisor init`: rewrites a litefs.yml whose exec block runs the app, its migrations
// and other commands into one exec entry, the supervisor's line (docs/deploying.md, "Moving an
// exec block to the supervisor"). Pure: text in, text out.
//
// It edits the file as written, before LiteFS's `${...}` expansion, so nothing of the
// environment it runs in ends up in the file. Only three places change, spliced into the text at
// the ranges the `yaml` package gives them: `lease.promote`, `lease.reconnect-delay`
// (init-reconnect-delay.ts) and the value of `exec`; every other byte stays as it was. Comments
// inside the old exec block are kept, above the new entry.

import { type Document, isMap, isScalar, isSeq, type Node, Parser, parseDocument } from 'yaml';
import { parseArgs } from './args.js';
import { isSupervisorProgram, runsLitefsSupervisor } from './exec-line.js';
import {
  appWords,
  type Piece,
  shellCommand,
  shellwordsWord,
  showWords,
  splitExecCommand,
  toText,
  type Word,
} from './exec-words.js';
import { checkReconnectDelay, reconnectDelayChange } from './init-reconnect-delay.js';
import { expandLitefsEnv, scanLitefsRefs } from './litefs-yml.js';
import { shellwords } from './shellwords.js';

/** One old exec entry, as written. */
export interface ExecEntry {
  /** 1-based, as a person counts the entries. */
  n: number;
  /** The `cmd` value as YAML reads it, before `$` expansion. */
  cmd: string;
  ifCandidate: boolean;
}

export type MappedAs = 'setup' | 'migrate' | 'before' | 'app';

export interface Mapping {
  entry: ExecEntry;
  as: MappedAs;
  /** Why this option (for the report). */
  why: string;
}

export type InitResult =
  | {
      kind: 'converted';
      text: string;
      /** The new exec line (the `cmd`), as LiteFS will read it before expansion. */
      line: string;
      mappings: Mapping[];
      /** Behaviour that changes beyond what the old block did: said before writing. */
      warnings: string[];
      notes: string[];
    }
  /** `line`: the supervisor's exec line as it stands. */
  | { kind: 'already'; why: string; line: string }
  | { kind: 'refused'; problems: string[] };

/** The comment init puts above the new exec entry (the old block's comments follow it). */
export const HEADER =
  '# litefs-supervisor runs what the exec entries ran, each where it is safe (litefs-supervisor init)';

/** The supervisor's program on the new line (installed on PATH: docs/epic-stack.md). */
export const SUPERVISOR_PROGRAM = 'litefs-supervisor';

// Commands that write the database: migration tools, seeds, and the sqlite3 CLI run on a db
// file (the seed incident's WAL pragma). They run where the lease is, and only there.
const MIGRATION_LIKE = [
  /migrat/i,
  /\bprisma\s+db\s+(push|seed|execute)\b/,
  /\bseed\b/i,
  /\bsqlite3\b/,
  /\bPRAGMA\b/i,
  /\blitefs\s+import\b/,
];

/** Does this command look like it writes the database (a migration, a seed, the sqlite3 CLI)? */
export function looksLikeMigration(cmd: string): boolean {
  return MIGRATION_LIKE.some((re) => re.test(cmd));
}

// yaml.v3 reads these as booleans for a bool field, besides true/false.
const TRUE_WORDS = new Set([
  'true',
  'True',
  'TRUE',
  'y',
  'Y',
  'yes',
  'Yes',
  'YES',
  'on',
  'On',
  'ON',
]);
const FALSE_WORDS = new Set([
  'false',
  'False',
  'FALSE',
  'n',
  'N',
  'no',
  'No',
  'NO',
  'off',
  'Off',
  'OFF',
]);

type BoolRead = { kind: 'bool'; value: boolean } | { kind: 'env' } | { kind: 'other' };

function readBool(node: Node | null | undefined): BoolRead {
  if (!node || !isScalar(node)) return { kind: 'other' };
  const v = node.value;
  if (typeof v === 'boolean') return { kind: 'bool', value: v };
  if (typeof v === 'string') {
    if (TRUE_WORDS.has(v)) return { kind: 'bool', value: true };
    if (FALSE_WORDS.has(v)) return { kind: 'bool', value: false };
    if (v.includes('$')) return { kind: 'env' };
  }
  return { kind: 'other' };
}

function show(cmd: string): string {
  return `\`${cmd.replace(/\s*\n\s*/g, ' ')}\``;
}

/** How a person names entry `e` in a message. */
export function entryName(e: ExecEntry): string {
  return `exec entry ${e.n} ${show(e.cmd)}${e.ifCandidate ? ' (if-candidate)' : ''}`;
}

interface Located {
  entries: ExecEntry[];
  /** The exec value's node: its range is what gets replaced. */
  node: Node;
}

/** The exec entries as LiteFS reads them, or what LiteFS itself would refuse. */
function readExec(doc: Document, text: string, problems: string[]): Located | undefined {
  const node = doc.get('exec', true) as Node | null | undefined;
  if (node === undefined || node === null || (isScalar(node) && node.value === null)) {
    problems.push(
      'litefs.yml has no exec entry: there is no app to run after `--` (add the exec block LiteFS runs today first)',
    );
    return undefined;
  }
  const cmdOf = (scalar: Node, n: number): string | undefined => {
    if (!isScalar(scalar) || scalar.value === null || typeof scalar.value === 'object') {
      problems.push(`exec entry ${n}: its cmd is not text`);
      return undefined;
    }
    const value = String(scalar.value);
    // The `$` LiteFS expands are those in the file's text; a YAML escape could make one here
    // that LiteFS never sees (or hide one).
    const range = scalar.range;
    const source = range ? text.slice(range[0], range[1]) : value;
    const count = (s: string) => scanLitefsRefs(s).length;
    if (count(source) !== count(value)) {
      problems.push(
        `exec entry ${n} ${show(value)}: its \`$\` characters differ between the file's text and the YAML value (a YAML escape?); write them plainly`,
      );
      return undefined;
    }
    return value;
  };
  if (isScalar(node)) {
    const cmd = cmdOf(node, 1);
    return cmd === undefined ? undefined : { entries: [{ n: 1, cmd, ifCandidate: false }], node };
  }
  if (!isSeq(node)) {
    problems.push('exec is neither a command nor a list of `- cmd:` entries: LiteFS refuses it');
    return undefined;
  }
  const entries: ExecEntry[] = [];
  for (const [i, item] of node.items.entries()) {
    const n = i + 1;
    if (!isMap(item)) {
      problems.push(`exec entry ${n} is not a \`cmd:\` mapping: LiteFS refuses it`);
      continue;
    }
    let cmd: string | undefined;
    let ifCandidate = false;
    for (const pair of item.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      if (key === 'cmd') {
        cmd = cmdOf(pair.value as Node, n);
      } else if (key === 'if-candidate') {
        const b = readBool(pair.value as Node);
        if (b.kind === 'bool') ifCandidate = b.value;
        else
          problems.push(
            `exec entry ${n}: if-candidate is ${b.kind === 'env' ? 'set from the environment' : 'not true or false'}; write true or false`,
          );
      } else {
        problems.push(`exec entry ${n}: unknown key ${JSON.stringify(key)} (LiteFS refuses it)`);
      }
    }
    if (cmd === undefined) {
      if (!problems.some((p) => p.startsWith(`exec entry ${n}`))) {
        problems.push(`exec entry ${n} has no cmd`);
      }
      continue;
    }
    entries.push({ n, cmd, ifCandidate });
  }
  return { entries, node };
}

/** Every comment token of the text, with its offset (from yaml's CST). */
function commentsOf(text: string): { offset: number; source: string }[] {
  const found: { offset: number; source: string }[] = [];
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) {
      for (const v of x) walk(v);
    } else if (x !== null && typeof x === 'object') {
      const t = x as { type?: unknown; offset?: unknown; source?: unknown };
      if (t.type === 'comment' && typeof t.offset === 'number' && typeof t.source === 'string') {
        found.push({ offset: t.offset, source: t.source });
      }
      for (const v of Object.values(x)) if (v !== null && typeof v === 'object') walk(v);
    }
  };
  for (const token of new Parser().parse(text)) walk(token);
  return found.sort((a, b) => a.offset - b.offset);
}

function lineStart(text: string, at: number): number {
  return text.lastIndexOf('\n', at - 1) + 1;
}

/** The argv LiteFS gives a command after expansion with `env` (for the round-trip check). */
function argvOf(cmd: string, env: (name: string) => string): string[] | undefined {
  const r = shellwords(expandLitefsEnv(cmd, env));
  return r.ok && r.rest === '' ? r.args : undefined;
}

/** Converts litefs.yml's text (as written, before `${...}` expansion). */
export function convertLitefsYml(text: string): InitResult {
  const problems: string[] = [];
  const doc = parseDocument(text, { prettyErrors: false });
  const yamlError = doc.errors[0];
  if (yamlError) {
    return { kind: 'refused', problems: [`not valid YAML as written: ${yamlError.message}`] };
  }
  if (!isMap(doc.contents)) {
    return { kind: 'refused', problems: ['expected a mapping at the top level'] };
  }
  const lease = doc.get('lease', true);
  const promoteNode = isMap(lease) ? (lease.get('promote', true) as Node | undefined) : undefined;
  const promote = readBool(promoteNode);
  if (promoteNode && promote.kind === 'other') {
    problems.push('lease.promote is not true or false');
  }
  const promoting = promote.kind === 'env' || (promote.kind === 'bool' && promote.value);
  const proxy = doc.get('proxy', true);
  const proxyDb = isMap(proxy) ? proxy.get('db') : undefined;
  const delay = reconnectDelayChange(doc, text);
  if (delay.kind === 'problem') problems.push(delay.problem);
  const delayNotes = delay.kind === 'edit' ? [delay.note] : [];

  const located = readExec(doc, text, problems);
  if (!located) return { kind: 'refused', problems };
  const { entries } = located;
  if (problems.length > 0) return { kind: 'refused', problems };

  // Already converted: one entry, the supervisor's, and LiteFS does not promote.
  const ours = entries.filter((e) => runsLitefsSupervisor(e.cmd));
  if (ours.length > 0) {
    const [only] = entries;
    if (entries.length > 1) {
      return {
        kind: 'refused',
        problems: [
          `exec runs litefs-supervisor beside ${entries.length - 1} other entr${entries.length === 2 ? 'y' : 'ies'} (${entries
            .filter((e) => !runsLitefsSupervisor(e.cmd))
            .map(entryName)
            .join('; ')}): give those to the supervisor as --setup, --migrate or --before by hand`,
        ],
      };
    }
    if (!promoting && delay.kind !== 'edit') {
      return {
        kind: 'already',
        why: 'exec has one entry, litefs-supervisor, and lease.promote is not true',
        line: only?.cmd ?? '',
      };
    }
    const split = shellwords(only?.cmd ?? '');
    if (promoting && (!split.ok || !split.args.includes('--promote'))) {
      return {
        kind: 'refused',
        problems: [
          'exec already runs litefs-supervisor, but lease.promote is true and the line has no --promote: set promote: false under lease: and add --promote to the line',
        ],
      };
    }
  }

  const edits: { start: number; end: number; text: string }[] = [];
  if (promoting && promoteNode?.range) {
    edits.push({ start: promoteNode.range[0], end: promoteNode.range[1], text: 'false' });
  }
  if (delay.kind === 'edit') edits.push(delay.edit);
  if (ours.length > 0) {
    const done = finish(
      text,
      edits,
      [],
      [],
      [
        ...(promoting ? ['lease.promote: true -> false (the line already has --promote)'] : []),
        ...delayNotes,
      ],
    );
    const broken =
      delay.kind === 'edit' && done.kind === 'converted'
        ? checkReconnectDelay(done.text)
        : undefined;
    if (broken) return { kind: 'refused', problems: [`internal: ${broken}`] };
    if (done.kind === 'converted') done.line = ours[0]?.cmd ?? '';
    return done;
  }

  // Split every entry as LiteFS does; refuse what LiteFS would mangle, naming the entry.
  const words = new Map<ExecEntry, Word[]>();
  for (const e of entries) {
    const r = splitExecCommand(e.cmd);
    if (r.ok && r.words.length === 0) problems.push(`${entryName(e)} is empty`);
    else if (r.ok) words.set(e, r.words);
    else problems.push(`${entryName(e)}: ${r.problem}`);
  }
  const app = entries.at(-1) as ExecEntry;
  if (app.ifCandidate) {
    problems.push(
      `${entryName(app)} is the last entry, the app, and runs on candidates only today; the supervisor runs the app on every node (replicas serve reads): remove if-candidate from it first if that is what you want`,
    );
  }
  if (proxyDb === undefined || proxyDb === null || proxyDb === '') {
    problems.push(
      'litefs.yml has no proxy.db, where the supervisor takes its --db from: add proxy.db (the database your app opens), then run init again',
    );
  }
  if (problems.length > 0) return { kind: 'refused', problems };

  // Classify: what writes the database runs on the primary (--migrate); the rest keeps its
  // place relative to the migrations: before them --setup, after them --before.
  const others = entries.slice(0, -1);
  const isMigration = (e: ExecEntry) => e.ifCandidate || looksLikeMigration(e.cmd);
  const firstMigration = others.findIndex(isMigration);
  const lastMigration = others.length - 1 - [...others].reverse().findIndex(isMigration);
  const mappings: Mapping[] = [];
  const warnings: string[] = [];
  for (const [i, e] of others.entries()) {
    if (isMigration(e)) {
      if (e.ifCandidate && !looksLikeMigration(e.cmd)) {
        warnings.push(
          `${entryName(e)} does not look like a migration, but if-candidate made it one: it now runs on the primary only (after its checks), no longer on every candidate. If every node needs it, make it a --setup by hand`,
        );
      }
      mappings.push({
        entry: e,
        as: 'migrate',
        why: e.ifCandidate
          ? 'if-candidate ran it on every candidate; now on the primary only, re-confirmed right before it runs'
          : 'it writes the database: it ran on every node (and failed on replicas: read only replica); now on the primary only',
      });
    } else if (firstMigration === -1 || i < firstMigration) {
      mappings.push({
        entry: e,
        as: 'setup',
        why:
          firstMigration === -1
            ? 'every node, first, as it ran'
            : 'every node, before the migrations, as it ran',
      });
    } else if (i > lastMigration) {
      mappings.push({
        entry: e,
        as: 'before',
        why: 'every node, after the migrations, before the app, as it ran',
      });
    } else {
      problems.push(
        `${entryName(e)} runs on every node between two migrations; the supervisor runs every --migrate in a row (primary only), and every-node commands before them (--setup) or after them (--before): move it before or after the migrations in litefs.yml first`,
      );
    }
  }
  mappings.push({ entry: app, as: 'app', why: 'the app, after `--`, without a shell, as it ran' });
  if (problems.length > 0) return { kind: 'refused', problems };

  // The supervisor's line: --setup, --migrate, --before in that order, each in its old order.
  const lines: Piece[][] = [[{ lit: SUPERVISOR_PROGRAM + (promoting ? ' --promote' : '') }]];
  const commandText = new Map<Mapping, Piece[]>();
  for (const as of ['setup', 'migrate', 'before'] as const) {
    for (const m of mappings.filter((x) => x.as === as)) {
      const sh = shellCommand(words.get(m.entry) ?? []);
      commandText.set(m, sh);
      const value = shellwordsWord(sh);
      // A value that starts with `-` would read as an option: write it --opt=VALUE.
      const dashed = /^'?-/.test(toText(sh));
      lines.push([{ lit: `--${as}${dashed ? '=' : ' '}` }, ...value]);
    }
  }
  lines.push([{ lit: '-- ' }, ...appWords(words.get(app) ?? [])]);

  // The new exec value, spliced over the old one; the old block's comments above the entry.
  const node = located.node;
  const range = node.range;
  if (!range) return { kind: 'refused', problems: ['internal: the exec block has no range'] };
  let start = range[0];
  let end = range[1];
  while (end > start && /\s/.test(text[end - 1] ?? '')) end--;
  const comments = commentsOf(text).filter((c) => c.offset >= start && c.offset < end);
  const prefix = text.slice(lineStart(text, start), start);
  const execKey = (doc.contents.items.find((p) => isScalar(p.key) && p.key.value === 'exec')?.key ??
    null) as Node | null;
  const keyCol = execKey?.range ? execKey.range[0] - lineStart(text, execKey.range[0]) : 0;
  let indent: string;
  let lead: string;
  if (/^[ ]*$/.test(prefix) && isSeq(node)) {
    indent = prefix;
    lead = '';
  } else {
    // `exec: npm start`, or a flow list: the new block starts on the next line.
    while (start > 0 && (text[start - 1] === ' ' || text[start - 1] === '\t')) start--;
    indent = ' '.repeat(keyCol + 2);
    lead = `\n${indent}`;
  }
  const body = `${indent}    `;
  const lineTexts = lines.map(toText);
  const needsQuotes = lineTexts.some((l) => /[\u0000-\u0008\u000a-\u001f\u007f]/.test(l));
  const cmdYaml = needsQuotes
    ? yamlDoubleQuoted(lines.flatMap((l, i) => (i === 0 ? l : [{ lit: ' ' }, ...l])))
    : `>-\n${lineTexts.map((l) => body + l).join('\n')}`;
  const out = [HEADER, ...comments.map((c) => c.source)];
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const replacement = `${lead}${out.join(`\n${indent}`)}\n${indent}- cmd: ${cmdYaml}`.replace(
    /\n/g,
    eol,
  );
  edits.push({ start, end, text: replacement });
  const line = lineTexts.join(' ');

  // Round trip, with every referenced variable set to a value of its own: LiteFS's expansion,
  // the YAML, go-shellwords and the supervisor's own parser give back each command and the app.
  const notes = notesFor(mappings, promote, proxyDb, delayNotes);
  const result = finish(text, edits, mappings, warnings, notes);
  if (result.kind === 'converted') {
    const broken =
      roundTrip(result.text, mappings, words, commandText) ??
      (delay.kind === 'edit' ? checkReconnectDelay(result.text) : undefined);
    if (broken) return { kind: 'refused', problems: [`internal: ${broken}`] };
    result.line = line;
  }
  return result;
}

function notesFor(
  mappings: Mapping[],
  promote: BoolRead,
  proxyDb: unknown,
  leaseNotes: string[],
): string[] {
  const notes: string[] = [];
  if (promote.kind === 'bool' && promote.value) {
    notes.push(
      'lease.promote: true -> false, and --promote: a candidate asks for the lease only once synced and not behind (S5)',
    );
  } else if (promote.kind === 'env') {
    notes.push(
      'lease.promote came from the environment -> false, and --promote (it asks only on candidates, once synced)',
    );
  }
  notes.push(...leaseNotes);
  for (const m of mappings) {
    notes.push(
      `${entryName(m.entry)} -> ${m.as === 'app' ? '-- (the app)' : `--${m.as}`}: ${m.why}`,
    );
  }
  notes.push(
    `--db is not given: it defaults to litefs.yml proxy.db (${String(proxyDb)}) at run time. A migration that writes another database (a cache db) does not gate on it; add --db for each one that must`,
  );
  return notes;
}

/** A YAML double-quoted scalar whose references stay verbatim (LiteFS expands them first). */
function yamlDoubleQuoted(pieces: Piece[]): string {
  const inner = pieces
    .map((p) =>
      'ref' in p
        ? p.ref
        : JSON.stringify(p.lit)
            .slice(1, -1)
            .replace(/\u2028/g, '\\L')
            .replace(/\u2029/g, '\\P'),
    )
    .join('');
  return `"${inner}"`;
}

function finish(
  text: string,
  edits: { start: number; end: number; text: string }[],
  mappings: Mapping[],
  warnings: string[],
  notes: string[],
): InitResult {
  let out = text;
  for (const e of [...edits].sort((a, b) => b.start - a.start)) {
    out = out.slice(0, e.start) + e.text + out.slice(e.end);
  }
  return { kind: 'converted', text: out, line: '', mappings, warnings, notes };
}

/** undefined when the new file gives back every command and the app; else what differs. */
function roundTrip(
  newText: string,
  mappings: Mapping[],
  words: Map<ExecEntry, Word[]>,
  commandText: Map<Mapping, Piece[]>,
): string | undefined {
  const names = new Map<string, string>();
  const env = (name: string) => {
    let v = names.get(name);
    if (v === undefined) {
      v = `v${names.size}/x`;
      names.set(name, v);
    }
    return v;
  };
  const doc = parseDocument(expandLitefsEnv(newText, env), { prettyErrors: false });
  if (doc.errors.length > 0) return `the new file is not valid YAML: ${doc.errors[0]?.message}`;
  const exec = doc.toJS() as { exec?: { cmd?: unknown }[] };
  const cmd = exec.exec?.[0]?.cmd;
  if (typeof cmd !== 'string' || exec.exec?.length !== 1)
    return 'the new exec block is not one entry';
  const split = shellwords(cmd);
  const argv = split.ok && split.rest === '' ? split.args : undefined;
  if (!argv || !isSupervisorProgram(argv[0] ?? '')) return `the new line does not split: ${cmd}`;
  const parsed = parseArgs(argv.slice(1));
  if (!parsed.ok || parsed.command !== 'run') {
    return `the supervisor refuses the new line: ${parsed.ok ? parsed.command : parsed.errors.map((e) => e.message).join('; ')}`;
  }
  for (const as of ['setup', 'migrate', 'before'] as const) {
    const want = mappings
      .filter((m) => m.as === as)
      .map((m) => expandLitefsEnv(toText(commandText.get(m) ?? []), env));
    const got = parsed.options[as] ?? [];
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      return `--${as} would be ${JSON.stringify(got)}, not ${JSON.stringify(want)}`;
    }
  }
  const app = mappings.find((m) => m.as === 'app');
  const wantApp = app ? argvOf(app.entry.cmd, env) : undefined;
  if (JSON.stringify(parsed.app) !== JSON.stringify(wantApp)) {
    return `the app would be ${JSON.stringify(parsed.app)}, not ${JSON.stringify(wantApp)} (${showWords(words.get(app?.entry as ExecEntry) ?? [])})`;
  }
  return undefined;
}
