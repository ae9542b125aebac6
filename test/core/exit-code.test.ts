import { constants } from 'node:os';
import t from 'tap';
import {
  EXIT,
  exitCodeOf,
  LINUX_SIGNAL_NUMBERS,
  signalExitCode,
  signalNumber,
  spawnFailureExitCode,
  UNKNOWN_EXIT_CODE,
} from '../../src/core/exit-code.js';

t.test('every exit code 0-255 maps to itself (tini checks all 256)', async (t) => {
  for (let code = 0; code <= 255; code++) {
    t.equal(exitCodeOf({ exitCode: code, signal: null }), code, `exit ${code}`);
    t.equal(exitCodeOf({ exitCode: code, signal: undefined }), code, `exit ${code}, execa shape`);
  }
});

t.test('codes outside 0-255 keep their low 8 bits, as the kernel does; never -1', async (t) => {
  const cases: [number, number][] = [
    [-1, 255],
    [256, 0],
    [300, 44],
    [-255, 1],
  ];
  for (const [input, expected] of cases) {
    t.equal(exitCodeOf({ exitCode: input, signal: null }), expected, `exit ${input}`);
  }
});

t.test('a signal death maps to 128+N', async (t) => {
  const expected: [string, number][] = [
    ['SIGHUP', 129],
    ['SIGINT', 130],
    ['SIGQUIT', 131],
    ['SIGABRT', 134],
    ['SIGKILL', 137],
    ['SIGUSR1', 138],
    ['SIGSEGV', 139],
    ['SIGUSR2', 140],
    ['SIGPIPE', 141],
    ['SIGALRM', 142],
    ['SIGTERM', 143],
  ];
  for (const [signal, code] of expected) {
    t.equal(exitCodeOf({ exitCode: null, signal }), code, signal);
    t.equal(exitCodeOf({ exitCode: undefined, signal }), code, `${signal}, execa shape`);
  }
});

t.test('the static table agrees with every signal Node knows on this platform', async (t) => {
  const nodeSignals = Object.entries(constants.signals);
  t.ok(nodeSignals.length > 20, 'os.constants.signals is populated');
  for (const [name, number] of nodeSignals) {
    t.equal(signalNumber(name), number, name);
    t.equal(exitCodeOf({ exitCode: null, signal: name }), 128 + number, `${name} exit code`);
  }
  for (const [name, number] of Object.entries(LINUX_SIGNAL_NUMBERS)) {
    const fromNode = (constants.signals as Record<string, number | undefined>)[name];
    // SIGUNUSED is gone from glibc headers, so Node does not list it; it was SIGSYS's number.
    if (fromNode !== undefined) t.equal(number, fromNode, `${name} matches os.constants`);
    else t.equal(number, LINUX_SIGNAL_NUMBERS.SIGSYS, `${name} is the old alias of SIGSYS`);
  }
});

t.test('a signal wins over an exit code when both are given', async (t) => {
  t.equal(exitCodeOf({ exitCode: 0, signal: 'SIGTERM' }), 143);
});

t.test('an end we cannot read is an internal error, never success', async (t) => {
  t.equal(UNKNOWN_EXIT_CODE, 70);
  t.equal(exitCodeOf({ exitCode: null, signal: null }), 70);
  t.equal(exitCodeOf({ exitCode: undefined, signal: undefined }), 70);
  t.equal(exitCodeOf({ exitCode: Number.NaN, signal: null }), 70);
  t.equal(exitCodeOf({ exitCode: 1.5, signal: null }), 70);
  t.equal(exitCodeOf({ exitCode: null, signal: 'SIGBREAK' }), 70, 'Windows-only signal');
  t.equal(exitCodeOf({ exitCode: null, signal: 'SIGNOPE' }), 70, 'not a signal');
});

t.test('signalNumber knows only real signal names', async (t) => {
  t.equal(signalNumber('SIGTERM'), 15);
  t.equal(signalNumber('SIGIOT'), 6);
  t.equal(signalNumber('SIGPOLL'), 29);
  t.equal(signalNumber('TERM'), undefined);
  t.equal(signalNumber('sigterm'), undefined);
  t.equal(signalNumber('toString'), undefined, 'no prototype keys');
  t.equal(signalNumber('__proto__'), undefined, 'no prototype keys');
  t.equal(signalNumber(''), undefined);
});

t.test('spawn failures map like a shell: 127 not found, 126 not executable', async (t) => {
  t.equal(spawnFailureExitCode('ENOENT'), 127);
  for (const code of ['EACCES', 'ENOEXEC', 'EISDIR', 'ENOTDIR', 'EPERM', 'E2BIG', 'ENOMEM']) {
    t.equal(spawnFailureExitCode(code), 126, code);
  }
  t.equal(spawnFailureExitCode(undefined), 126, 'no errno: found but could not run');
});

t.test(
  'signalExitCode: 128+N for a signal Linux numbers, 70 (internal) for any other name',
  async (t) => {
    for (const [name, n] of Object.entries(LINUX_SIGNAL_NUMBERS)) {
      t.equal(signalExitCode(name), 128 + n, name);
      t.equal(
        exitCodeOf({ exitCode: null, signal: name }),
        signalExitCode(name),
        `${name} via exitCodeOf`,
      );
    }
    for (const name of ['SIGBOGUS', 'SIGBREAK', 'TERM', '', 'constructor']) {
      t.equal(signalExitCode(name), UNKNOWN_EXIT_CODE, `${JSON.stringify(name)}: not 143`);
    }
    t.equal(UNKNOWN_EXIT_CODE, 70);
  },
);

t.test("the supervisor's own codes, one table (docs/design.md, Exit codes)", async (t) => {
  t.same(EXIT, {
    config: 2,
    commandFailed: 3,
    fenced: 4,
    syncTimeout: 5,
    appNotReady: 6,
    internal: 70,
  });
});
