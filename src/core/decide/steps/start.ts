// The commands around the app's start: --setup first of all, at the supervisor's start on every
// node; and the last steps: a synced replica, or a primary with its migrations done, runs its
// --before commands one at a time, then starts the app.

import type { Draft, Verdict } from '../draft.js';

/**
 * docs/design.md section 6, "--setup": every node runs its --setup commands one at a time
 * before anything else (waiting for LiteFS or a primary, migrations, the app); a failure ends
 * the run (exit 3, steps/command-ended.ts). Early in the pipeline, after the reactions to the
 * input (a signal stops a running one, S10) and a command in flight (steps/command.ts: one at a
 * time), before anything that waits for LiteFS.
 */
export function setupCommands(d: Draft): Verdict {
  const setup = d.nextToRun('setup');
  if (!setup) return 'continue';
  d.enter('starting', `running --setup command ${d.ordinal(setup)}`, 'setup.begin', {});
  d.runCommand(setup);
  return 'done';
}

export function beforeCommands(d: Draft): Verdict {
  const before = d.nextToRun('before');
  if (!before) return 'continue';
  d.enter('starting-app', `running --before command ${d.ordinal(before)}`, 'before.begin', {});
  d.runCommand(before);
  return 'done';
}

export function startApp(d: Draft): Verdict {
  d.startApp('start');
  return 'done';
}
