// How LiteFS splits an `exec` command into argv: cmd/litefs/mount_linux.go execCmds calls
// shellwords.Parse(config.Cmd) from github.com/mattn/go-shellwords v1.0.12 (the version in
// LiteFS v0.5.11..v0.5.14 go.mod), with its defaults ParseEnv=false and ParseBacktick=false.
// A port of that function, quirks included, so the supervisor recognises its own exec line (and
// the tests split litefs.yml.example's exec line) exactly as LiteFS will:
// - no shell runs: `$VAR` is not expanded here (LiteFS already expanded `${VAR}` in the whole
//   file before parsing the YAML), globs are not expanded;
// - a backslash escapes any character outside single quotes, also inside double quotes;
// - an unquoted `;`, `&`, `|`, `<` or `>` ends the command: everything after it is DROPPED
//   without an error (`rest` reports it, so a test can refuse it);
// - an unclosed quote, a trailing backslash, or `(` not preceded by `$` is an error.

export type ShellwordsResult =
  | { ok: true; args: string[]; rest: string }
  | { ok: false; error: string };

/**
 * A word with, for each of its UTF-16 code units, whether it was read inside single or double
 * quotes (or escaped by a backslash): where whitespace would not have split it.
 */
export interface QuotedWord {
  text: string;
  quoted: boolean[];
}

export type ShellwordsDetailedResult =
  | { ok: true; args: QuotedWord[]; rest: string }
  | { ok: false; error: string };

export function shellwords(line: string): ShellwordsResult {
  const r = shellwordsDetailed(line);
  return r.ok ? { ok: true, args: r.args.map((a) => a.text), rest: r.rest } : r;
}

// go-shellwords' argType: no word yet, a word, a word that had quotes (kept even if empty).
const Got = { No: 0, Single: 1, Quoted: 2 } as const;

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

/** `shellwords`, telling for each character of each word whether it was quoted. */
export function shellwordsDetailed(line: string): ShellwordsDetailedResult {
  const args: QuotedWord[] = [];
  let buf = '';
  let bufQuoted: boolean[] = [];
  const add = (c: string, quoted: boolean) => {
    buf += c;
    for (let k = 0; k < c.length; k++) bufQuoted.push(quoted);
  };
  let escaped = false;
  let doubleQuoted = false;
  let singleQuoted = false;
  let backQuote = false;
  let dollarQuote = false;
  let got: (typeof Got)[keyof typeof Got] = Got.No;
  // Index (in code points) where parsing stopped at an operator; -1 when it read everything.
  let stoppedAt = -1;

  const chars = Array.from(line);
  for (let i = 0; i < chars.length; i++) {
    const r = chars[i] as string;
    if (escaped) {
      add(r, true);
      escaped = false;
      got = Got.Single;
      continue;
    }
    if (r === '\\') {
      if (singleQuoted) add(r, true);
      else escaped = true;
      continue;
    }
    if (isSpace(r)) {
      if (singleQuoted || doubleQuoted || backQuote || dollarQuote) {
        add(r, singleQuoted || doubleQuoted);
      } else if (got !== Got.No) {
        args.push({ text: buf, quoted: bufQuoted });
        buf = '';
        bufQuoted = [];
        got = Got.No;
      }
      continue;
    }
    switch (r) {
      case '`':
        // Without ParseBacktick the backquote toggles a state (spaces stay in the word) and
        // is kept as a character.
        if (!singleQuoted && !doubleQuoted && !dollarQuote) backQuote = !backQuote;
        break;
      case ')':
        // v1.0.12 toggles here even without an opening `$(` (fixed in v1.0.13); kept as is.
        if (!singleQuoted && !doubleQuoted && !backQuote) dollarQuote = !dollarQuote;
        break;
      case '(':
        if (!singleQuoted && !doubleQuoted && !backQuote) {
          if (!dollarQuote && buf.endsWith('$')) {
            dollarQuote = true;
            add('(', false);
            continue;
          }
          return { ok: false, error: 'invalid command line string' };
        }
        break;
      case '"':
        if (!singleQuoted && !dollarQuote) {
          if (doubleQuoted) got = Got.Quoted;
          doubleQuoted = !doubleQuoted;
          continue;
        }
        break;
      case "'":
        if (!doubleQuoted && !dollarQuote) {
          if (singleQuoted) got = Got.Quoted;
          singleQuoted = !singleQuoted;
          continue;
        }
        break;
      case ';':
      case '&':
      case '|':
      case '<':
      case '>':
        if (!(singleQuoted || doubleQuoted || backQuote || dollarQuote)) {
          // `2>file`: the digits before `>` are a file descriptor, not an argument.
          if (r === '>' && buf.length > 0 && buf[0]! >= '0' && buf[0]! <= '9') got = Got.No;
          stoppedAt = i;
          i = chars.length; // break out of the loop
          continue;
        }
        break;
    }
    got = Got.Single;
    add(r, singleQuoted || doubleQuoted);
  }

  if (got !== Got.No) args.push({ text: buf, quoted: bufQuoted });
  if (escaped || singleQuoted || doubleQuoted || backQuote || dollarQuote) {
    return { ok: false, error: 'invalid command line string' };
  }
  const rest = stoppedAt === -1 ? '' : chars.slice(stoppedAt).join('');
  return { ok: true, args, rest };
}
