// docs/configuration.md's option tables are generated from the option table (src/config/
// schema.ts); regenerated here in memory from the source, they must equal the file.

import t from 'tap';
import {
  END,
  renderConfigReference,
  replaceReference,
  START,
} from '../../scripts/gen-config-reference.mjs';
import { OPTIONS } from '../../src/config/schema.js';
import { readRepoFile } from './example-config.js';

const doc = readRepoFile('docs/configuration.md');

t.test('docs/configuration.md is up to date with the option table', async (t) => {
  const fresh = replaceReference(doc, renderConfigReference(OPTIONS));
  t.equal(
    doc,
    fresh,
    'stale: run `npm run build && node scripts/gen-config-reference.mjs` and commit the result',
  );
});

t.test('every option, its environment name and --config key are in it', async (t) => {
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  t.ok(start >= 0 && end > start, 'markers present, in order');
  const generated = doc.slice(start, end);
  for (const o of OPTIONS) {
    t.ok(generated.includes(`\`${o.flag}`), o.flag);
    t.ok(generated.includes(`\`${o.env}\``), o.env);
    if (o.fileKey !== undefined) t.ok(generated.includes(`\`${o.fileKey}\``), o.fileKey);
    if (o.kind.range !== undefined) {
      const row = generated.split('\n').find((l) => l.startsWith(`| \`${o.flag} `));
      t.match(row, `Range: ${o.kind.range}.`, `${o.flag} shows its range`);
    }
  }
});

t.test('the renderer escapes what would break a table', async (t) => {
  const [first] = OPTIONS;
  if (!first) throw new Error('no options');
  const odd = {
    ...first,
    help: 'a | b <c>',
    kind: { ...first.kind, placeholder: 'x|y' },
    default: undefined,
    defaultText: '<derived>',
  };
  const table = renderConfigReference([odd]);
  const row = table.split('\n').find((l) => l.startsWith('| `--config'));
  t.ok(row, 'row rendered');
  // Unescaped pipes would add columns: 5 columns = 6 unescaped pipes.
  t.equal(row?.match(/(?<!\\)\|/g)?.length, 6, 'pipes inside cells are escaped');
  t.match(row, /&lt;derived&gt;/);
  t.match(row, /a \\\| b &lt;c&gt;/);
  t.throws(() => replaceReference('no markers', 'x'), /expected/);
  t.throws(() => replaceReference(`${START}${END}${START}${END}`, 'x'), /once/);
  t.equal(replaceReference(`a ${START} old ${END} b`, 'new'), `a ${START}\nnew\n${END} b`);
});
