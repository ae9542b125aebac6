#!/usr/bin/env node
// Writes the Logs table in docs/logs.md (between the logs markers) from the one registry of log
// events, src/log/events.ts LOG_EVENTS, so the table cannot drift from what the code logs.
// test/ship/logs-doc.test.ts renders it again from the source and fails when the file is stale,
// and checks the registry against the events src/ logs.
//
//   npm run docs:logs                                      # build, then rewrite the file
//   npm run build && node scripts/gen-logs.mjs --check     # exit 1 when stale
//
// Plain JavaScript over dist/ because Node 20 cannot run TypeScript; the rendering function
// takes the registry as an argument, so the test passes the source registry instead (types in
// gen-logs.d.mts).

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { replaceBetween } from './gen-config-reference.mjs';

export const START = '<!-- logs:start -->';
export const END = '<!-- logs:end -->';

/** Text safe in a Markdown table cell (pipes escaped, code spans included). */
function cell(text) {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/**
 * The generated Markdown: one table per topic, in the topics' order, each event in the
 * registry's order.
 * @param {Record<string, string>} topics
 * @param {readonly (readonly [string, string, string, string])[]} events
 */
export function renderLogs(topics, events) {
  const out = [];
  for (const [topic, title] of Object.entries(topics)) {
    const rows = events.filter((e) => e[1] === topic);
    if (rows.length === 0) continue;
    out.push(`### ${title}`, '', '| event | level | meaning |', '|---|---|---|');
    for (const [name, , levels, meaning] of rows) {
      out.push(`| \`${name}\` | ${levels} | ${cell(meaning)} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

/** `doc` with the text between the logs markers replaced by `generated`. */
export function replaceLogs(doc, generated) {
  return replaceBetween(doc, START, END, generated);
}

async function main(argv) {
  const docPath = fileURLToPath(new URL('../docs/logs.md', import.meta.url));
  let registry;
  try {
    registry = await import(new URL('../dist/log/events.js', import.meta.url).href);
  } catch (err) {
    process.stderr.write(`cannot load dist/log/events.js (run npm run build first): ${err}\n`);
    return 2;
  }
  const doc = readFileSync(docPath, 'utf8');
  const next = replaceLogs(doc, renderLogs(registry.LOG_TOPICS, registry.LOG_EVENTS));
  if (next === doc) {
    process.stdout.write('docs/logs.md is up to date\n');
    return 0;
  }
  if (argv.includes('--check')) {
    process.stderr.write('docs/logs.md is stale: run npm run docs:logs\n');
    return 1;
  }
  writeFileSync(docPath, next);
  process.stdout.write('docs/logs.md updated\n');
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
