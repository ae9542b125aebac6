// The last steps: a synced replica, or a primary with its migrations done, runs its --before
// commands one at a time, then starts the app.

import type { Draft, Verdict } from '../draft.js';

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
