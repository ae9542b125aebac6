// A minimal TOML reader for fly.example.toml (no new dependency for one test file). It reads the
// subset fly.toml files use: comments, `[table]` and `[[array.of.tables]]` headers, bare, quoted
// and dotted keys, basic and literal strings, integers (with `_`), floats, booleans, arrays
// (across lines) and inline tables. Anything else (multi-line strings, dates) is an error, so a
// construct it does not know fails the test instead of being misread.

export type TomlValue = string | number | boolean | TomlValue[] | TomlTable;
export interface TomlTable {
  [key: string]: TomlValue;
}

class Reader {
  pos = 0;
  /** Tables opened by a header or given as an inline table: they cannot be opened again. */
  readonly closed = new Set<TomlTable>();

  constructor(readonly text: string) {}

  fail(message: string): never {
    const line = this.text.slice(0, this.pos).split('\n').length;
    throw new Error(`TOML line ${line}: ${message}`);
  }

  peek(n = 0): string {
    return this.text[this.pos + n] ?? '';
  }

  /** Skips blanks and comments on this line. */
  skipInline(): void {
    for (;;) {
      const c = this.peek();
      if (c === ' ' || c === '\t') this.pos++;
      else if (c === '#') {
        while (this.pos < this.text.length && this.peek() !== '\n') this.pos++;
      } else return;
    }
  }

  /** Skips blanks, comments and newlines. */
  skipAll(): void {
    for (;;) {
      this.skipInline();
      const c = this.peek();
      if (c === '\n' || c === '\r') this.pos++;
      else return;
    }
  }

  endOfLine(): void {
    this.skipInline();
    if (this.peek() === '\r') this.pos++;
    if (this.pos < this.text.length && this.peek() !== '\n') {
      this.fail(`unexpected ${JSON.stringify(this.peek())} after a value`);
    }
  }

  key(): string[] {
    const parts: string[] = [];
    for (;;) {
      this.skipInline();
      const c = this.peek();
      if (c === '"' || c === "'") {
        if (this.peek(1) === c && this.peek(2) === c) this.fail('multi-line strings are not keys');
        parts.push(this.string());
      } else {
        const m = /^[A-Za-z0-9_-]+/.exec(this.text.slice(this.pos));
        if (!m) this.fail(`expected a key, found ${JSON.stringify(c)}`);
        parts.push(m[0]);
        this.pos += m[0].length;
      }
      this.skipInline();
      if (this.peek() !== '.') return parts;
      this.pos++;
    }
  }

  string(): string {
    const quote = this.peek();
    if (this.peek(1) === quote && this.peek(2) === quote) {
      this.fail('multi-line strings are not supported');
    }
    this.pos++;
    let out = '';
    for (;;) {
      const c = this.peek();
      if (c === '' || c === '\n') this.fail('unterminated string');
      this.pos++;
      if (c === quote) return out;
      if (c === '\\' && quote === '"') {
        const e = this.peek();
        this.pos++;
        const simple: Record<string, string> = {
          b: '\b',
          t: '\t',
          n: '\n',
          f: '\f',
          r: '\r',
          '"': '"',
          '\\': '\\',
        };
        if (e in simple) out += simple[e];
        else if (e === 'u' || e === 'U') {
          const len = e === 'u' ? 4 : 8;
          const hex = this.text.slice(this.pos, this.pos + len);
          if (!/^[0-9A-Fa-f]+$/.test(hex) || hex.length !== len) this.fail('bad \\u escape');
          out += String.fromCodePoint(Number.parseInt(hex, 16));
          this.pos += len;
        } else this.fail(`bad escape \\${e}`);
      } else out += c;
    }
  }

  value(): TomlValue {
    const c = this.peek();
    if (c === '"' || c === "'") return this.string();
    if (c === '[') {
      this.pos++;
      const items: TomlValue[] = [];
      for (;;) {
        this.skipAll();
        if (this.peek() === ']') {
          this.pos++;
          return items;
        }
        items.push(this.value());
        this.skipAll();
        if (this.peek() === ',') this.pos++;
        else if (this.peek() !== ']') this.fail('expected , or ] in an array');
      }
    }
    if (c === '{') {
      this.pos++;
      const table: TomlTable = {};
      this.skipInline();
      if (this.peek() === '}') {
        this.pos++;
        this.closed.add(table);
        return table;
      }
      for (;;) {
        this.assign(table);
        this.skipInline();
        if (this.peek() === ',') this.pos++;
        else if (this.peek() === '}') {
          this.pos++;
          this.closed.add(table);
          return table;
        } else this.fail('expected , or } in an inline table');
      }
    }
    const m = /^[^\s,\]}#]+/.exec(this.text.slice(this.pos));
    if (!m) this.fail(`expected a value, found ${JSON.stringify(c)}`);
    const word = m[0];
    this.pos += word.length;
    if (word === 'true') return true;
    if (word === 'false') return false;
    if (/^[+-]?(0|[1-9](_?\d)*)$/.test(word)) return Number(word.replace(/_/g, ''));
    if (/^[+-]?(0|[1-9](_?\d)*)(\.\d(_?\d)*)?([eE][+-]?\d(_?\d)*)?$/.test(word)) {
      return Number(word.replace(/_/g, ''));
    }
    return this.fail(`unsupported value ${JSON.stringify(word)}`);
  }

  /** `key = value` into `table` (dotted keys create sub-tables). */
  assign(table: TomlTable): void {
    const keys = this.key();
    if (this.peek() !== '=') this.fail(`expected = after ${keys.join('.')}`);
    this.pos++;
    this.skipInline();
    const value = this.value();
    const target = this.descend(table, keys.slice(0, -1), false);
    const last = keys.at(-1) as string;
    if (last in target) this.fail(`${keys.join('.')} is defined twice`);
    target[last] = value;
  }

  /** The table at `path` below `table`, created as needed; arrays of tables give their last. */
  descend(table: TomlTable, path: string[], header: boolean): TomlTable {
    let t = table;
    for (const k of path) {
      let next = t[k];
      if (next === undefined) {
        next = {};
        t[k] = next;
      }
      if (Array.isArray(next)) {
        const lastItem = next.at(-1);
        if (!header || typeof lastItem !== 'object' || Array.isArray(lastItem)) {
          this.fail(`${path.join('.')} is an array`);
        }
        next = lastItem;
      }
      if (typeof next !== 'object' || Array.isArray(next)) this.fail(`${k} is not a table`);
      t = next;
    }
    return t;
  }

  document(): TomlTable {
    const root: TomlTable = {};
    let current = root;
    for (;;) {
      this.skipAll();
      if (this.pos >= this.text.length) return root;
      if (this.peek() === '[') {
        const array = this.peek(1) === '[';
        this.pos += array ? 2 : 1;
        const path = this.key();
        if (this.peek() !== ']' || (array && this.peek(1) !== ']')) this.fail('unclosed header');
        this.pos += array ? 2 : 1;
        this.endOfLine();
        const parent = this.descend(root, path.slice(0, -1), true);
        const last = path.at(-1) as string;
        if (array) {
          const existing = parent[last] ?? [];
          if (!Array.isArray(existing)) this.fail(`${path.join('.')} is not an array of tables`);
          current = {};
          existing.push(current);
          parent[last] = existing;
        } else {
          const existing = parent[last];
          if (existing === undefined) {
            current = {};
            parent[last] = current;
          } else if (typeof existing === 'object' && !Array.isArray(existing)) {
            if (this.closed.has(existing)) this.fail(`[${path.join('.')}] is defined twice`);
            current = existing;
          } else this.fail(`${path.join('.')} is not a table`);
        }
        this.closed.add(current);
        continue;
      }
      this.assign(current);
      this.endOfLine();
    }
  }
}

export function parseToml(text: string): TomlTable {
  return new Reader(text).document();
}
