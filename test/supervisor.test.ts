// The runner with every I/O faked: inputs are handled one at a time, an S1 confirmation is
// always answered by an observation started after it was asked for, and finish() leaves no
// child running.

import t from 'tap';
import { obs } from './helpers/builders.js';
import { Harness, settle } from './helpers/harness.js';

t.test('an S1 confirmation is answered only by an observation started after it', async (t) => {
  const h = new Harness();
  const { sup, done } = await h.supervisor();
  t.equal(h.observations.length, 1, 'first poll in flight');
  h.observations[0]!.answer(obs({ role: 'primary' }));
  await settle();
  // decide asked for a confirmation; no observation was in flight, so one starts now.
  t.equal(h.observations.length, 2);
  t.equal(h.commands.length, 0, 'nothing runs before the confirmation');
  // The next poll fires while the confirmation is in flight: it must not start a third
  // observation concurrently, and the confirmation's answer is what runs the command.
  await h.tick(1000);
  t.equal(h.observations.length, 2, 'at most one observation in flight');
  h.observations[1]!.answer(obs({ role: 'primary' }));
  await settle();
  t.equal(h.commands.length, 1, 'the confirmed migration runs');
  t.equal(h.observations.length, 3, 'the poll that was asked for meanwhile runs after it');
  h.commands[0]!.done(0);
  await settle();
  h.observations[2]!.answer(obs({ role: 'primary' }));
  await settle();
  t.equal(h.apps.length, 1, 'the app starts');
  sup.dispatch({ type: 'signal', signal: 'SIGTERM' });
  t.same(h.apps[0]!.signals, ['terminate:SIGTERM']);
  h.apps[0]!.exit({ exitCode: 143 });
  t.equal(await done, 143);
});

t.test('a confirmation asked while a poll is in flight waits for a new observation', async (t) => {
  const h = new Harness();
  const { sup } = await h.supervisor();
  // An /events message says primary while the first poll is still in flight.
  h.observations[0]!.answer(obs({ role: 'replica', lag: 'unsynced' }));
  await settle();
  await h.tick(1000);
  t.equal(h.observations.length, 2);
  sup.dispatch({
    type: 'litefs-event',
    event: { type: 'primaryChange', isPrimary: true, hostname: undefined },
  });
  t.ok(h.events().includes('migrate.confirm'), 'the event asks for a confirmation');
  // The poll that was already in flight when the token was issued answers: not fresh.
  h.observations[1]!.answer(obs({ role: 'primary' }));
  await settle();
  t.equal(h.commands.length, 0, 'an observation started before the request does not confirm');
  t.equal(h.observations.length, 3, 'a fresh one was started');
  h.observations[2]!.answer(obs({ role: 'primary' }));
  await settle();
  t.equal(h.commands.length, 1);
});

t.test('the app exiting ends the run with its code; no timer is left', async (t) => {
  const h = new Harness({ migrate: [] });
  const { done } = await h.supervisor();
  h.observations[0]!.answer(obs({ role: 'replica', lag: 0 }));
  await settle();
  t.equal(h.apps.length, 1);
  h.apps[0]!.exit({ exitCode: 9 });
  t.equal(await done, 9);
  t.same(h.pending(), [], 'no timer left');
});

t.test('an internal error ends the run with 70, after stopping the app', async (t) => {
  const h = new Harness({ migrate: [] });
  const { done } = await h.supervisor();
  h.observations[0]!.answer(obs({ role: 'replica', lag: 0 }));
  await settle();
  h.deps.observe = () => Promise.reject(new Error('boom'));
  await h.tick(1000);
  t.ok(h.events().includes('supervisor.crash'));
  t.same(h.apps[0]!.signals, ['terminate:SIGTERM'], 'the app is stopped');
  h.apps[0]!.exit({ exitCode: 143 });
  t.equal(await done, 70, 'with 70, not the app code');
});
