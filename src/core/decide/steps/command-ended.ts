// What a --migrate/--before command's end means: after a stop signal the run ends (S10); a
// failed --before ends it (exit 3); a failed migration is tried again with backoff (S1 retries;
// S14 hands the lease to a serving node in between), and once retries are used up before the app
// started, the lease goes to a serving node for good (S14) or the run ends (exit 3).

import { EXIT } from '../../exit-code.js';
import { migrationRetry } from '../../rules.js';
import type { CommandRecord, Input } from '../../state.js';
import { tailOf } from '../describe.js';
import type { Draft, Verdict } from '../draft.js';
import { beginHandBack, handsBack } from './hand-back.js';

export function commandEnded(d: Draft, input: Input): Verdict {
  if (input.type !== 'command-exit') return 'continue';
  const { s, config } = d;
  const cmd = s.commands[input.index];
  if (!cmd) return 'continue';
  const fields = d.exitFields(cmd, input);
  if (s.shutdown) {
    // S10: a stop signal arrived while it ran: the app is not started, exit 128+N.
    return d.exit(
      s.shutdown.exitCode,
      'info',
      `${cmd.kind}.stopped`,
      `${cmd.kind} command ended after ${s.shutdown.signal}; not starting the app`,
      fields,
    );
  }
  if (cmd.status !== 'failed' && cmd.status !== 'timed-out') return 'continue';
  const why = input.timedOut
    ? `timed out after --migrate-timeout ${config.migrateTimeout}ms`
    : input.spawnError
      ? `could not be started: ${input.spawnError}`
      : `exited with code ${input.exitCode}`;
  if (cmd.kind === 'migrate') {
    return migrationFailed(d, cmd, why, { ...fields, output: tailOf(input.outputTail) });
  }
  return d.exit(
    EXIT.commandFailed,
    'error',
    `${cmd.kind}.fail`,
    `--${cmd.kind} command ${why}; the app is not started`,
    { ...fields, hint: 'fix the command or the database and redeploy; nothing after it was run' },
  );
}

/**
 * S1 retries: a failed migration is tried again with backoff while this node stays
 * primary, each try re-confirmed by a fresh /info (steps/migrate.ts). With the app running it
 * never ends the supervisor; before the app started, running out of retries exits 3.
 */
function migrationFailed(
  d: Draft,
  cmd: CommandRecord,
  why: string,
  fields: Record<string, unknown>,
): Verdict {
  const { s, config } = d;
  const appRunning = s.app.status === 'running';
  const verdict = migrationRetry(cmd.failures, config.migrateRetries, appRunning);
  const tries = `try ${cmd.failures} of ${config.migrateRetries + 1}`;
  if (verdict.kind === 'give-up' && handsBack(config)) {
    // S14: the lease goes to a node whose app serves, and this node does not ask for it again
    // (that would take it from a serving node at every restart); no such node: exit 3.
    d.log(
      'error',
      'migrate.fail',
      `--migrate command ${why} (${tries}, no retries left); the app is not started; handing the lease to a node whose app serves`,
      { ...fields, tries: cmd.failures },
    );
    beginHandBack(d, 'spent');
    return 'done';
  }
  if (verdict.kind === 'give-up') {
    return d.exit(
      EXIT.commandFailed,
      'error',
      'migrate.fail',
      `--migrate command ${why} (${tries}, no retries left); the app is not started`,
      {
        ...fields,
        tries: cmd.failures,
        hint: 'fix the command or the database and redeploy; nothing after it was run. Fly restarts the machine; the other machines keep serving',
      },
    );
  }
  const retryAt = d.now + verdict.delayMs;
  cmd.retryAt = retryAt;
  const when = new Date(retryAt).toISOString();
  d.log(
    'error',
    'migrate.fail',
    verdict.kind === 'slow'
      ? `--migrate command ${why} (${tries}); retries used up: the app keeps running, trying again at ${when}`
      : `--migrate command ${why} (${tries}); retrying in ${verdict.delayMs}ms`,
    { ...fields, tries: cmd.failures, retryAt: when, retryInMs: verdict.delayMs },
  );
  const ordinal = d.ordinal(cmd);
  if (appRunning) {
    d.enter(
      'running',
      `app running as primary; migration ${ordinal} failed, next try at ${when}`,
      'migrate.retry-wait',
      { level: 'warn', retryAt: when },
    );
  } else {
    d.enter('migrating', `migration ${ordinal} failed; next try at ${when}`, 'migrate.retry-wait', {
      level: 'warn',
      retryAt: when,
    });
  }
  return 'continue';
}
