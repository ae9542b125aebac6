// A command in flight: S6 stops a running migration whose node lost the lease; a migration
// waiting for its S1 re-confirmation starts once a fresh observation shows primary, or is
// dropped when the role is no longer primary (the next steps decide again).

import { primaryHostnameOf } from '../../derive.js';
import { s1MayStartMigration, s6MustAbortMigration } from '../../rules.js';
import type { Input } from '../../state.js';
import type { Draft, Verdict } from '../draft.js';

export function commandInFlight(d: Draft, input: Input): Verdict {
  const s = d.s;
  if (!s.current) return 'continue';
  const cmd = s.commands[s.current.index]!;
  if (cmd.status === 'running') {
    if (s6MustAbortMigration(cmd, s.role) && !s.current.stopRequested) {
      s.current.stopRequested = true;
      d.log(
        'warn',
        'migrate.abort',
        `lease lost during a migration (role is now ${s.role}); stopping it`,
        {
          command: cmd.command,
          index: d.ordinal(cmd),
          primary: primaryHostnameOf(s.observation),
        },
      );
      d.actions.push({ type: 'stop-command', signal: 'SIGTERM' });
    }
    return 'done';
  }
  // Waiting for the S1 re-confirmation of a migration.
  const fresh = input.type === 'observation' && input.token === s.current.confirmToken;
  if (s1MayStartMigration(s.role, fresh)) {
    d.runCommand(cmd);
    return 'done';
  }
  if (!fresh && s.role === 'primary') return 'done'; // still waiting for the fresh /info
  // Not primary any more (or no longer known): do not start it; decide again.
  d.log('warn', 'migrate.skip', `not starting the migration: role is ${s.role}, not primary`, {
    command: cmd.command,
    index: d.ordinal(cmd),
  });
  s.current = undefined;
  return 'continue';
}
