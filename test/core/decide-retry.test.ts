// S1 retries (docs/design.md section 4 S1): a failed migration is retried with backoff while
// this node stays primary, each try re-confirmed by a fresh /info; before the app starts, running
// out of retries exits 3; with the app running (S7) it never ends the supervisor.

import t from 'tap';
import { healthVerdict, statusSnapshot } from '../../src/core/health.js';
import { MIGRATE_SLOW_RETRY_MS, migrationRetry } from '../../src/core/rules.js';
import { db, Sim, testConfig } from '../helpers/builders.js';

const runs = (sim: Sim) => sim.actions.filter((a) => a.type === 'run-command');
const primary = { role: 'primary' as const, dbs: [db({ txid: 9n })] };

/** Primary, first migration confirmed and started. */
function migrating(cfg = {}) {
  const sim = new Sim(testConfig({ migrate: ['m1'], ...cfg }));
  sim.loadHwm(undefined);
  sim.see(primary);
  sim.see(primary, 10, sim.lastToken());
  return sim;
}

t.test('migrationRetry: 1 s, 2 s, 4 s, then give up or keep serving', async (t) => {
  t.same(migrationRetry(1, 3, false), { kind: 'retry', delayMs: 1000 });
  t.same(migrationRetry(2, 3, false), { kind: 'retry', delayMs: 2000 });
  t.same(migrationRetry(3, 3, false), { kind: 'retry', delayMs: 4000 });
  t.same(migrationRetry(4, 3, false), { kind: 'give-up' }, 'before the app: exit 3');
  t.same(migrationRetry(4, 3, true), { kind: 'slow', delayMs: MIGRATE_SLOW_RETRY_MS });
  t.same(migrationRetry(1, 0, false), { kind: 'give-up' }, '--migrate-retries 0');
  t.same(migrationRetry(20, 20, false), { kind: 'retry', delayMs: 60_000 }, 'capped at 60 s');
});

t.test('allows: fails twice, then succeeds; each try re-confirmed by a fresh /info', async (t) => {
  const sim = migrating();
  sim.commandExit(0, 5, {});
  t.equal(sim.state.exited, undefined, 'no exit on the first failure');
  t.equal(sim.state.phase, 'migrating');
  const fail = sim.actions.find((a) => a.type === 'log' && a.event === 'migrate.fail');
  t.match(fail, { level: 'error', fields: { exitCode: 5, tries: 1, retryInMs: 1000 } });
  sim.see(primary, 500);
  t.equal(runs(sim).length, 1, 'not before the backoff');
  sim.see(primary, 600);
  t.equal(sim.last('observe')?.type, 'observe', 'asks a fresh /info (S1)');
  t.equal(runs(sim).length, 1, 'not before the confirmation');
  sim.see(primary, 10, sim.lastToken());
  t.equal(runs(sim).length, 2, 'second try');
  sim.commandExit(0, 5);
  sim.see(primary, 2100);
  sim.see(primary, 10, sim.lastToken());
  t.equal(runs(sim).length, 3, 'third try after 2 s');
  sim.commandExit(0, 0);
  t.ok(sim.events().includes('migrate.complete'));
  sim.see(primary, 10);
  t.equal(sim.last('start-app')?.type, 'start-app');
});

t.test('refuses: no retry once this node is no longer primary', async (t) => {
  const sim = migrating();
  sim.commandExit(0, 5);
  sim.see({ role: 'replica', lag: 5, dbs: [db({ txid: 9n })] }, 1500);
  t.equal(runs(sim).length, 1, 'the new primary migrates, not this replica');
  t.equal(sim.last('start-app')?.type, 'start-app', 'starts the app as a replica');
});

t.test('refuses: the S1 confirmation says replica: the retry does not start', async (t) => {
  const sim = migrating();
  sim.commandExit(0, 5);
  sim.see(primary, 1100);
  sim.see({ role: 'replica', lag: 5, dbs: [db({ txid: 9n })] }, 10, sim.lastToken());
  t.equal(runs(sim).length, 1);
});

t.test('before the app: retries used up exit 3', async (t) => {
  const sim = migrating({ migrateRetries: 2 });
  sim.commandExit(0, 1);
  sim.see(primary, 1000);
  sim.see(primary, 10, sim.lastToken());
  sim.commandExit(0, 1);
  sim.see(primary, 2000);
  sim.see(primary, 10, sim.lastToken());
  t.equal(sim.state.exited, undefined);
  sim.commandExit(0, 1);
  t.equal(sim.state.exited, 3, 'third failure with 2 retries: exit 3');
  t.equal(runs(sim).length, 3);
  t.notOk(sim.types().includes('start-app'));
});

t.test('S7: the app keeps serving, nothing exits, a slow retry is scheduled', async (t) => {
  const sim = new Sim(testConfig({ migrate: ['m1'], migrateRetries: 1 }));
  sim.loadHwm(undefined);
  sim.see({ role: 'replica', lag: 5, dbs: [db({ txid: 9n })] });
  sim.feed({ type: 'app-started', pid: 10 });
  sim.see(primary, 1000);
  sim.see(primary, 10, sim.lastToken());
  t.equal(runs(sim).length, 1, 'S7 migration while the app runs');
  sim.commandExit(0, 5, {});
  sim.see(primary, 1000);
  sim.see(primary, 10, sim.lastToken());
  sim.commandExit(0, 5);
  t.equal(sim.state.exited, undefined, 'never exits while the app serves');
  t.notOk(sim.types().includes('stop-app'), 'the app is not stopped');
  t.equal(sim.state.phase, 'running');
  const cmd = sim.state.commands[0]!;
  t.equal(cmd.retryAt, sim.now + MIGRATE_SLOW_RETRY_MS, 'next try in 5 minutes');
  const status = statusSnapshot(sim.state, sim.config, 'test', sim.now);
  t.match(status.migrations[0], { state: 'failed', failures: 2, retryAt: /Z$/ });
  t.match(healthVerdict(sim.state, sim.config), { ok: true, reason: /migration.*failed/ });
  sim.see(primary, MIGRATE_SLOW_RETRY_MS - 10);
  t.equal(runs(sim).length, 2, 'not before the slow retry');
  sim.see(primary, 20);
  sim.see(primary, 10, sim.lastToken());
  t.equal(runs(sim).length, 3, 'tried again after 5 minutes');
  sim.commandExit(0, 0);
  sim.see(primary, 10);
  t.equal(sim.state.phase, 'running');
  t.match(healthVerdict(sim.state, sim.config), { ok: true, reason: 'running as primary' });
});
