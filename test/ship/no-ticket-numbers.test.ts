// No internal ticket numbers in the repository: a reader has no access to our tracker, so a
// comment, a test name or a doc names the behaviour or the design section (S1-S14, "Handover on
// stop", readiness, ...) instead. References to other projects' trackers stay: they can be
// followed (`superfly/litefs#445`, `litefs#445`).

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIRS = ['src', 'test', 'testkit', 'bench', 'scripts', 'docs'];
const SKIP_DIRS = new Set(['node_modules', 'dist', 'dist-testkit', '.git']);
const SKIP_PATHS = new Set(['bench/results']);
/** Images: an SVG's hex colours are not ticket numbers. */
const SKIP_EXTENSIONS = ['.svg'];

/** "issue N", "issues N-M", "issue #N", case-insensitive. */
const ISSUE = /\bissues?\s*#?\d+/i;
/** "issue" ending a line whose next line starts with the number (a wrapped comment). */
const ISSUE_AT_END = /\bissues?\s*$/i;
const NUMBER_AT_START = /^[\s/*#>-]*#?\d/;
/**
 * A bare "#N". Not preceded by a word character, `/`, `.` or `-`, so `owner/repo#N`,
 * `litefs#N` and anchors (`design.md#2-shape`) pass; not followed by a word character, so a
 * colour (`#1f77b4`) passes.
 */
const BARE_HASH = /(?<![\w/.#&-])#\d+(?!\w)/;

/** `path:line: text` for every reference in `text`. */
function findings(path: string, text: string): string[] {
  const lines = text.split('\n');
  const out: string[] = [];
  lines.forEach((line, i) => {
    const wrapped = ISSUE_AT_END.test(line) && NUMBER_AT_START.test(lines[i + 1] ?? '');
    if (ISSUE.test(line) || BARE_HASH.test(line) || wrapped) {
      out.push(`${path}:${i + 1}: ${line.trim()}`);
    }
  });
  return out;
}

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    const rel = relative(ROOT, p).split(sep).join('/');
    if (SKIP_DIRS.has(e.name) || SKIP_PATHS.has(rel)) return [];
    if (e.isDirectory()) return files(p);
    return SKIP_EXTENSIONS.some((x) => e.name.endsWith(x)) ? [] : [rel];
  });
}

function repoFiles(): string[] {
  const top = readdirSync(ROOT, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.md'))
    .map((e) => e.name);
  return [...top, ...DIRS.flatMap((d) => files(join(ROOT, d)))];
}

t.test('the matcher flags ticket numbers and lets other trackers through', async (t) => {
  // Built from parts, so that this file does not flag itself.
  const n = '12';
  for (const bad of [
    `retried (issue ${n})`,
    `Issue ${n}: the handover`,
    `issues ${n}-${n} merged`,
    `issue ${n}'s replay`,
    `ISSUE #${n}`,
    `fixed in #${n}`,
    `(#${n})`,
  ]) {
    t.equal(findings('x', bad).length, 1, `flags: ${bad}`);
  }
  t.equal(findings('x', `see the (issue\n// ${n}: wrapped)`).length, 1, 'flags a wrapped one');
  for (const ok of [
    `superfly/litefs#${n}`,
    `(litefs#${n})`,
    `docs/design.md#${n}-shape`,
    'fill="#1f77b4"',
    'deadlock issues',
    'the token was issued',
  ]) {
    t.same(findings('x', ok), [], `allows: ${ok}`);
  }
});

t.test('no internal ticket numbers in the code, tests and docs', async (t) => {
  const all = repoFiles();
  // Guards against a walk that finds nothing and passes for that reason.
  t.ok(all.includes('README.md'), 'the walk sees README.md');
  t.ok(all.includes('src/core/rules.ts'), 'the walk sees src/core/rules.ts');
  const found = all.flatMap((p) => findings(p, readFileSync(join(ROOT, p), 'utf8')));
  t.same(
    found,
    [],
    'a reader cannot look these tickets up: name the behaviour or the design section instead',
  );
});
