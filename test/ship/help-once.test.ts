// One fact in one place: an option's help text lives in the option table (src/config/options/)
// and in what is generated from it (--help, docs/configuration.md's generated tables); no other
// doc or source restates it verbatim, where it would drift when the option changes.

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import t from 'tap';
import { OPTIONS } from '../../src/config/schema.js';
import { ROOT } from './example-config.js';

const SKIP_DIRS = new Set(['node_modules', 'dist', 'dist-testkit', '.git', '.tap', 'results']);
const TABLE = join('src', 'config', 'options');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return SKIP_DIRS.has(e.name) ? [] : files(p);
    return /\.(md|ts|mts|mjs|js|yml|toml)$/.test(e.name) ? [p] : [];
  });
}

/** The text of a file without what is generated from the table (docs/configuration.md's part). */
function ownText(path: string): string {
  const text = readFileSync(path, 'utf8');
  const start = text.indexOf('<!-- config-reference:start -->');
  const end = text.indexOf('<!-- config-reference:end -->');
  return start >= 0 && end > start ? text.slice(0, start) + text.slice(end) : text;
}

/** The sentences of a help text long enough to be a fact rather than a phrase. */
function sentences(help: string): string[] {
  return help.split(/(?<=[.:;])\s+/).filter((s) => s.length >= 40);
}

t.test('no option help sentence is restated outside the option table', async (t) => {
  const all = files(ROOT).map((p) => ({ path: relative(ROOT, p), text: ownText(p) }));
  const table = all.filter((f) => f.path.startsWith(TABLE));
  const others = all.filter((f) => !f.path.startsWith(TABLE));
  let checked = 0;
  for (const o of OPTIONS) {
    for (const sentence of sentences(o.help)) {
      checked += 1;
      // Guards against a walk that misses the table and passes for that reason.
      // (its first words: a template literal in the source escapes `${`.)
      if (!table.some((f) => f.text.includes(sentence.slice(0, 24)))) {
        t.fail(`--${o.name}: the table's files do not contain its help sentence "${sentence}"`);
      }
      const copies = others.filter((f) => f.text.includes(sentence)).map((f) => f.path);
      t.same(copies, [], `--${o.name}: "${sentence.slice(0, 60)}..."`);
    }
  }
  t.ok(checked > 40, `${checked} sentences checked`);
});
