// The README is the one document in the npm package: short, with the two set-up commands, and
// every link absolute to the repository's default branch (relative links lead nowhere on the
// package page), each to a file that exists. The rest of the documentation lives in docs/, and
// its relative links resolve too; each decision record has its three parts and is in the index.

import { existsSync, readdirSync } from 'node:fs';
import { dirname, posix } from 'node:path';
import t from 'tap';
import { ROOT, readRepoFile } from './example-config.js';

const readme = readRepoFile('README.md');
const pkg = JSON.parse(readRepoFile('package.json')) as {
  repository?: { url?: string };
  homepage?: string;
};
const REPO = 'https://github.com/litefs-supervisor/litefs-supervisor';
const BLOB = `${REPO}/blob/main/`;

t.test('the README is short and gives exactly the two set-up commands', async (t) => {
  const lines = readme.split('\n').length;
  t.ok(lines <= 250, `${lines} lines, at most about 250`);
  const commands = [...readme.matchAll(/^(npm [^#\n]*?)\s*(#.*)?$/gm)].map((m) => m[1]);
  t.same(commands, ['npm ci && npm start', 'npm test'], 'the two commands, nothing else');
});

t.test('package.json names the repository the README links to', async (t) => {
  t.equal(pkg.repository?.url, `git+${REPO}.git`);
  t.equal(pkg.homepage, `${REPO}#readme`);
});

t.test('every README link works from the npm package page', async (t) => {
  const links = [...readme.matchAll(/\]\(([^)]+)\)/g)].map((m) => m[1] as string);
  t.ok(links.length >= 10, `${links.length} links`);
  for (const link of links) {
    if (!link.startsWith(BLOB)) {
      t.fail(`${link}: link to ${BLOB}<path> (a relative link is dead on npm)`);
      continue;
    }
    const path = link.slice(BLOB.length).replace(/#.*$/, '');
    t.ok(existsSync(`${ROOT}${path}`), `${path} exists`);
  }
});

function markdownFiles(dir: string): string[] {
  return readdirSync(`${ROOT}${dir}`, { withFileTypes: true }).flatMap((e) => {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) return markdownFiles(p);
    return e.name.endsWith('.md') ? [p] : [];
  });
}

t.test('relative links in docs/ and ARCHITECTURE.md point at files that exist', async (t) => {
  for (const file of [...markdownFiles('docs'), 'ARCHITECTURE.md']) {
    const text = readRepoFile(file).replace(/```[\s\S]*?```/g, '');
    const links = [...text.matchAll(/\]\((?!https?:|#|mailto:)([^)#\s]+)/g)].map((m) => m[1]);
    for (const link of links) {
      const target = posix.join(dirname(file), link as string);
      t.ok(existsSync(`${ROOT}${target}`), `${file}: ${link}`);
    }
  }
});

t.test('each decision record has context, decision and consequences, and is listed', async (t) => {
  const index = readRepoFile('docs/decisions/README.md');
  const records = readdirSync(`${ROOT}docs/decisions`).filter((f) => /^\d{4}-.+\.md$/.test(f));
  t.ok(records.length >= 19, `${records.length} records`);
  records.forEach((f, i) => {
    t.ok(f.startsWith(String(i + 1).padStart(4, '0')), `${f}: numbered in order, no gap`);
    const text = readRepoFile(`docs/decisions/${f}`);
    for (const part of ['## Context', '## Decision', '## Consequences']) {
      t.ok(text.includes(`\n${part}\n`), `${f}: ${part}`);
    }
    t.ok(index.includes(`](${f})`), `${f} is in docs/decisions/README.md`);
  });
});
