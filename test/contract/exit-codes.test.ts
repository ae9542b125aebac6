// The exit-code contract (docs/design.md section 9, docs/design.md section 12, point 8), exhaustively, as tini's test
// driver checks it: through the built CLI in --standalone mode with real child processes.
// Every app exit code 0..255 passes through; death by signal N gives 128+N; 127/126 when the
// app cannot be started. A signal to the supervisor (a requested stop) is the one case where
// it does not exit with a code: it logs the app's code, then dies of that same signal, which a
// shell or tini reads as 128+N and LiteFS accepts. Every other run checks the supervisor
// exited normally (a code, not a signal) with the code its supervisor.exit record announced.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { Test } from 'tap';
import t from 'tap';
import { parseLogfmt } from '../../src/log/format.js';
import { CLI, FIXTURES, type LogRecord } from '../helpers/cli.js';
import { node, signals } from '../helpers/standalone.js';
import { tmpDir, waitFor } from '../helpers/wait.js';

/** Runs at a time: 256 supervisor starts take about 30 s on 2 idle cores. */
const CONCURRENCY = 8;

// About 270 runs of the CLI, two processes each: some 75 s on a quiet 2-core machine, more than
// .taprc's 120 s when other suites load it (seen at load average 22 during a full npm test).
t.setTimeout(300_000);

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  records: LogRecord[];
  stderr: string;
}

interface Supervisor {
  child: ReturnType<typeof spawn>;
  /** Log records so far, parsed as stderr arrives. */
  records: LogRecord[];
  stdout: () => string;
  /** Settles once it exited and its stderr was read to the end. */
  finished: Promise<Run>;
}

/**
 * The built CLI in --standalone mode, in `dir` (also its cwd: a core dump would land there).
 * Like helpers/cli.ts, but started through `env -u NODE_OPTIONS`: tap injects its process-info
 * hook into every node child it sees spawned, which doubled the cost of each of these hundreds
 * of runs; this way the supervisor and its node apps run exactly as in production.
 */
function start(
  t: Test,
  dir: string,
  extra: string[],
  app: string[],
  health = '127.0.0.1:0',
): Supervisor {
  const argv = [
    ...['--standalone', '--litefs-config', 'none', '--mount-dir', dir, '--db', 'app.db'],
    ...['--state-file', join(dir, 'state.json'), '--poll-interval', '100ms'],
    ...['--health-addr', health, ...extra, '--', ...app],
  ];
  const env: NodeJS.ProcessEnv = { ...process.env, FIXTURE_SIGNAL_LOG: join(dir, 'signals.log') };
  for (const k of Object.keys(env)) if (k.startsWith('LITEFS_SUPERVISOR_')) delete env[k];
  delete env.FLY_APP_NAME;
  const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, CLI, ...argv], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let partial = '';
  const records: LogRecord[] = [];
  const parse = (lines: string[]) => {
    for (const line of lines) {
      const r = parseLogfmt(line);
      if (r) records.push(r);
    }
  };
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    const lines = (partial + d).split('\n');
    partial = lines.pop() ?? '';
    parse(lines);
  });
  const finished = Promise.all([
    once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>,
    once(child.stderr!, 'end'),
  ]).then(([[code, signal]]): Run => {
    parse([partial]);
    return { code, signal, records, stderr: err };
  });
  t.teardown(async () => {
    // SIGTERM first: the supervisor stops its app (its own process group) before it exits.
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await finished;
      clearTimeout(timer);
    }
  });
  return { child, records, stdout: () => out, finished };
}

/** The contract every run keeps, whatever it tests: a plain exit code, announced in the log. */
/**
 * A requested stop (SIGINT/SIGTERM to the supervisor): the app's code is logged, and the
 * supervisor then dies of that signal (docs/design.md section 9; LiteFS releases its lease and
 * unmounts only after exit 0 or death by a signal).
 */
function checkStopped(t: Test, run: Run, signal: string, appCode: number, what: string): void {
  t.same(
    { code: run.code, signal: run.signal },
    { code: null, signal },
    `${what}: the supervisor died of ${signal}`,
  );
  const exit = run.records.find((r) => r.event === 'supervisor.exit');
  t.equal(exit?.exitCode, String(appCode), `${what}: supervisor.exit says the app's ${appCode}`);
  t.match(
    run.records.find((r) => r.event === 'supervisor.signal-exit'),
    { signal, exitCode: String(appCode) },
    `${what}: supervisor.signal-exit names the signal and the app's code`,
    { stderr: run.signal === signal ? undefined : run.stderr },
  );
}

function checkRun(t: Test, run: Run, expected: number, what: string): void {
  t.equal(run.signal, null, `${what}: the supervisor exited, it was not killed`);
  t.equal(run.code, expected, `${what}: exit ${expected}`);
  const exit = run.records.find((r) => r.event === 'supervisor.exit');
  t.equal(exit?.exitCode, String(expected), `${what}: supervisor.exit says ${expected}`, {
    stderr: run.code === expected ? undefined : run.stderr,
  });
}

async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

t.test('every exit code 0..255 passes through', async (t) => {
  const dir = tmpDir(t);
  const codes = Array.from({ length: 256 }, (_, code) => code);
  const started = Date.now();
  // /bin/sh -c 'exit N' is the smallest real program that exits N (the supervisor is the
  // costly process here); no health API, which this part of the contract does not involve.
  const runs = await pool(
    codes,
    CONCURRENCY,
    (code) => start(t, dir, [], ['/bin/sh', '-c', `exit ${code}`], 'off').finished,
  );
  t.comment(`256 runs in ${Date.now() - started} ms, ${CONCURRENCY} at a time`);
  const wrong = runs.flatMap((run, code) =>
    run.code === code && run.signal === null
      ? []
      : [{ app: code, got: run.code, signal: run.signal, stderr: run.stderr }],
  );
  t.same(wrong, [], 'the supervisor exited with the app code, every one of the 256');
  runs.forEach((run, code) => {
    const exit = run.records.find((r) => r.event === 'app.exit');
    if (exit?.exitCode !== String(code)) t.fail(`app.exit for ${code}`, { exit });
    checkRun(t, run, code, `app exit ${code}`);
  });
});

t.test('death by signal N gives 128+N', async (t) => {
  const cases = [
    // The signals the supervisor forwards (docs/design.md section 6), then two it cannot forward.
    ['SIGTERM', 15],
    ['SIGINT', 2],
    ['SIGHUP', 1],
    ['SIGQUIT', 3],
    ['SIGUSR1', 10], // Node's inspector claims SIGUSR1: app-kill-self.mjs restores the default
    ['SIGUSR2', 12],
    ['SIGKILL', 9],
    ['SIGSEGV', 11],
    ['SIGABRT', 6],
  ] as const;
  const runs = await pool([...cases], CONCURRENCY, async ([signal]) => {
    const dir = tmpDir(t);
    return start(t, dir, [], [node, `${FIXTURES}app-kill-self.mjs`, signal]).finished;
  });
  cases.forEach(([signal, n], i) => {
    const run = runs[i]!;
    checkRun(t, run, 128 + n, `app killed by ${signal}`);
    t.match(
      run.records.find((r) => r.event === 'app.exit'),
      { exitCode: String(128 + n), signal },
      `${signal}: app.exit names the signal`,
    );
  });
});

t.test('127 when the app cannot be found, 126 when it cannot be executed', async (t) => {
  const dir = tmpDir(t);
  const cases: [string, string[], number][] = [
    ['a command not in PATH', ['definitely-not-a-command-xyz'], 127],
    ['a missing relative path', ['./no/such/app'], 127],
    ['a missing absolute path', ['/nonexistent/bin/app', '--flag'], 127],
    ['a file without the exec bit', [`${FIXTURES}not-executable.txt`], 126],
    ['a directory', [FIXTURES], 126],
  ];
  const runs = await pool(cases, CONCURRENCY, ([, app]) => start(t, dir, [], app).finished);
  cases.forEach(([what, , code], i) => {
    const run = runs[i]!;
    checkRun(t, run, code, what);
    t.ok(
      run.records.some((r) => r.event === 'app.spawn-fail'),
      `${what}: app.spawn-fail logged`,
    );
  });
});

t.test(
  'a signal to the supervisor: the app code is logged, then it dies of the signal',
  async (t) => {
    const cases: { signal: 'SIGTERM' | 'SIGINT'; onSignal: 'dies' | number; code: number }[] = [];
    for (const [signal, n] of [
      ['SIGTERM', 15],
      ['SIGINT', 2],
    ] as const) {
      for (const exit of [0, 1, 42]) cases.push({ signal, onSignal: exit, code: exit });
      cases.push({ signal, onSignal: 'dies', code: 128 + n });
    }
    const runs = await pool(cases, CONCURRENCY, async ({ signal, onSignal }) => {
      const dir = tmpDir(t);
      const app = [node, `${FIXTURES}app-forever.mjs`];
      if (onSignal !== 'dies') app.push('--exit-on-signal', String(onSignal));
      const cli = start(t, dir, [], app);
      // Its handlers are installed before it says so: the signal cannot arrive too early.
      await waitFor(() => cli.stdout().includes('app ready'), {
        timeoutMs: 15_000,
        message: 'app ready',
      });
      cli.child.kill(signal);
      const run = await cli.finished;
      return { run, received: signals(join(dir, 'signals.log')) };
    });
    cases.forEach(({ signal, onSignal, code }, i) => {
      const { run, received } = runs[i]!;
      const what = `${signal}; the app ${onSignal === 'dies' ? 'dies of it' : `exits ${onSignal}`}`;
      checkStopped(t, run, signal, code, what);
      t.same(received, [signal], `${what}: forwarded once`);
      t.equal(run.records.filter((r) => r.event === 'app.start').length, 1, `${what}: one start`);
    });
  },
);

t.test('restart policy: the last code, or the signal during backoff', async (t) => {
  const dir = tmpDir(t);
  const [exhausted, interrupted] = await Promise.all([
    // One restart allowed: the app exits 3 twice, about 1 s apart; then the run ends with 3.
    start(t, dir, ['--restart', 'on-failure', '--restart-max', '1'], ['/bin/sh', '-c', 'exit 3'])
      .finished,
    (async () => {
      const cli = start(t, tmpDir(t), ['--restart', 'always'], ['/bin/sh', '-c', 'exit 0']);
      await waitFor(() => cli.records.some((r) => r.event === 'app.backoff'), {
        timeoutMs: 15_000,
        message: 'app.backoff',
      });
      cli.child.kill('SIGTERM');
      return cli.finished;
    })(),
  ]);
  checkRun(t, exhausted, 3, '--restart-max 1 reached');
  t.equal(exhausted.records.filter((r) => r.event === 'app.start').length, 2, 'started twice');
  t.match(
    exhausted.records.find((r) => r.event === 'app.backoff'),
    { delayMs: '1000' },
  );
  checkStopped(t, interrupted, 'SIGTERM', 143, 'SIGTERM during the backoff');
  t.equal(
    interrupted.records.filter((r) => r.event === 'app.start').length,
    1,
    'not restarted after the signal',
  );
});
