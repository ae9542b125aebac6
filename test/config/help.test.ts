import t from 'tap';
import { helpText, versionText } from '../../src/cli/help.js';
import { OPTIONS } from '../../src/config/schema.js';

t.test('help has the usage lines of the four forms', async (t) => {
  const help = helpText();
  for (const line of [
    'litefs-supervisor [options] -- <app command> [args...]',
    'litefs-supervisor status [--health-url URL] [--json]',
    'litefs-supervisor check [options] [-- <app command>]',
    'litefs-supervisor --help | --version',
  ]) {
    t.ok(help.includes(line), line);
  }
});

t.test('help lists every option with its placeholder, default and environment name', async (t) => {
  const help = helpText();
  const lines = help.split('\n');
  for (const o of OPTIONS) {
    const usage = o.kind.placeholder === '' ? o.flag : `${o.flag} ${o.kind.placeholder}`;
    const at = lines.findIndex((l) => l.trim() === usage || l.trim() === `${usage} (repeatable)`);
    t.ok(at >= 0, `${o.flag} listed as "${usage}"`);
    // Its block runs to the next option; the default and env name must be in it.
    const next = lines.findIndex((l, i) => i > at && /^ {2}--/.test(l));
    const block = lines
      .slice(at, next === -1 ? undefined : next)
      .join(' ')
      .replace(/\s+/g, ' ');
    t.ok(block.includes(`default: ${o.defaultText}`), `${o.flag} default ${o.defaultText}`);
    t.ok(block.includes(`env: ${o.env}`), `${o.flag} env ${o.env}`);
    if (o.kind.type === 'list') t.ok(block.includes('(repeatable)'), `${o.flag} repeatable`);
    if (o.kind.range !== undefined) {
      t.ok(block.includes(`range: ${o.kind.range}`), `${o.flag} range ${o.kind.range}`);
    }
  }
  for (const line of lines) t.ok(line.length <= 100, `line fits: ${line.slice(0, 40)}`);
});

t.test('version', async (t) => {
  t.equal(versionText('1.2.3'), 'litefs-supervisor 1.2.3\n');
});
