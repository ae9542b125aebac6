// Arguments for running the built CLI in --standalone mode in a per-test temp dir.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';

export const node = process.execPath;

export function standalone(t: Test, extra: string[] = []) {
  const dir = t.testdir();
  const signalLog = join(dir, 'signals.log');
  const args = [
    '--standalone',
    '--litefs-config',
    'none',
    '--mount-dir',
    dir,
    '--db',
    'app.db',
    '--state-file',
    join(dir, 'state.json'),
    '--health-addr',
    '127.0.0.1:0',
    '--poll-interval',
    '100ms',
    ...extra,
  ];
  return {
    dir,
    signalLog,
    args,
    env: { FIXTURE_SIGNAL_LOG: signalLog, FIXTURE_MIGRATE_LOG: join(dir, 'migrate.log') },
  };
}

export const signals = (file: string) => {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
};
