#!/usr/bin/env node
// Writes the option reference in docs/configuration.md (between the config-reference markers)
// from the one option table, src/config/schema.ts OPTIONS, so the reference cannot drift from
// what the parser accepts (docs/design.md section 12, point 4). test/ship/config-reference.test.ts renders it
// again from the source and fails when the file is stale.
//
//   npm run build && node scripts/gen-config-reference.mjs          # rewrite the file
//   npm run build && node scripts/gen-config-reference.mjs --check  # exit 1 when stale
//
// Plain JavaScript over dist/ because Node 20 cannot run TypeScript; the rendering functions
// take the table as an argument, so the test passes the source table instead (types in
// gen-config-reference.d.mts).

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const START = '<!-- config-reference:start -->';
export const END = '<!-- config-reference:end -->';

/** Text safe in a Markdown table cell: pipes escaped, HTML-looking text escaped. */
function cell(text) {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\n/g, ' ');
}

/** A code span in a table cell (pipes still need escaping inside one in GFM tables). */
function code(text) {
  return `\`${text.replace(/\|/g, '\\|')}\``;
}

function usage(o) {
  return o.kind.placeholder === '' ? o.flag : `${o.flag} ${o.kind.placeholder}`;
}

function defaultCell(o) {
  // A literal default is a value (code); a derived one is a description (text).
  if (o.default !== undefined && o.defaultText === o.default) return code(o.default);
  return cell(o.defaultText);
}

function description(o) {
  const parts = [o.help];
  if (o.kind.type === 'list') parts.push('Repeatable; in the environment one value per line.');
  if (o.kind.type === 'duration') parts.push('A Go-style duration (500ms, 10s, 5m, 1h30m).');
  if (o.kind.type === 'boolean') parts.push('A flag; as a value true, false, 1 or 0.');
  if (o.kind.range !== undefined) parts.push(`Range: ${o.kind.range}.`);
  return cell(parts.join(' '));
}

/**
 * The generated Markdown: one table per option group, in the table's order.
 * @param {readonly import('../src/config/option.js').OptionSpec[]} options
 */
export function renderConfigReference(options) {
  const groups = new Map();
  for (const o of options) groups.set(o.group, [...(groups.get(o.group) ?? []), o]);
  const out = [];
  for (const [group, list] of groups) {
    out.push(`### ${group}`, '');
    out.push('| Option | Environment | `--config` key | Default | Description |');
    out.push('|---|---|---|---|---|');
    for (const o of list) {
      const key = o.fileKey === undefined ? '(not in a file)' : code(o.fileKey);
      out.push(
        `| ${code(usage(o))} | ${code(o.env)} | ${key} | ${defaultCell(o)} | ${description(o)} |`,
      );
    }
    out.push('');
  }
  return out.join('\n');
}

/** `doc` with the text between the markers `start` and `end` replaced by `generated`. */
export function replaceBetween(doc, start, end, generated) {
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  if (from === -1 || to === -1 || to < from) {
    throw new Error(`expected ${start} and then ${end} in the document`);
  }
  if (doc.indexOf(start, from + 1) !== -1 || doc.indexOf(end, to + 1) !== -1) {
    throw new Error(`expected each of ${start} and ${end} once`);
  }
  return `${doc.slice(0, from + start.length)}\n${generated}\n${doc.slice(to)}`;
}

/** `doc` with the text between the config-reference markers replaced by `generated`. */
export function replaceReference(doc, generated) {
  return replaceBetween(doc, START, END, generated);
}

async function main(argv) {
  const docPath = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));
  let schema;
  try {
    schema = await import(new URL('../dist/config/schema.js', import.meta.url).href);
  } catch (err) {
    process.stderr.write(`cannot load dist/config/schema.js (run npm run build first): ${err}\n`);
    return 2;
  }
  const doc = readFileSync(docPath, 'utf8');
  const next = replaceReference(doc, renderConfigReference(schema.OPTIONS));
  if (next === doc) {
    process.stdout.write('docs/configuration.md is up to date\n');
    return 0;
  }
  if (argv.includes('--check')) {
    process.stderr.write(
      'docs/configuration.md is stale: run node scripts/gen-config-reference.mjs\n',
    );
    return 1;
  }
  writeFileSync(docPath, next);
  process.stdout.write('docs/configuration.md updated\n');
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
