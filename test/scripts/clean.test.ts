// scripts/clean.mjs empties a build folder before tsc writes it (npm run build, build:testkit),
// so a file whose source moved (dist/sim after the fakes went to testkit/) is never published.
// It removes only folders inside the repository.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const CLEAN = join(ROOT, 'scripts/clean.mjs');

const clean = (...args: string[]) =>
  spawnSync(process.execPath, [CLEAN, ...args], { cwd: ROOT, encoding: 'utf8' });

t.test('removes a folder inside the repository, with what it holds', async (t) => {
  // .tap/ is ignored by git and biome; a folder of its own per run (tap runs files in parallel).
  mkdirSync(join(ROOT, '.tap'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, '.tap', 'clean-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'sim'));
  writeFileSync(join(dir, 'sim', 'stale.js'), 'export {};\n');
  const run = clean(`.tap/${basename(dir)}`);
  t.equal(run.status, 0, run.stderr);
  t.notOk(existsSync(dir), 'gone');
  t.equal(clean(`.tap/${basename(dir)}`).status, 0, 'a missing folder is fine');
});

t.test('refuses the repository itself, anything outside it, and no argument', async (t) => {
  for (const arg of ['.', '', '..', '../shared', '/tmp']) {
    const run = clean(arg);
    t.equal(run.status, 2, `${JSON.stringify(arg)}: exit 2`);
    t.match(run.stderr, /clean: refusing .*: not a folder inside /, JSON.stringify(arg));
  }
  t.ok(existsSync(join(ROOT, 'package.json')), 'the repository is intact');
  const none = clean();
  t.equal(none.status, 2);
  t.match(none.stderr, /usage: node scripts\/clean\.mjs <folder>/);
});
