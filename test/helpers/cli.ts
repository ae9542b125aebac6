// Spawn the built CLI (dist/cli/main.js) as a real process and read its logfmt lines as
// records, so end-to-end tests assert on `event` fields, exit codes and HTTP answers.

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { parseLogfmt } from '../../src/log/format.js';
import { waitFor } from './wait.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = `${ROOT}dist/cli/main.js`;
export const FIXTURES = `${ROOT}test/fixtures/`;

export type LogRecord = Record<string, string>;

export interface Cli {
  child: ChildProcess;
  records: LogRecord[];
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Wait for a log record with this event (and matching fields); returns it. */
  waitEvent(
    event: string,
    match?: (r: LogRecord) => boolean,
    timeoutMs?: number,
  ): Promise<LogRecord>;
  events(): string[];
  /** The health API's URL, from the health.listen record. */
  healthUrl(): Promise<string>;
}

/** What a CLI run that was awaited to its end printed, and its exit code. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI with `args` to its end (stdout and stderr read whole), as a user runs it:
 * tap's loader hooks in NODE_OPTIONS are not passed on.
 */
export function runCli(args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const c = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    c.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export function startCli(
  t: Test,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Cli {
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  // Nothing of the developer's environment may configure the supervisor under test.
  for (const k of Object.keys(env)) {
    if (k.startsWith('LITEFS_SUPERVISOR_') && !(opts.env && k in opts.env)) delete env[k];
  }
  delete env.FLY_APP_NAME;
  // tap puts its loader hooks in NODE_OPTIONS; the CLI and its children run as users run them.
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: opts.cwd ?? ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let partial = '';
  const records: LogRecord[] = [];
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    partial += d;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const r = parseLogfmt(line);
      if (r) records.push(r);
    }
  });
  let stderrClosed = false;
  child.stderr?.on('close', () => {
    stderrClosed = true;
  });
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  t.teardown(async () => {
    // SIGTERM first: the supervisor then stops its app (a SIGKILLed supervisor would leave
    // the app running in its own process group).
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  });
  const cli: Cli = {
    child,
    records,
    stdout: () => out,
    stderr: () => err,
    exited,
    events: () => records.map((r) => r.event ?? ''),
    async waitEvent(event, match = () => true, timeoutMs = 15_000) {
      let found: LogRecord | undefined;
      try {
        // Once the process is gone and its stderr fully read, nothing more can come: stop
        // waiting at once (waitFor treats a throw as "not yet", so the end is a value here).
        const outcome = await waitFor(
          () => {
            found = records.find((r) => r.event === event && match(r));
            if (found) return 'found';
            return stderrClosed ? 'exited' : undefined;
          },
          { timeoutMs, message: `event ${event}` },
        );
        if (outcome === 'exited') throw new Error(`exited (${child.exitCode ?? child.signalCode})`);
      } catch (cause) {
        // The log as it is now, not as it was when the wait began.
        throw new Error(`${(cause as Error).message}; event ${event} not seen. stderr:\n${err}`, {
          cause,
        });
      }
      return found!;
    },
    async healthUrl() {
      const r = await cli.waitEvent('health.listen');
      return r.url!;
    },
  };
  return cli;
}

export async function getJson(url: string, init?: RequestInit) {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body: body as Record<string, unknown>, headers: res.headers };
}
