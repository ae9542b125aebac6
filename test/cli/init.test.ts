// `litefs-supervisor init` (src/cli/init.ts) on files in a temp dir: which litefs.yml it finds,
// the diff it prints, --write (atomic, the file's mode kept, the old file kept under a name that
// never overwrites an earlier one), nothing written without --write, a second run, refusals
// (exit 2, nothing written), and what it says about the Dockerfile and fly.toml.

import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { runInit } from '../../src/cli/init.js';
import { ROOT } from '../helpers/cli.js';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'init');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

/** An Epic Stack checkout: other/litefs.yml, other/Dockerfile, fly.toml at the root. */
function epicApp(t: Test, yml = fixture('epic-stack-litefs.yml')) {
  const dir = t.testdir();
  mkdirSync(join(dir, 'other'));
  writeFileSync(join(dir, 'other', 'litefs.yml'), yml);
  writeFileSync(join(dir, 'other', 'Dockerfile'), fixture('seed-Dockerfile'));
  writeFileSync(join(dir, 'fly.toml'), fixture('seed-fly.toml'));
  return dir;
}

async function init(cwd: string, more: { write?: boolean; litefsConfig?: string } = {}) {
  let out = '';
  let err = '';
  const code = await runInit({
    cwd,
    write: more.write ?? false,
    litefsConfig: more.litefsConfig,
    version: '9.9.9',
    out: (s) => {
      out += s;
    },
    err: (s) => {
      err += s;
    },
  });
  return { code, out, err };
}

t.test('without --write: the diff, and nothing written', async (t) => {
  const dir = epicApp(t);
  const r = await init(dir);
  t.equal(r.code, 0);
  t.match(
    r.out,
    /^litefs\.yml: other\/litefs\.yml \(the first of \.\/litefs\.yml, \.\/other\/litefs\.yml\)/,
  );
  t.match(r.out, '--- a/other/litefs.yml\n+++ b/other/litefs.yml\n');
  t.match(r.out, '-  promote: true\n+  promote: false\n');
  t.match(r.out, '+      --setup "node ./other/setup-swap.js"\n');
  t.match(r.out, '-  - cmd: npx prisma migrate deploy\n');
  t.match(r.out, /Nothing written: run again with --write/);
  t.equal(readFileSync(join(dir, 'other', 'litefs.yml'), 'utf8'), fixture('epic-stack-litefs.yml'));
  t.same(readdirSync(join(dir, 'other')).sort(), ['Dockerfile', 'litefs.yml']);
});

t.test('--write: atomic, mode kept, the old file kept; a second run changes nothing', async (t) => {
  const dir = epicApp(t);
  const path = join(dir, 'other', 'litefs.yml');
  chmodSync(path, 0o640);
  const first = await init(dir, { write: true });
  t.equal(first.code, 0);
  t.match(
    first.out,
    /Wrote other\/litefs\.yml; the old file is kept as other\/litefs\.yml\.before-init\./,
  );
  const written = readFileSync(path, 'utf8');
  t.match(written, 'litefs-supervisor --promote');
  t.equal(statSync(path).mode & 0o777, 0o640, 'the mode is kept');
  t.equal(readFileSync(`${path}.before-init`, 'utf8'), fixture('epic-stack-litefs.yml'));
  t.equal(statSync(`${path}.before-init`).mode & 0o777, 0o640);
  t.same(
    readdirSync(join(dir, 'other')).sort(),
    ['Dockerfile', 'litefs.yml', 'litefs.yml.before-init'],
    'no temp file left',
  );

  const second = await init(dir, { write: true });
  t.equal(second.code, 0);
  t.match(second.out, /other\/litefs\.yml is already converted .*nothing to change/);
  t.notMatch(second.out, /^\+\+\+/m, 'no diff');
  t.equal(readFileSync(path, 'utf8'), written, 'unchanged');
  t.same(readdirSync(join(dir, 'other')).sort(), [
    'Dockerfile',
    'litefs.yml',
    'litefs.yml.before-init',
  ]);

  // Back to the old file, converted again: an earlier copy is never overwritten.
  writeFileSync(path, fixture('epic-stack-litefs.yml'));
  writeFileSync(`${path}.before-init`, 'the first copy\n');
  const third = await init(dir, { write: true });
  t.equal(third.code, 0);
  t.equal(readFileSync(`${path}.before-init`, 'utf8'), 'the first copy\n');
  t.equal(readFileSync(`${path}.before-init.1`, 'utf8'), fixture('epic-stack-litefs.yml'));
  t.equal(readFileSync(path, 'utf8'), written);
});

t.test(
  'which litefs.yml: ./litefs.yml first, then other/litefs.yml, or --litefs-config',
  async (t) => {
    const dir = epicApp(t);
    writeFileSync(join(dir, 'litefs.yml'), fixture('seed-litefs.yml'));
    const r = await init(dir);
    t.match(r.out, /^litefs\.yml: litefs\.yml \(the first of/);
    t.match(r.out, '--- a/litefs.yml');
    const explicit = await init(dir, { litefsConfig: 'other/litefs.yml' });
    t.match(explicit.out, /^litefs\.yml: other\/litefs\.yml \(--litefs-config\)/);
    const missing = await init(dir, { litefsConfig: 'nope.yml' });
    t.equal(missing.code, 2);
    t.match(missing.err, /nope\.yml \(--litefs-config\) does not exist/);
    const none = await init(t.testdir());
    t.equal(none.code, 2);
    t.match(
      none.err,
      /no litefs\.yml at \.\/litefs\.yml or \.\/other\/litefs\.yml; pass --litefs-config FILE/,
    );
  },
);

t.test('cannot map: exit 2, each entry named, nothing written', async (t) => {
  const yml = fixture('epic-stack-litefs.yml').replace(
    '  - cmd: npx prisma migrate deploy\n',
    '  - cmd: npx prisma migrate deploy && echo migrated\n',
  );
  const dir = epicApp(t, yml);
  const r = await init(dir, { write: true });
  t.equal(r.code, 2);
  t.match(
    r.err,
    /cannot convert other\/litefs\.yml; nothing was written:\n {2}- exec entry 2 `npx prisma migrate deploy && echo migrated` \(if-candidate\): an unquoted `&&`/,
  );
  t.equal(readFileSync(join(dir, 'other', 'litefs.yml'), 'utf8'), yml);
  t.same(readdirSync(join(dir, 'other')).sort(), ['Dockerfile', 'litefs.yml']);
});

t.test('the Dockerfile and fly.toml: what to change, never edited', async (t) => {
  const dir = epicApp(t);
  const r = await init(dir, { write: true });
  t.match(
    r.out,
    /change other\/Dockerfile: install the supervisor .*RUN npm install -g litefs-supervisor@9\.9\.9/,
  );
  t.match(r.out, /ok {5}other\/Dockerfile: starts `litefs mount`/);
  t.match(r.out, /ok {5}fly\.toml: kill_signal SIGINT/);
  t.match(
    r.out,
    /ok {5}fly\.toml: kill_timeout 5 s covers --handoff-timeout 1s \+ --shutdown-timeout 3s \+ 1s/,
  );
  t.match(r.out, /change fly\.toml: add a top-level check on the supervisor's \/health/);
  t.match(r.out, / {11}\[checks\.supervisor\]\n {11} {2}type = "http"\n {11} {2}port = 9090\n/);
  t.equal(readFileSync(join(dir, 'other', 'Dockerfile'), 'utf8'), fixture('seed-Dockerfile'));
  t.equal(readFileSync(join(dir, 'fly.toml'), 'utf8'), fixture('seed-fly.toml'));

  // The seed's own: the WAL pragma needs the sqlite3 CLI, which that Dockerfile does not show.
  const seed = t.testdir({
    'litefs.yml': fixture('seed-litefs.yml'),
    Dockerfile: fixture('seed-Dockerfile'),
    'fly.toml': fixture('seed-fly.toml').replace('kill_timeout = 5', 'kill_timeout = 3'),
  });
  const s = await init(seed);
  t.match(s.out, /change Dockerfile: a command runs the sqlite3 CLI: install it/);
  t.match(s.out, /change fly\.toml: kill_timeout = 5 or more \(now 3\): it must cover/);
});

t.test("the project's own files: already converted, nothing to change", async (t) => {
  const dir = t.testdir({
    'litefs.yml': readFileSync(join(ROOT, 'litefs.yml.example'), 'utf8'),
    Dockerfile: readFileSync(join(ROOT, 'Dockerfile'), 'utf8'),
    'fly.toml': readFileSync(join(ROOT, 'fly.example.toml'), 'utf8'),
  });
  const r = await init(dir, { write: true });
  t.equal(r.code, 0);
  t.match(r.out, /litefs\.yml is already converted/);
  t.notMatch(r.out, /^ {2}change /m, 'the shipped Dockerfile and fly.example.toml need nothing');
  t.match(r.out, /kill_timeout 10 s covers --handoff-timeout 1s \+ --shutdown-timeout 5s/);
  t.match(r.out, /\[checks\.supervisor\] asks the supervisor's \/health on 9090/);
  t.same(readdirSync(dir).sort(), ['Dockerfile', 'fly.toml', 'litefs.yml']);
});

t.test('a converted file without lease.reconnect-delay: init offers that one line', async (t) => {
  const yml = readFileSync(join(ROOT, 'litefs.yml.example'), 'utf8').replace(
    /\n {2}reconnect-delay: [^\n]*/,
    '',
  );
  t.notMatch(yml, /reconnect-delay: "/, 'the example without its reconnect-delay');
  const dir = t.testdir({ 'litefs.yml': yml });
  const dry = await init(dir);
  t.equal(dry.code, 0);
  t.notMatch(dry.out, /already converted/);
  t.match(dry.out, /\n\+ {2}reconnect-delay: "100ms"\n/);
  t.equal((dry.out.match(/^[-+](?![-+])/gm) ?? []).length, 1, 'one line added, none removed');
  t.match(
    dry.out,
    /What each part became:\n {2}- lease\.reconnect-delay: not set \(LiteFS's default 1s\) -> "100ms": /,
  );
  t.equal(readFileSync(join(dir, 'litefs.yml'), 'utf8'), yml, 'nothing written without --write');
  const wrote = await init(dir, { write: true });
  t.equal(wrote.code, 0);
  const written = readFileSync(join(dir, 'litefs.yml'), 'utf8');
  t.equal(written.replace('\n  reconnect-delay: "100ms"', ''), yml, 'the rest byte for byte');
  t.match((await init(dir)).out, /already converted/);
});

// docs/design.md section 1, "Before the mount": the Dockerfile's CMD runs the gate before LiteFS;
// `init` says so when it is missing, and reads the `sh -c` line word by word.
t.test('the Dockerfile advice: litefs mount, and before-mount before it', async (t) => {
  const { dockerfileAdvice } = await import('../../src/cli/init-advice.js');
  const facts = { handoffMs: 1000, shutdownMs: 3000, healthPort: 9090, commands: [] };
  const advise = (cmd: string) =>
    dockerfileAdvice(
      { path: 'Dockerfile', text: `FROM node:20\nRUN npm install -g litefs-supervisor\n${cmd}\n` },
      facts,
      '9.9.9',
    ).map((a) => `${a.kind} ${a.text}`);
  const plain = advise('CMD ["litefs", "mount"]');
  t.ok(plain.some((a) => a.startsWith('ok starts `litefs mount`')));
  t.ok(
    plain.some((a) =>
      a.startsWith(
        'change run litefs-supervisor before-mount before LiteFS, so a starting node leaves a free lease to the running nodes: CMD ["sh", "-c", "litefs-supervisor before-mount && exec litefs mount"]',
      ),
    ),
  );
  const gated = advise('CMD ["sh", "-c", "litefs-supervisor before-mount && exec litefs mount"]');
  t.ok(gated.some((a) => a.startsWith('ok starts `litefs mount`')));
  t.ok(gated.some((a) => a === 'ok runs `litefs-supervisor before-mount` before LiteFS'));
  const none = advise('CMD ["node", "server.js"]');
  t.ok(none.some((a) => a.startsWith('change end with CMD ["sh", "-c", "litefs-supervisor')));
});
