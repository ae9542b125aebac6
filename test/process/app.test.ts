import { chmodSync, copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { type AppHandle, startApp } from '../../src/process/app.js';
import { isAlive, readOr, timerCount, waitGone } from '../helpers/process.js';
import { tmpDir, waitFor } from '../helpers/wait.js';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const fixture = (name: string) => join(fixtures, name);
const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

interface Ready {
  pid: number;
  port?: number;
}

/** What a fixture wrote to FIXTURE_READY_FILE once its signal handlers were installed. */
const ready = (file: string) =>
  // A throw (file missing, or caught half-written) counts as "not yet".
  waitFor(() => JSON.parse(readFileSync(file, 'utf8')) as Ready, {
    message: `ready file ${file}`,
    timeoutMs: 10_000,
  });

/** Per-test files for the fixtures' FIXTURE_* variables. */
function files(t: Test) {
  const dir = tmpDir(t);
  return {
    FIXTURE_SIGNAL_LOG: join(dir, 'signals.log'),
    FIXTURE_READY_FILE: join(dir, 'ready.json'),
  };
}

async function start(t: Test, argv: string[], env: NodeJS.ProcessEnv = {}): Promise<AppHandle> {
  const started = await startApp({ argv, env: { ...process.env, ...env } });
  if (!started.ok) throw new Error(`expected ${argv.join(' ')} to start: ${started.error}`);
  const { pid } = started.app;
  t.teardown(() => {
    // Only if an assertion failed half-way: never leave a process group behind.
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {}
  });
  return started.app;
}

t.test('exit codes pass through', async (t) => {
  for (const code of [0, 1, 42, 255]) {
    const app = await start(t, [process.execPath, fixture('app-exit.mjs'), String(code)]);
    t.same(await app.exited, { exitCode: code, signal: undefined }, `exit ${code}`);
    t.notOk(isAlive(app.pid), 'reaped');
    t.equal(app.signal('SIGTERM'), false, 'no signal once it has exited');
  }
});

t.test('a fixture starts by its own path (shebang, exec bit)', async (t) => {
  const app = await start(t, [fixture('app-exit.mjs'), '3']);
  t.same(await app.exited, { exitCode: 3, signal: undefined });
});

t.test('killed by signal N -> 128+N', async (t) => {
  // No core-dumping signals (SEGV, ABRT, QUIT): they could leave core files behind.
  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
    ['SIGHUP', 129],
    ['SIGKILL', 137],
    ['SIGUSR1', 138],
    ['SIGPIPE', 141],
    ['SIGALRM', 142],
  ] as const) {
    const app = await start(t, [process.execPath, fixture('app-kill-self.mjs'), signal]);
    t.same(await app.exited, { exitCode: code, signal }, signal);
  }
});

t.test('a missing program -> 127, like a shell', async (t) => {
  const dir = tmpDir(t);
  for (const program of [join(dir, 'missing', 'prog'), 'litefs-supervisor-no-such-program']) {
    const started = await startApp({ argv: [program, 'arg'], env: process.env });
    t.match(started, { ok: false, exitCode: 127, errnoCode: 'ENOENT', error: String }, program);
  }
});

t.test('a file that is not executable, or a directory -> 126, like a shell', async (t) => {
  const dir = tmpDir(t);
  // git may not keep file modes: set the one this test is about on a copy.
  const notExecutable = join(dir, 'not-executable.txt');
  copyFileSync(fixture('not-executable.txt'), notExecutable);
  chmodSync(notExecutable, 0o644);
  for (const program of [notExecutable, dir]) {
    const started = await startApp({ argv: [program], env: process.env });
    t.match(started, { ok: false, exitCode: 126, errnoCode: 'EACCES', error: String }, program);
  }
});

t.test('an empty argv is refused like a shell refuses an empty command name', async (t) => {
  t.match(await startApp({ argv: [], env: process.env }), { ok: false, exitCode: 127 });
  t.match(await startApp({ argv: [''], env: process.env }), { ok: false, exitCode: 127 });
});

t.test('a signal reaches the grandchild through the group', async (t) => {
  const env = files(t);
  // dash does not exec the last command of `sh -c`: node runs below the shell, and only a
  // signal to the group reaches it.
  const app = await start(
    t,
    ['/bin/sh', '-c', [process.execPath, fixture('app-forever.mjs')].map(quote).join(' ')],
    env,
  );
  const grandchild = (await ready(env.FIXTURE_READY_FILE)).pid;
  t.not(grandchild, app.pid, 'node is not the group leader');
  t.equal(app.signal('SIGTERM'), true);
  t.same(await app.exited, { exitCode: 143, signal: 'SIGTERM' }, 'the shell died of SIGTERM');
  // signal() does not wait for the group: dash dies at once, node a moment later.
  await waitGone(grandchild);
  t.equal(readFileSync(env.FIXTURE_SIGNAL_LOG, 'utf8'), 'SIGTERM\n');
});

t.test('after terminate, exited waits for a grandchild that stops gracefully', async (t) => {
  const env = files(t);
  const app = await start(
    t,
    [
      '/bin/sh',
      '-c',
      [process.execPath, fixture('app-forever.mjs'), '--exit-on-signal', '0'].map(quote).join(' '),
    ],
    env,
  );
  const grandchild = (await ready(env.FIXTURE_READY_FILE)).pid;
  const timers = timerCount();
  app.terminate('SIGTERM', 20_000);
  t.same(await app.exited, { exitCode: 143, signal: 'SIGTERM' }, 'the shell died of SIGTERM');
  t.notOk(isAlive(grandchild), 'the group was empty when exited settled');
  t.equal(readFileSync(env.FIXTURE_SIGNAL_LOG, 'utf8'), 'SIGTERM\n');
  t.equal(timerCount(), timers, 'the SIGKILL timer was dropped, no SIGKILL needed');
});

t.test('forwarded signals that do not stop the app, then a graceful stop', async (t) => {
  const env = files(t);
  const timers = timerCount();
  const app = await start(
    t,
    [process.execPath, fixture('app-forever.mjs'), '--exit-on-signal', '0'],
    env,
  );
  await ready(env.FIXTURE_READY_FILE);
  for (const signal of ['SIGHUP', 'SIGUSR2'] as const) {
    t.equal(app.signal(signal), true, signal);
    await waitFor(() => readOr(env.FIXTURE_SIGNAL_LOG, '').includes(signal), {
      message: `${signal} in the log`,
    });
  }
  t.ok(isAlive(app.pid), 'still running');
  app.terminate('SIGTERM', 10_000);
  t.same(await app.exited, { exitCode: 0, signal: undefined }, 'its own exit code');
  t.equal(readFileSync(env.FIXTURE_SIGNAL_LOG, 'utf8'), 'SIGHUP\nSIGUSR2\nSIGTERM\n');
  t.equal(timerCount(), timers, 'the SIGKILL timer was dropped');
});

t.test('an app with default SIGTERM behaviour dies of it', async (t) => {
  const env = files(t);
  const app = await start(t, [process.execPath, fixture('app-forever.mjs')], env);
  await ready(env.FIXTURE_READY_FILE);
  app.terminate('SIGINT', 10_000);
  t.same(await app.exited, { exitCode: 130, signal: 'SIGINT' });
  t.equal(readFileSync(env.FIXTURE_SIGNAL_LOG, 'utf8'), 'SIGINT\n');
});

t.test('terminate escalates to SIGKILL after the delay', async (t) => {
  const env = files(t);
  const timers = timerCount();
  const app = await start(t, [process.execPath, fixture('app-ignore-sigterm.mjs')], env);
  await ready(env.FIXTURE_READY_FILE);
  const stopAt = performance.now();
  app.terminate('SIGTERM', 300);
  app.terminate('SIGTERM', 60_000); // a second signal must not postpone the kill
  t.same(await app.exited, { exitCode: 137, signal: 'SIGKILL' });
  const stoppedIn = performance.now() - stopAt;
  t.ok(stoppedIn >= 290, `SIGKILL after the delay (${Math.round(stoppedIn)} ms)`);
  t.ok(stoppedIn < 30_000, 'the first deadline held');
  // Two standard signals sent back to back may merge into one: the kernel does not queue them.
  t.match(readFileSync(env.FIXTURE_SIGNAL_LOG, 'utf8'), /^(SIGTERM\n){1,2}$/);
  t.notOk(isAlive(app.pid));
  t.equal(timerCount(), timers, 'no timer left behind');
});

t.test('a grandchild ignoring SIGTERM after the shell died is SIGKILLed too', async (t) => {
  const env = files(t);
  const app = await start(
    t,
    ['/bin/sh', '-c', [process.execPath, fixture('app-ignore-sigterm.mjs')].map(quote).join(' ')],
    env,
  );
  const grandchild = (await ready(env.FIXTURE_READY_FILE)).pid;
  const stopAt = performance.now();
  app.terminate('SIGTERM', 300);
  t.same(await app.exited, { exitCode: 143, signal: 'SIGTERM' }, 'the shell died of SIGTERM');
  const stoppedIn = performance.now() - stopAt;
  t.ok(stoppedIn >= 290, `exited settles after the SIGKILL (${Math.round(stoppedIn)} ms)`);
  t.equal(readFileSync(env.FIXTURE_SIGNAL_LOG, 'utf8'), 'SIGTERM\n');
  await waitGone(grandchild);
});

t.test('the app serves HTTP on PORT', async (t) => {
  const env = { ...files(t), PORT: '0' };
  const app = await start(t, [process.execPath, fixture('app-forever.mjs')], env);
  const { port } = await ready(env.FIXTURE_READY_FILE);
  const response = await fetch(`http://127.0.0.1:${port}/`);
  t.equal(response.status, 200);
  t.equal(await response.text(), 'ok');
  app.terminate('SIGTERM', 10_000);
  t.same(await app.exited, { exitCode: 143, signal: 'SIGTERM' });
});

t.test('env is the one given, cwd is honoured', async (t) => {
  const dir = tmpDir(t);
  const out = join(dir, 'out.txt');
  const started = await startApp({
    argv: ['/bin/sh', '-c', `printf '%s|%s|%s' "$ONLY_HERE" "\${HOME-unset}" "$PWD" > "$OUT"`],
    env: { PATH: process.env.PATH, ONLY_HERE: 'x', OUT: out },
    cwd: dir,
  });
  if (!started.ok) throw new Error(started.error);
  t.same(await started.app.exited, { exitCode: 0, signal: undefined });
  t.equal(readFileSync(out, 'utf8'), `x|unset|${dir}`);
});
