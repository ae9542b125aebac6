#!/usr/bin/env node
// Writes the list of decide's waits in docs/design.md (between the waits markers) from their
// one declaration, src/core/decide/deadlines.ts WAITS, so the list cannot drift from what the
// code waits for. test/ship/waits-doc.test.ts renders it again from the source and fails when
// the file is stale.
//
//   npm run build && node scripts/gen-waits.mjs          # rewrite the file
//   npm run build && node scripts/gen-waits.mjs --check  # exit 1 when stale

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const START = '<!-- waits:start -->';
export const END = '<!-- waits:end -->';

const cell = (text) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/**
 * The generated Markdown table: one row per wait, in declaration order.
 * @param {Readonly<Record<string, import('../src/core/decide/deadlines.js').WaitSpec>>} waits
 */
export function renderWaits(waits) {
  const out = [
    '| wake | waits for | at the deadline | while stopping | rule |',
    '|---|---|---|---|---|',
  ];
  for (const [name, w] of Object.entries(waits)) {
    out.push(
      `| \`${name}\` | ${cell(w.waitsFor)} | ${cell(w.atDeadline)} | ${w.whileStopping ? 'yes' : 'no'} | ${cell(w.rule)} |`,
    );
  }
  return out.join('\n');
}

/** `doc` with the text between the markers replaced by `generated`. */
export function replaceWaits(doc, generated) {
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start === -1 || end === -1 || end < start) {
    throw new Error(`expected ${START} and then ${END} in the document`);
  }
  return `${doc.slice(0, start + START.length)}\n${generated}\n${doc.slice(end)}`;
}

async function main(argv) {
  const docPath = fileURLToPath(new URL('../docs/design.md', import.meta.url));
  let mod;
  try {
    mod = await import(new URL('../dist/core/decide/deadlines.js', import.meta.url).href);
  } catch (err) {
    process.stderr.write(
      `cannot load dist/core/decide/deadlines.js (run npm run build first): ${err}\n`,
    );
    return 2;
  }
  const doc = readFileSync(docPath, 'utf8');
  const next = replaceWaits(doc, renderWaits(mod.WAITS));
  if (next === doc) {
    process.stdout.write('docs/design.md waits are up to date\n');
    return 0;
  }
  if (argv.includes('--check')) {
    process.stderr.write('docs/design.md waits are stale: run node scripts/gen-waits.mjs\n');
    return 1;
  }
  writeFileSync(docPath, next);
  process.stdout.write('docs/design.md waits updated\n');
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
