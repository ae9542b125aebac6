// The CLI bundle replaces undici with a subset (scripts/bundle-options.mjs): every name src/
// imports from undici must be in it, or the built CLI fails where the tests on tsc's output
// pass (the cluster record's `request` did: every Consul read was "not a function").

import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import t from 'tap';
import { UNDICI_SUBSET } from '../../scripts/bundle-options.mjs';
import { ROOT } from '../helpers/cli.js';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

t.test("every name src/ imports from undici is in the bundle's subset", async (t) => {
  const imported = new Map<string, string>();
  for (const file of sourceFiles(join(ROOT, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'undici'/g)) {
      if (/import\s+type/.test(m[0])) continue;
      for (const part of (m[1] ?? '').split(',')) {
        const name = part
          .trim()
          .replace(/^type\s+/, '')
          .split(/\s+as\s+/)[0];
        if (name && !part.trim().startsWith('type ')) imported.set(name, file.slice(ROOT.length));
      }
    }
  }
  t.ok(imported.size > 0, 'src/ imports something from undici');
  const mod = { exports: {} as Record<string, unknown> };
  new Function('require', 'module', UNDICI_SUBSET)(createRequire(join(ROOT, 'package.json')), mod);
  for (const [name, file] of imported) {
    t.equal(typeof mod.exports[name], 'function', `${name} (imported by ${file}) is in the bundle`);
  }
});
