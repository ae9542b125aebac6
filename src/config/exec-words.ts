// An exec command of litefs.yml as LiteFS turns it into argv, and the text that gives the same
// argv back once it is a --setup/--migrate/--before command or the app of the supervisor's
// one exec line (`litefs-supervisor init`, docs/deploying.md "Moving an exec block").
//
// LiteFS's chain (docs/litefs-facts.md; cmd/litefs/config.go, mount_linux.go): `${...}` and `$NAME`
// are expanded in the raw file text, then the YAML is read, then each `cmd` is split by
// go-shellwords (shellwords.ts) and run without a shell. The supervisor's line goes through the
// same chain, and its --setup/--migrate/--before values then through `/bin/sh -c`.
//
// A reference is kept as written, never expanded here: nothing from the environment `init`
// runs in may end up in the file. So text is a list of pieces: literal text, quoted as each
// layer needs, and references, copied verbatim into every layer (LiteFS replaces them before
// any quote is read). A reference that was unquoted stays unquoted in every layer (its value is
// split on whitespace as before), one that was inside quotes stays inside quotes. This is exact
// for values without quotes, backslashes or shell operators: LiteFS substitutes a value into the
// text before any quoting is read, in the old chain as in the new one.

import { scanLitefsRefs } from './litefs-yml.js';
import { shellwordsDetailed } from './shellwords.js';

/** Literal text, or a `$NAME` / `${...}` reference exactly as written in litefs.yml. */
export type Piece = { lit: string } | { ref: string; quoted: boolean };

/** One argv word of the old command: pieces whose concatenation LiteFS passed as one argument. */
export type Word = Piece[];

export type SplitResult = { ok: true; words: Word[] } | { ok: false; problem: string };

/** Private-use characters stand for references while the command is split (none in real text). */
const PLACEHOLDER_BASE = 0xe000;
const PLACEHOLDER_MAX = 0xf8ff;

/**
 * The argv LiteFS gives an exec `cmd` (its value as YAML reads it, before `$` expansion), or why
 * LiteFS would mangle it: an unquoted `;`, `&`, `|`, `<` or `>` (go-shellwords silently drops the
 * rest), a `$` that starts no reference (kept as `$` or eaten), a shell special like `$1`, a
 * backquote or parenthesis outside quotes (no command substitution happens), a split error.
 */
export function splitExecCommand(cmd: string): SplitResult {
  for (const ch of cmd) {
    const c = ch.codePointAt(0) ?? 0;
    if (c >= PLACEHOLDER_BASE && c <= PLACEHOLDER_MAX) {
      return { ok: false, problem: 'it contains a private-use character' };
    }
  }
  const refs = scanLitefsRefs(cmd);
  if (refs.length > PLACEHOLDER_MAX - PLACEHOLDER_BASE) {
    return { ok: false, problem: 'it has too many references' };
  }
  let text = '';
  let at = 0;
  for (const [i, ref] of refs.entries()) {
    const raw = cmd.slice(ref.start, ref.end);
    if (ref.kind === 'lone') {
      return {
        ok: false,
        problem: `a lone \`$\` at ${JSON.stringify(cmd.slice(ref.start, ref.start + 3))}: LiteFS expands \`$\` in the whole file and keeps this one as a character (no shell sees it, so \`$(...)\` or \`$?\` do nothing)`,
      };
    }
    if (ref.kind === 'bad') {
      return { ok: false, problem: `\`${raw}\`: LiteFS drops it (an empty or unclosed \`\${\`)` };
    }
    if (ref.kind === 'special') {
      return {
        ok: false,
        problem: `\`${raw}\`: LiteFS reads it as the environment variable ${JSON.stringify(ref.name)} (no shell sees it: it is not a positional parameter)`,
      };
    }
    text += cmd.slice(at, ref.start) + String.fromCodePoint(PLACEHOLDER_BASE + i);
    at = ref.end;
  }
  text += cmd.slice(at);

  const split = shellwordsDetailed(text);
  if (!split.ok) {
    return {
      ok: false,
      problem: `LiteFS cannot split it (${split.error}: an unclosed quote, a trailing backslash or a \`(\`)`,
    };
  }
  if (split.rest !== '') {
    const op = split.rest.slice(0, split.rest[1] === split.rest[0] ? 2 : 1);
    return {
      ok: false,
      problem: `an unquoted \`${op}\`: LiteFS runs no shell, and its parser silently drops everything from there on (${JSON.stringify(restore(split.rest, refs, cmd))})`,
    };
  }
  const words: Word[] = [];
  for (const arg of split.args) {
    const word: Word = [];
    let lit = '';
    for (let k = 0; k < arg.text.length; k++) {
      const ch = arg.text[k] as string;
      const code = ch.charCodeAt(0);
      const quoted = arg.quoted[k] ?? false;
      if (!quoted && (ch === '`' || ch === '(' || ch === ')')) {
        return {
          ok: false,
          problem: `an unquoted \`${ch}\`: LiteFS's parser keeps it as a character (no command substitution happens; a \`)\` also changes how the rest is split)`,
        };
      }
      if (code >= PLACEHOLDER_BASE && code <= PLACEHOLDER_MAX) {
        const ref = refs[code - PLACEHOLDER_BASE];
        if (!ref) return { ok: false, problem: 'internal: unknown reference' };
        if (lit !== '') word.push({ lit });
        lit = '';
        word.push({ ref: cmd.slice(ref.start, ref.end), quoted });
      } else {
        lit += ch;
      }
    }
    if (lit !== '' || word.length === 0) word.push({ lit });
    words.push(word);
  }
  return { ok: true, words };
}

function restore(text: string, refs: ReturnType<typeof scanLitefsRefs>, cmd: string): string {
  let out = '';
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0;
    const ref =
      c >= PLACEHOLDER_BASE && c <= PLACEHOLDER_MAX ? refs[c - PLACEHOLDER_BASE] : undefined;
    out += ref ? cmd.slice(ref.start, ref.end) : ch;
  }
  return out;
}

/** A word with no reference: its text. */
export function literalOf(word: Word): string | undefined {
  let out = '';
  for (const p of word) {
    if ('ref' in p) return undefined;
    out += p.lit;
  }
  return out;
}

/** The words as a person reads them: references as written, quoted only where needed. */
export function showWords(words: Word[]): string {
  return toText(shellCommand(words));
}

/** The pieces as file text: references verbatim. */
export function toText(pieces: Piece[]): string {
  return pieces.map((p) => ('ref' in p ? p.ref : p.lit)).join('');
}

// Characters that need no quoting in sh, nor in go-shellwords.
const BARE = /^[A-Za-z0-9_@%+=:,./-]+$/;
// A first word sh would not run as a program: an assignment, or a reserved word.
const SH_ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;
const SH_RESERVED = /^(case|do|done|elif|else|esac|fi|for|if|in|then|until|while)$/;
const NAME_CHAR = /^[A-Za-z0-9_]/;

/**
 * References written so that the text after them cannot join their name: `$X` followed by a name
 * character becomes `${X}` (LiteFS reads the same variable).
 */
function guarded(pieces: Piece[]): Piece[] {
  const out: Piece[] = [];
  for (const [i, p] of pieces.entries()) {
    if ('ref' in p && !p.ref.startsWith('${')) {
      const next = pieces[i + 1];
      const nextText = next === undefined ? '' : 'ref' in next ? next.ref : next.lit;
      if (NAME_CHAR.test(nextText)) {
        out.push({ ...p, ref: `\${${p.ref.slice(1)}}` });
        continue;
      }
    }
    out.push(p);
  }
  return out;
}

/** Joins adjacent literal pieces. */
function merged(pieces: Piece[]): Piece[] {
  const out: Piece[] = [];
  for (const p of pieces) {
    const last = out.at(-1);
    if (last && 'lit' in last && 'lit' in p) out[out.length - 1] = { lit: last.lit + p.lit };
    else if (!('lit' in p) || p.lit !== '') out.push(p);
  }
  return out;
}

/**
 * The old words as one `/bin/sh -c` command whose argv is the same: literal text bare when safe,
 * else in single quotes; an unquoted reference bare (split on whitespace, as go-shellwords did),
 * a quoted one inside single quotes.
 */
export function shellCommand(words: Word[]): Piece[] {
  const out: Piece[] = [];
  for (const [w, word] of words.entries()) {
    if (w > 0) out.push({ lit: ' ' });
    if (word.every((p) => 'lit' in p && p.lit === '')) {
      out.push({ lit: "''" });
      continue;
    }
    // Runs of pieces that need quotes share one pair of single quotes.
    let open = false;
    for (const p of word) {
      // go-shellwords passed the first word on as the program, whatever it looks like.
      const first =
        w === 0 &&
        p === word[0] &&
        'lit' in p &&
        (SH_ASSIGNMENT.test(p.lit) || (word.length === 1 && SH_RESERVED.test(p.lit)));
      const quote = 'ref' in p ? p.quoted : first || !BARE.test(p.lit);
      if ('lit' in p && p.lit === '') continue;
      if (quote !== open) {
        out.push({ lit: "'" });
        open = quote;
      }
      out.push('ref' in p ? p : { lit: open ? p.lit.replaceAll("'", `'\\''`) : p.lit });
    }
    if (open) out.push({ lit: "'" });
  }
  return merged(guarded(out));
}

/**
 * Pieces as one go-shellwords word: bare when it is safe literal text only, else in double
 * quotes (inside which go-shellwords lets a backslash escape any character: `"` and `\` are
 * escaped), so that a reference's value is never split here. References stay verbatim.
 */
export function shellwordsWord(pieces: Piece[]): Piece[] {
  const bare = pieces.every((p) => 'lit' in p && BARE.test(p.lit));
  if (bare && pieces.length > 0) return merged(guarded(pieces));
  const inner = pieces.map((p) => ('ref' in p ? p : { lit: p.lit.replace(/["\\]/g, '\\$&') }));
  return merged(guarded([{ lit: '"' }, ...inner, { lit: '"' }]));
}

/**
 * The app's words for after `--` in the supervisor's line: each word alone, so that go-shellwords
 * gives back the same argv; an unquoted reference stays outside quotes (split as before).
 */
export function appWords(words: Word[]): Piece[] {
  const out: Piece[] = [];
  for (const [w, word] of words.entries()) {
    if (w > 0) out.push({ lit: ' ' });
    if (word.every((p) => 'lit' in p && p.lit === '')) {
      out.push({ lit: '""' });
      continue;
    }
    for (const p of word) {
      if ('ref' in p) out.push(...(p.quoted ? shellwordsWord([p]) : [p]));
      else if (p.lit !== '') out.push(...shellwordsWord([p]));
    }
  }
  return merged(guarded(out));
}
