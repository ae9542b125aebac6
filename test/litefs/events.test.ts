import t, { type Test } from 'tap';
import type { LitefsEvent } from '../../src/core/litefs-types.js';
import {
  EventsWatcher,
  type EventsWatcherError,
  type EventsWatcherOptions,
} from '../../src/litefs/events.js';
import { FakeLitefs, type FakeLitefsOptions } from '../../testkit/fake-litefs.js';
import { waitFor } from '../helpers/wait.js';

async function setup(
  t: Test,
  fakeOptions: FakeLitefsOptions = {},
  watcherOptions: Partial<EventsWatcherOptions> = {},
) {
  const fake = await FakeLitefs.start(fakeOptions);
  const events: LitefsEvent[] = [];
  const errors: EventsWatcherError[] = [];
  const log: string[] = [];
  const watcher = new EventsWatcher({
    url: fake.url,
    onEvent: (ev) => events.push(ev),
    onConnect: () => log.push('connect'),
    onDisconnect: (err) => log.push(`disconnect: ${err}`),
    onError: (err) => errors.push(err),
    ...watcherOptions,
  });
  t.teardown(async () => {
    await watcher.close();
    await fake.close();
  });
  return { fake, watcher, events, errors, log };
}

t.test('delivers init, primaryChange and tx events in order', async (t) => {
  const { fake, watcher, events, log } = await setup(t, { role: { replicaOf: 'machine-a' } });
  watcher.start();
  await waitFor(() => events.length === 1, { message: 'init event' });
  t.same(events[0], { type: 'init', isPrimary: false, hostname: 'machine-a' });
  t.same(log, ['connect']);
  t.equal(watcher.state, 'connected');

  fake.loseLeader();
  fake.becomePrimary();
  fake.writeDb('sqlite.db', { sqlite: true });
  fake.setPos('sqlite.db', 7n, '8000000000000007');
  await waitFor(() => events.length === 4, { message: 'three more events' });
  t.same(events.slice(1, 3), [
    // Losing the primary connection, then acquiring the lease: hostname omitted both times.
    { type: 'primaryChange', isPrimary: false, hostname: undefined },
    { type: 'primaryChange', isPrimary: true, hostname: undefined },
  ]);
  t.match(events[3], { type: 'tx', db: 'sqlite.db', txid: 7n, checksum: '8000000000000007' });
});

t.test('a cut stream reconnects, starts with a fresh init, and keeps delivering', async (t) => {
  const { fake, watcher, events, log } = await setup(t, { role: 'primary' });
  watcher.start();
  await waitFor(() => events.length === 1, { message: 'first init' });

  fake.cutEvents();
  await waitFor(() => log.some((l) => l.startsWith('disconnect')), { message: 'disconnect seen' });
  await waitFor(() => events.length === 2 && fake.eventConnections === 1, {
    message: 'second init after reconnect',
  });
  t.same(events[1], { type: 'init', isPrimary: true, hostname: undefined });

  fake.becomeReplica('machine-b');
  await waitFor(
    () => events.some((e) => e.type === 'primaryChange' && e.hostname === 'machine-b'),
    {
      message: 'event after reconnect',
    },
  );
  t.match(log, ['connect', /^disconnect: /, 'connect']);
});

t.test('reconnects after the LiteFS HTTP server restarts', async (t) => {
  const { fake, watcher, events, errors } = await setup(t, { role: 'primary' });
  watcher.start();
  await waitFor(() => events.length === 1, { message: 'init' });
  await fake.stop();
  await waitFor(() => errors.some((e) => e.kind === 'connect'), {
    message: 'a failed connect while down',
  });
  const failed = errors.find((e) => e.kind === 'connect');
  t.match(failed, { kind: 'connect', error: /ECONNREFUSED/ });
  // Backoff starts at 100 ms and is capped at 2 s.
  t.ok(failed?.kind === 'connect' && failed.retryInMs <= 2000);
  await fake.restart();
  await waitFor(() => events.length === 2, { message: 'init after restart' });
});

t.test('a bad line is reported and skipped; the stream goes on', async (t) => {
  const { fake, watcher, events, errors, log } = await setup(t, { role: 'primary' });
  watcher.start();
  await waitFor(() => events.length === 1, { message: 'init' });

  fake.sendRawEvent('{"type":"tx","db":"a.db","data":{"txID":12}}\n');
  fake.sendRawEvent('not json\n');
  // A valid event split across writes is reassembled.
  fake.sendRawEvent('{"type":"primaryCh');
  fake.sendRawEvent('ange","data":{"isPrimary":true}}\n');
  await waitFor(() => events.length === 2, { message: 'event after bad lines' });
  t.same(events[1], { type: 'primaryChange', isPrimary: true, hostname: undefined });
  t.equal(errors.length, 2);
  t.match(errors, [
    { kind: 'line', error: /txID/, line: /"txID":12/ },
    { kind: 'line', error: /one JSON object per line/, line: 'not json' },
  ]);
  t.same(log, ['connect'], 'no reconnect for a bad line');
});

t.test('404 (LiteFS without /events) backs off to the long interval, then recovers', async (t) => {
  const { fake, watcher, events, errors } = await setup(
    t,
    { role: 'primary' },
    { notFoundBackoffMs: 150 },
  );
  fake.disableEvents();
  watcher.start();
  await waitFor(() => errors.length >= 1, { message: 'a 404 reported' });
  t.match(errors[0], { kind: 'connect', status: 404, retryInMs: 150, error: /HTTP 404/ });
  t.equal(events.length, 0);
  fake.enableEvents();
  await waitFor(() => events.length === 1, { message: 'init once /events exists' });
});

t.test('close leaves no socket, no timer and no further requests', async (t) => {
  const { fake, watcher, events } = await setup(t, { role: 'primary' });
  watcher.start();
  await waitFor(() => events.length === 1 && fake.eventConnections === 1, { message: 'connected' });
  await watcher.close();
  t.equal(watcher.state, 'closed');
  await waitFor(() => fake.eventConnections === 0, { message: 'server saw the stream close' });
  const before = fake.requestsTo('/events').length;
  await watcher.close(); // idempotent

  // Closing while waiting to retry clears the timer at once.
  const waiting = new EventsWatcher({
    url: fake.url,
    onEvent: () => {},
    notFoundBackoffMs: 60_000,
  });
  fake.disableEvents();
  waiting.start();
  await waitFor(() => waiting.state === 'waiting', { message: 'in backoff' });
  const started = Date.now();
  await waiting.close();
  t.ok(Date.now() - started < 1000, 'close does not wait for the backoff timer');
  t.equal(fake.requestsTo('/events').length, before + 1, 'no request after close');
  t.equal(
    process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length,
    0,
    'no ref-ed timer left behind',
  );
});

t.test('fake /promote and /handoff switch roles after answering, via "no primary"', async (t) => {
  const { fake, watcher, events } = await setup(t, { role: { replicaOf: 'machine-a' } });
  watcher.start();
  await waitFor(() => events.length === 1, { message: 'init' });
  const promoted = await fetch(`${fake.url}/promote`, { method: 'POST' });
  t.equal(promoted.status, 200);
  await promoted.arrayBuffer();
  await waitFor(() => events.length === 3, { message: 'events after promote' });
  t.equal(fake.isPrimary, true);
  t.same(events.slice(1), [
    { type: 'primaryChange', isPrimary: false, hostname: undefined },
    { type: 'primaryChange', isPrimary: true, hostname: undefined },
  ]);

  fake.connectReplica('00000000000000AB', 'machine-b');
  const handed = await fetch(`${fake.url}/handoff?nodeID=00000000000000ab`, { method: 'POST' });
  t.equal(handed.status, 200);
  await handed.arrayBuffer();
  await waitFor(() => events.length === 7, { message: 'events after handoff' });
  t.equal(fake.remotePrimary, 'machine-b');
  // As real LiteFS 0.5.11 does (test/fixtures/litefs-0.5.11): the old primary names itself for
  // a moment ("cannot connect to self") before it follows the new primary.
  t.same(events.slice(3), [
    { type: 'primaryChange', isPrimary: false, hostname: undefined },
    { type: 'primaryChange', isPrimary: false, hostname: fake.hostname },
    { type: 'primaryChange', isPrimary: false, hostname: undefined },
    { type: 'primaryChange', isPrimary: false, hostname: 'machine-b' },
  ]);
});
