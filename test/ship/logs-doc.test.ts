// docs/logs.md is generated from the registry of log events (src/log/events.ts), and the registry
// is checked against the code: every event src/ logs is in it, at the levels src/ logs it, and it
// names no event src/ never logs. Each failure says what to change where.

import t from 'tap';
import { END, renderLogs, replaceLogs, START } from '../../scripts/gen-logs.mjs';
import { LOG_EVENTS, LOG_TOPICS, levelsOf } from '../../src/log/events.js';
import { loggedEvents } from './events.js';
import { ROOT, readRepoFile } from './example-config.js';

const REGISTRY = 'src/log/events.ts';
const doc = readRepoFile('docs/logs.md');
const logged = loggedEvents(`${ROOT}src`);
const registry = new Map(LOG_EVENTS.map((row) => [row[0], row]));

t.test('docs/logs.md is up to date with the registry', async (t) => {
  t.equal(
    doc,
    replaceLogs(doc, renderLogs(LOG_TOPICS, LOG_EVENTS)),
    'stale: run `npm run docs:logs` and commit docs/logs.md',
  );
  const generated = doc.slice(doc.indexOf(START), doc.indexOf(END));
  for (const [name] of LOG_EVENTS) t.ok(generated.includes(`| \`${name}\` |`), `${name} has a row`);
});

t.test('every event src/ logs is in the registry, at the levels it is logged at', async (t) => {
  t.ok(logged.size > 100, `${logged.size} events found in src/`);
  for (const e of logged.values()) {
    const levels = [...e.levels].join('/') || 'info';
    const row = registry.get(e.name);
    if (!row) {
      t.fail(
        `${e.name} is logged (${e.where.join(', ')}) but is not in ${REGISTRY}: add the line ` +
          `['${e.name}', '<topic>', '${levels}', '<what it means>'], to LOG_EVENTS there ` +
          `(topics: ${Object.keys(LOG_TOPICS).join(', ')}), then run npm run docs:logs`,
      );
      continue;
    }
    const said = new Set(levelsOf(row[2]));
    const missing = [...e.levels].filter((l) => !said.has(l));
    const extra = e.unknownLevel ? [] : [...said].filter((l) => !e.levels.has(l));
    if (missing.length > 0 || extra.length > 0) {
      t.fail(
        `${e.name} is logged at ${levels} (${e.where.join(', ')}) but its line in ${REGISTRY} ` +
          `says '${row[2]}': make it '${levels}', then run npm run docs:logs`,
      );
      continue;
    }
    t.pass(`${e.name} (${row[2]})`);
  }
});

t.test('the registry names only events src/ logs, each once', async (t) => {
  for (const [name] of LOG_EVENTS) {
    if (!logged.has(name)) {
      t.fail(
        `${name} is in ${REGISTRY} but src/ never logs it: remove its line there (or log it ` +
          `with a literal name, as test/ship/events.ts reads them), then run npm run docs:logs`,
      );
    }
  }
  t.equal(registry.size, LOG_EVENTS.length, `no event twice in ${REGISTRY}`);
});

t.test('the renderer groups by topic and escapes pipes', async (t) => {
  const table = renderLogs({ a: 'Topic A', b: 'Topic B', c: 'Empty' }, [
    ['x.b', 'b', 'info', 'second topic'],
    ['x.a', 'a', 'warn/error', 'a | b'],
  ] as never);
  t.ok(table.indexOf('### Topic A') < table.indexOf('### Topic B'), "in the topics' order");
  t.notMatch(table, /Empty/, 'an empty topic has no table');
  t.match(table, '| `x.a` | warn/error | a \\| b |');
  t.throws(() => replaceLogs('no markers', 'x'), /expected/);
});
