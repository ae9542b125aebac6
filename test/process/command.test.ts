import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { type CommandOptions, type OutputStream, startCommand } from '../../src/process/command.js';
import { isAlive, timerCount, waitGone } from '../helpers/process.js';
import { tmpDir, waitFor } from '../helpers/wait.js';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
/** A shell command line running a fixture with this Node. */
const fixture = (name: string, ...args: string[]) =>
  [process.execPath, join(fixtures, name), ...args].map(quote).join(' ');

/** The pid a fixture wrote to FIXTURE_READY_FILE, once it has installed its signal handlers. */
const readyPid = async (file: string) => {
  // A throw (file missing, or caught half-written) counts as "not yet".
  const ready = await waitFor(() => JSON.parse(readFileSync(file, 'utf8')) as { pid: number }, {
    message: `ready file ${file}`,
    timeoutMs: 10_000,
  });
  return ready.pid;
};

/** Starts a command with test defaults and records its output lines per stream. */
function run(t: Test, options: Partial<CommandOptions> & { command: string }) {
  const lines: Record<OutputStream, string[]> = { stdout: [], stderr: [] };
  const handle = startCommand({
    label: 'test',
    env: process.env,
    timeoutMs: 0,
    killAfterMs: 5000,
    onLine: (stream, line) => lines[stream].push(line),
    ...options,
  });
  t.teardown(() => {
    // Only if an assertion failed half-way: never leave a process group behind.
    if (handle.pid !== undefined) {
      try {
        process.kill(-handle.pid, 'SIGKILL');
      } catch {}
    }
  });
  return { handle, lines };
}

t.test('a successful command: exit 0, one line per stream, env passed', async (t) => {
  const dir = tmpDir(t);
  const log = join(dir, 'migrate.log');
  const { handle, lines } = run(t, {
    command: fixture('migrate-ok.mjs', 'migrate[1]'),
    env: { ...process.env, FIXTURE_MIGRATE_LOG: log, LITEFS_SUPERVISOR_BOOTSTRAP: '1' },
  });
  t.type(handle.pid, 'number');
  const result = await handle.result;
  t.same(result, {
    exitCode: 0,
    signal: undefined,
    timedOut: false,
    terminated: false,
    durationMs: result.durationMs,
  });
  t.ok(result.durationMs >= 0);
  t.same(lines, { stdout: ['migrated migrate[1]'], stderr: ['warning from migrate[1]'] });
  t.match(readFileSync(log, 'utf8'), /^migrate\[1\] pid=\d+ bootstrap=1\n$/);
});

t.test('a fixture runs by its own path through the shell (shebang, exec bit)', async (t) => {
  const { handle, lines } = run(t, {
    command: `${quote(join(fixtures, 'migrate-ok.mjs'))} direct`,
  });
  t.equal((await handle.result).exitCode, 0);
  t.same(lines.stdout, ['migrated direct']);
});

t.test('env is the one given, not merged with ours', async (t) => {
  const { handle, lines } = run(t, {
    command: `printf '%s|%s\\n' "$ONLY_HERE" "\${HOME-unset}"`,
    env: { PATH: process.env.PATH, ONLY_HERE: 'a b' },
  });
  t.equal((await handle.result).exitCode, 0);
  t.same(lines.stdout, ['a b|unset']);
});

t.test('a failing command keeps its exit code', async (t) => {
  for (const [args, code] of [
    [['7'], 7],
    [[], 1],
    [['255'], 255],
  ] as const) {
    const { handle, lines } = run(t, { command: fixture('migrate-fail.mjs', ...args) });
    const result = await handle.result;
    t.match(result, { exitCode: code, signal: undefined, timedOut: false, terminated: false });
    t.equal(result.spawnError, undefined);
    t.equal(lines.stderr.length, 1, 'its error line is passed on');
  }
});

t.test('a program the shell cannot find: the shell exits 127, not a spawn error', async (t) => {
  const { handle } = run(t, { command: 'litefs-supervisor-no-such-program --flag' });
  const result = await handle.result;
  t.equal(result.exitCode, 127);
  t.equal(result.spawnError, undefined);
});

t.test('a missing cwd is a spawn error (ENOENT -> 127) and the promise resolves', async (t) => {
  const dir = tmpDir(t);
  const { handle } = run(t, { command: 'true', cwd: join(dir, 'missing') });
  const result = await handle.result;
  t.equal(result.exitCode, 127);
  t.type(result.spawnError, 'string');
  t.equal(handle.pid, undefined);
  handle.terminate(); // no process: a no-op, not a throw
});

t.test(
  'lines: per stream, CRLF, empty lines, UTF-8, and a last line without newline',
  async (t) => {
    const { handle, lines } = run(t, {
      command: `printf 'one\\ntwo\\r\\n\\nthré✓'; printf 'e1\\ne-last' >&2`,
    });
    t.equal((await handle.result).exitCode, 0);
    t.same(lines, { stdout: ['one', 'two', '', 'thré✓'], stderr: ['e1', 'e-last'] });
  },
);

t.test('a very long line is passed on in pieces, nothing lost', async (t) => {
  const { handle, lines } = run(t, { command: `head -c 300000 /dev/zero | tr '\\0' a` });
  t.equal((await handle.result).exitCode, 0);
  t.equal(lines.stdout.join('').length, 300_000);
  t.ok(lines.stdout.length > 1, `${lines.stdout.length} pieces`);
  t.ok(
    lines.stdout.every((piece) => /^a+$/.test(piece)),
    'pieces only hold the data',
  );
});

t.test('timeout: the whole group gets SIGTERM, a grandchild included', async (t) => {
  const dir = tmpDir(t);
  const files = {
    FIXTURE_SIGNAL_LOG: join(dir, 'signals.log'),
    FIXTURE_MIGRATE_LOG: join(dir, 'migrate.log'),
    FIXTURE_READY_FILE: join(dir, 'ready.json'),
  };
  const timers = timerCount();
  // /bin/sh -c "sh -c 'node migrate-slow.mjs'": dash execs neither, so node is a grandchild
  // that a signal to the shell alone would miss.
  const { handle } = run(t, {
    command: `sh -c ${quote(fixture('migrate-slow.mjs', '60000'))}`,
    env: { ...process.env, ...files },
    timeoutMs: 2000,
    killAfterMs: 10_000,
  });
  const grandchild = await readyPid(files.FIXTURE_READY_FILE);
  t.not(grandchild, handle.pid, 'node runs below the shell');
  const result = await handle.result;
  t.match(result, { exitCode: 143, signal: 'SIGTERM', timedOut: true, terminated: false });
  t.ok(result.durationMs >= 2000, `took ${result.durationMs} ms`);
  t.ok(result.durationMs < 10_000, 'SIGTERM was enough: no SIGKILL needed');
  t.equal(readFileSync(files.FIXTURE_SIGNAL_LOG, 'utf8'), 'SIGTERM\n');
  t.equal(readFileSync(files.FIXTURE_MIGRATE_LOG, 'utf8'), 'start\n', 'it never finished');
  await waitGone(grandchild);
  t.equal(timerCount(), timers, 'no timer left behind');
});

t.test('terminate forwards SIGINT to the group (S10)', async (t) => {
  const dir = tmpDir(t);
  const files = {
    FIXTURE_SIGNAL_LOG: join(dir, 'signals.log'),
    FIXTURE_READY_FILE: join(dir, 'ready.json'),
  };
  const { handle } = run(t, {
    command: `exec ${fixture('migrate-slow.mjs', '60000')}`,
    env: { ...process.env, ...files },
  });
  await readyPid(files.FIXTURE_READY_FILE);
  handle.terminate('SIGINT');
  const result = await handle.result;
  t.match(result, { exitCode: 130, signal: undefined, timedOut: false, terminated: true });
  t.equal(readFileSync(files.FIXTURE_SIGNAL_LOG, 'utf8'), 'SIGINT\n');
});

t.test('terminate escalates to SIGKILL when SIGTERM is ignored', async (t) => {
  const dir = tmpDir(t);
  const files = {
    FIXTURE_SIGNAL_LOG: join(dir, 'signals.log'),
    FIXTURE_READY_FILE: join(dir, 'ready.json'),
  };
  const timers = timerCount();
  const { handle } = run(t, {
    command: `exec ${fixture('app-ignore-sigterm.mjs')}`,
    env: { ...process.env, ...files },
    killAfterMs: 300,
  });
  const pid = await readyPid(files.FIXTURE_READY_FILE);
  t.equal(pid, handle.pid, 'exec: the fixture leads the group');
  const stopAt = performance.now();
  handle.terminate();
  const result = await handle.result;
  const stoppedIn = performance.now() - stopAt;
  t.match(result, { exitCode: 137, signal: 'SIGKILL', timedOut: false, terminated: true });
  t.ok(stoppedIn >= 290, `SIGKILL came after the delay (${Math.round(stoppedIn)} ms)`);
  t.equal(readFileSync(files.FIXTURE_SIGNAL_LOG, 'utf8'), 'SIGTERM\n', 'SIGTERM came first');
  t.equal(timerCount(), timers, 'no timer left behind');
  handle.terminate(); // after the result: a no-op
});

t.test('a grandchild that ignores SIGTERM and outlives the shell is SIGKILLed', async (t) => {
  const dir = tmpDir(t);
  const files = {
    FIXTURE_SIGNAL_LOG: join(dir, 'signals.log'),
    FIXTURE_READY_FILE: join(dir, 'ready.json'),
  };
  const timers = timerCount();
  // Its output goes elsewhere, so the shell's pipes close when the shell dies: the result must
  // still wait for the SIGKILL rather than leave the grandchild running.
  const { handle } = run(t, {
    command: `${fixture('app-ignore-sigterm.mjs')} >/dev/null 2>&1; echo unreachable`,
    env: { ...process.env, ...files },
    killAfterMs: 300,
  });
  const grandchild = await readyPid(files.FIXTURE_READY_FILE);
  const stopAt = performance.now();
  handle.terminate();
  const result = await handle.result;
  const stoppedIn = performance.now() - stopAt;
  t.match(result, { exitCode: 143, signal: 'SIGTERM', terminated: true }, 'dash died of SIGTERM');
  t.ok(stoppedIn >= 290, `settled after the SIGKILL (${Math.round(stoppedIn)} ms)`);
  t.equal(readFileSync(files.FIXTURE_SIGNAL_LOG, 'utf8'), 'SIGTERM\n');
  await waitGone(grandchild);
  t.equal(timerCount(), timers, 'no timer left behind');
});

t.test('a background process holding the pipes does not hang the result', async (t) => {
  const dir = tmpDir(t);
  const readyFile = join(dir, 'ready.json');
  const { handle, lines } = run(t, {
    command: `${fixture('app-ignore-sigterm.mjs')} & echo started`,
    env: { ...process.env, FIXTURE_READY_FILE: readyFile },
  });
  const background = await readyPid(readyFile);
  const result = await handle.result;
  t.equal(result.exitCode, 0);
  t.ok(lines.stdout.includes('started'));
  t.ok(isAlive(background), 'left alone: nobody asked to stop it');
  process.kill(background, 'SIGKILL');
  await waitGone(background);
});
