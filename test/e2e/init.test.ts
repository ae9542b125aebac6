// biome-ignore-all lint/suspicious/noTemplateCurlyInString: litefs.yml's own ${VAR} syntax, in plain strings on purpose
// `litefs-supervisor init` as a user runs it (the built CLI), in an environment like a Fly
// machine's: the seed incident's litefs.yml is rewritten with --write, keeps every comment,
// holds no expanded value (not the Consul token, not the region), and then passes `check` with
// no warning; before, `check` points at `init`. Exit codes: 0 converted or already, 2 refused.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { CLI, ROOT } from '../helpers/cli.js';
import { type Env, supervisorArgv } from '../helpers/litefs-chain.js';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'init');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

/** A Fly machine of the seed's app: its Dockerfile's ENV and what Fly sets. */
const FLY_ENV: Env = {
  LITEFS_DIR: '/litefs/data',
  DATABASE_FILENAME: 'sqlite.db',
  DATABASE_PATH: '/litefs/data/sqlite.db',
  CACHE_DATABASE_PATH: '/litefs/data/cache.db',
  INTERNAL_PORT: '8080',
  PORT: '8081',
  FLY_REGION: 'sjc',
  PRIMARY_REGION: 'sjc',
  FLY_APP_NAME: 'launchfast-pro-7369',
  HOSTNAME: 'd891265a6e4738',
  FLY_CONSUL_URL: 'https://:secret-token-1@consul-iad-9.fly-shared.net/launchfast-pro-7369-x/',
};

function cli(args: string[], cwd: string, env: Env = FLY_ENV) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    env: { PATH: process.env.PATH, HOME: cwd, ...env },
    encoding: 'utf8',
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

t.test('the seed litefs.yml: init --write, then check with no warning', async (t) => {
  const dir = t.testdir({
    'litefs.yml': fixture('seed-litefs.yml'),
    Dockerfile: fixture('seed-Dockerfile'),
    'fly.toml': fixture('seed-fly.toml'),
  });
  const path = join(dir, 'litefs.yml');
  const checkArgs = ['check', '--litefs-config', path, '--state-file', join(dir, 'state.json')];

  const before = cli([...checkArgs, '--', 'npm', 'start'], dir);
  t.equal(before.code, 0);
  t.match(
    before.out,
    /Warnings:[\s\S]*litefs-supervisor init rewrites this litefs\.yml/,
    'check points at init',
  );
  t.match(
    before.out,
    /Warnings:[\s\S]*lease\.reconnect-delay is not set: LiteFS's default 1s/,
    'check shows the reconnect-delay warning',
  );

  const init = cli(['init', '--write'], dir);
  t.equal(init.code, 0, init.err);
  t.match(init.out, /Wrote litefs\.yml; the old file is kept as litefs\.yml\.before-init\./);
  const after = readFileSync(path, 'utf8');
  for (const comment of fixture('seed-litefs.yml').match(/#[^\n]*/g) ?? []) {
    t.ok(after.includes(comment), `keeps ${comment.slice(0, 60)}`);
  }
  for (const value of Object.values(FLY_ENV)) {
    if (value.length > 3) t.notOk(after.includes(value), `no expanded value: ${value}`);
  }
  t.notMatch(after, /secret-token/);
  t.match(after, 'candidate: ${FLY_REGION == PRIMARY_REGION}');
  t.match(after, '--migrate "sqlite3 $DATABASE_PATH \'PRAGMA journal_mode = WAL;\'"');
  t.match(after, '  type: \'consul\'\n  reconnect-delay: "100ms"\n');
  t.match(init.out, /lease\.reconnect-delay: not set \(LiteFS's default 1s\) -> "100ms"/);

  const { args } = supervisorArgv(after, FLY_ENV);
  const check = cli([...checkArgs, ...args], dir);
  t.equal(check.code, 0, check.err);
  t.notMatch(check.out, /Warnings:/, 'no warning');
  t.match(
    check.out,
    /On the primary only.*\n {4}1\. npx prisma migrate deploy\n {4}2\. sqlite3 \/litefs\/data\/sqlite\.db 'PRAGMA journal_mode = WAL;'/,
  );
  t.match(check.out, /Databases that gate migrations: sqlite\.db/);

  const again = cli(['init', '--write'], dir);
  t.equal(again.code, 0);
  t.match(again.out, /already converted/);
  t.equal(readFileSync(path, 'utf8'), after);
});

t.test('exit codes and the command line', async (t) => {
  const dir = t.testdir({
    'litefs.yml': fixture('seed-litefs.yml').replace(
      '- cmd: npx prisma migrate deploy',
      '- cmd: npx prisma migrate deploy; echo done',
    ),
  });
  const refused = cli(['init'], dir);
  t.equal(refused.code, 2);
  t.match(
    refused.err,
    /exec entry 1 `npx prisma migrate deploy; echo done` \(if-candidate\): an unquoted `;`/,
  );
  const unknown = cli(['init', '--json'], dir);
  t.equal(unknown.code, 2);
  t.match(unknown.err, /--json: unknown option; init accepts --litefs-config FILE and --write/);
  const extra = cli(['init', 'litefs.yml'], dir);
  t.equal(extra.code, 2);
  t.match(
    extra.err,
    /litefs\.yml: unexpected argument; init accepts --litefs-config FILE and --write/,
  );
  const app = cli(['init', '--', 'npm', 'start'], dir);
  t.equal(app.code, 2);
  t.match(app.err, /init takes no command/);
  const write = cli(['--write', '--', 'npm', 'start'], dir);
  t.equal(write.code, 2);
  t.match(write.err, /--write: is an option of `litefs-supervisor init`/);
  const help = cli(['--help'], dir);
  t.match(help.out, /litefs-supervisor init \[--litefs-config FILE\] \[--write\]/);
});
