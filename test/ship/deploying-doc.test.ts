// docs/deploying.md stays complete as the code changes: every log event the supervisor can emit,
// every metric it serves and every exit code it documents are in it, and its links resolve.

import { existsSync } from 'node:fs';
import { posix } from 'node:path';
import t from 'tap';
import { emittedEvents } from './events.js';
import { ROOT, readRepoFile } from './example-config.js';

const doc = readRepoFile('docs/deploying.md');

t.test('every event emitted in src/ is explained in the Logs table', async (t) => {
  const events = emittedEvents(`${ROOT}src`);
  t.ok(events.length > 50, `${events.length} event sites found`);
  const logs = doc.slice(doc.indexOf('## Logs'), doc.indexOf('## Exit codes'));
  for (const e of new Map(events.map((x) => [x.name, x])).values()) {
    // `<kind>.done` is emitted for every command kind; `migrate` is always one of them.
    const name = e.perKind ? e.name.replace('<kind>', 'migrate') : e.name;
    t.ok(logs.includes(`\`${name}\``), `${name} (${e.where})`);
  }
});

t.test('the README names every event too (someone reading only the README)', async (t) => {
  const readme = readRepoFile('README.md');
  const logs = readme.slice(readme.indexOf('## Logs'), readme.indexOf('## Exit codes'));
  for (const e of new Map(emittedEvents(`${ROOT}src`).map((x) => [x.name, x])).values()) {
    for (const kind of e.perKind ? ['setup', 'migrate', 'before'] : ['']) {
      const name = e.perKind ? e.name.replace('<kind>', kind) : e.name;
      t.ok(logs.includes(`\`${name}\``), `${name} (${e.where})`);
    }
  }
});

t.test('every metric is in the sample or named next to it', async (t) => {
  const metrics = readRepoFile('src/http/metrics.ts');
  const names = [...metrics.matchAll(/'(litefs_supervisor_[a-z_]+)'/g)].map((m) => m[1] as string);
  t.ok(names.length >= 10, `${names.length} metrics`);
  for (const name of names) t.ok(doc.includes(name), name);
});

t.test('exit codes', async (t) => {
  const section = doc.slice(doc.indexOf('## Exit codes'), doc.indexOf('## Metrics'));
  for (const code of ['126 / 127', '| 2 |', '| 3 |', '| 4 |', '| 5 |', '| 70 |', '128+N']) {
    t.ok(section.includes(code), code);
  }
});

t.test('relative links point at files that exist', async (t) => {
  const links = [...doc.matchAll(/\]\((?!https?:|#)([^)#]+)\)/g)].map((m) => m[1] as string);
  t.ok(links.length >= 3);
  for (const link of links) {
    t.ok(existsSync(posix.join(`${ROOT}docs`, link)), link);
  }
});
