// docs/design.md's list of waits is generated from their one declaration (src/core/decide/
// deadlines.ts WAITS); regenerated here in memory from the source, it must equal the file.

import t from 'tap';
import { renderWaits, replaceWaits } from '../../scripts/gen-waits.mjs';
import { WAITS } from '../../src/core/decide/deadlines.js';
import { readRepoFile } from './example-config.js';

t.test('docs/design.md lists every wait as declared', async (t) => {
  const doc = readRepoFile('docs/design.md');
  t.equal(
    doc,
    replaceWaits(doc, renderWaits(WAITS)),
    'stale: run `npm run build && node scripts/gen-waits.mjs` and commit the result',
  );
  for (const name of Object.keys(WAITS)) t.ok(doc.includes(`| \`${name}\` |`), name);
});

t.test('no other document keeps a hand list of the waits', async (t) => {
  for (const file of ['README.md', 'ARCHITECTURE.md']) {
    const text = readRepoFile(file);
    t.notMatch(text, /handoff\/peer\/promote\/migration/, `${file} links to the list instead`);
  }
});
