// docs/deploying.md stays complete as the code changes: it links to the generated Logs table
// (docs/logs.md), every metric the supervisor serves and every exit code it documents are in it,
// and its links resolve.

import { existsSync } from 'node:fs';
import { posix } from 'node:path';
import t from 'tap';
import { ROOT, readRepoFile } from './example-config.js';

const doc = readRepoFile('docs/deploying.md');

t.test('the Logs section links to the generated table', async (t) => {
  // Every event is in docs/logs.md, generated and checked by test/ship/logs-doc.test.ts.
  const logs = doc.slice(doc.indexOf('## Logs'), doc.indexOf('## Exit codes'));
  t.match(logs, '](logs.md)');
  t.notMatch(logs, /^\| `[a-z-]+\.[a-z-]+` \|/m, 'no hand-kept table of events');
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
