// The HTTP writer (testkit/http-writer.ts) against tiny local servers standing in for LiteFS's
// proxy: one that commits (200), one that answers as a replica does (fly-replay with an empty
// 200), one without a primary (503), and a port nobody listens on. No LiteFS needed.

import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import {
  failureReason,
  replayInstance,
  startHttpWriter,
  summarizeWrites,
  type WriteRecord,
} from '../../testkit/http-writer.js';
import { freePort } from '../../testkit/wait.js';

type Handler = Parameters<typeof createServer>[1];

async function serve(t: Test, handler: Handler): Promise<{ url: string; keys: string[] }> {
  const keys: string[] = [];
  const server: Server = createServer((req, res) => {
    const key = new URL(req.url ?? '/', 'http://x').searchParams.get('key');
    if (key !== null) keys.push(key);
    handler!(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, keys };
}

/** node-a commits, node-b is a replica of node-a, node-c has no primary, node-d is down. */
async function nodes(t: Test) {
  const a = await serve(t, (req, res) => {
    res.writeHead(req.method === 'POST' ? 200 : 405).end('ok\n');
  });
  const b = await serve(t, (_req, res) => {
    // LiteFS's serveNonRead on a replica: the header, no WriteHeader call, so an empty 200.
    res.setHeader('fly-replay', 'instance=node-a');
    res.end();
  });
  const c = await serve(t, (_req, res) => {
    res.writeHead(503).end('Proxy error: no primary available\n');
  });
  const d = `http://127.0.0.1:${await freePort()}`;
  return {
    a,
    b,
    c,
    proxies: { 'node-a': a.url, 'node-b': b.url, 'node-c': c.url, 'node-d': d },
  };
}

t.test('writes to the primary are acknowledged and their keys listed', async (t) => {
  const { a, proxies } = await nodes(t);
  const report = await startHttpWriter({ proxies, entries: ['node-a'], maxWrites: 20 }).done;
  t.equal(report.attempts, 20);
  t.equal(report.acked, 20);
  t.equal(report.failed, 0);
  t.same(report.failures, {});
  t.same(report.servedBy, { 'node-a': 20 });
  t.equal(new Set(report.ackedKeys).size, 20, 'every key is unique');
  // Sent 10 ms apart but concurrently: they may arrive in another order.
  t.same(
    [...report.ackedKeys].sort(),
    [...a.keys].sort(),
    'the acknowledged keys are the ones the server received',
  );
  t.ok(report.records.every((r) => r.ok && r.status === 200 && r.settledAt >= r.sentAt));
  t.ok(
    report.records.every((r) => r.ackBody === 'ok'),
    "each acknowledgement keeps the answer's first line",
  );
});

t.test('a replica answer is replayed to the instance it names, as Fly does', async (t) => {
  const { a, b, proxies } = await nodes(t);
  const report = await startHttpWriter({ proxies, entries: ['node-b'], maxWrites: 5 }).done;
  t.equal(report.acked, 5, 'the empty 200 with fly-replay is not an acknowledgement');
  t.equal(report.replayed, 5);
  t.same(report.servedBy, { 'node-a': 5 });
  t.equal(b.keys.length, 5);
  t.same([...a.keys].sort(), [...report.ackedKeys].sort(), 'node-a received every replayed write');
  t.ok(report.records.every((r) => r.entry === 'node-b' && r.replays.join() === 'node-a'));
});

t.test('round robin over the entries: failures by reason, served by whom', async (t) => {
  const { proxies } = await nodes(t);
  const report = await startHttpWriter({
    proxies,
    entries: ['node-a', 'node-b', 'node-c', 'node-d'],
    maxWrites: 8,
  }).done;
  t.equal(report.attempts, 8);
  t.same(
    report.records.map((r) => r.entry),
    ['node-a', 'node-b', 'node-c', 'node-d', 'node-a', 'node-b', 'node-c', 'node-d'],
  );
  t.equal(report.acked, 4, 'node-a directly and node-b by replay');
  t.equal(report.failed, 4);
  t.same(report.failures, {
    '503 Proxy error: no primary available': 2,
    ECONNREFUSED: 2,
  });
  t.same(report.servedBy, { 'node-a': 4, 'node-c': 2, 'node-d': 2 });
  const refused = report.records.find((r) => r.entry === 'node-d')!;
  t.equal(refused.status, undefined);
  t.equal(refused.error, 'ECONNREFUSED');
  t.equal(report.records.find((r) => r.entry === 'node-c')?.status, 503);
});

t.test('the entries function is asked before every write; none is a failed write', async (t) => {
  const { proxies } = await nodes(t);
  let calls = 0;
  const report = await startHttpWriter({
    proxies,
    entries: () => (calls++ % 2 === 0 ? ['node-a'] : []),
    maxWrites: 6,
  }).done;
  t.equal(calls, 6);
  t.equal(report.acked, 3);
  t.same(report.failures, { 'no entry node': 3 });
});

t.test('fly-replay that cannot be followed fails the write', async (t) => {
  const { url: loop } = await serve(t, (_req, res) => {
    res.setHeader('fly-replay', 'instance=node-loop');
    res.end();
  });
  const { url: elsewhere } = await serve(t, (_req, res) => {
    res.setHeader('fly-replay', 'instance=node-gone');
    res.end();
  });
  const { url: region } = await serve(t, (_req, res) => {
    res.setHeader('fly-replay', 'region=ams');
    res.end();
  });
  const proxies = { 'node-loop': loop, 'node-else': elsewhere, 'node-region': region };
  const report = await startHttpWriter({
    proxies,
    entries: ['node-loop', 'node-else', 'node-region'],
    maxWrites: 3,
    maxReplays: 2,
  }).done;
  t.equal(report.acked, 0);
  t.same(report.failures, {
    '200 more than 2 replays (node-loop -> node-loop)': 1,
    '200 no proxy URL for node-gone': 1,
    '200 fly-replay without an instance: region=ams': 1,
  });
});

t.test('bounded in time: stop() and durationMs end the sending', async (t) => {
  const { proxies } = await nodes(t);
  const w = startHttpWriter({ proxies, entries: ['node-a'], durationMs: 150, intervalMs: 10 });
  const report = await w.done;
  t.ok(
    report.attempts >= 1 && report.attempts <= 16,
    `about 15 writes in 150 ms, got ${report.attempts}`,
  );
  const last = report.records[report.records.length - 1]!;
  t.ok(last.sentAt - report.records[0]!.sentAt < 150 + 10, 'none sent after the duration');

  const stopped = startHttpWriter({ proxies, entries: ['node-a'], intervalMs: 10 });
  await new Promise((r) => setTimeout(r, 30));
  const early = await stopped.stop();
  const count = early.attempts;
  await new Promise((r) => setTimeout(r, 50));
  t.equal(stopped.records().length, count, 'nothing sent after stop()');
  t.ok(
    early.records.every((r) => r.settledAt > 0),
    'stop() waits for the writes in flight',
  );
});

t.test('a write held by the server settles late and is counted when it settles', async (t) => {
  const held: (() => void)[] = [];
  const { url } = await serve(t, (_req, res) => {
    held.push(() => res.writeHead(200).end());
  });
  const w = startHttpWriter({ proxies: { slow: url }, maxWrites: 3, intervalMs: 5 });
  const { waitFor } = await import('../../testkit/wait.js');
  await waitFor(() => held.length === 3, { message: 'three held writes' });
  for (const release of held) release();
  const report = await w.done;
  t.equal(report.acked, 3);

  const { url: never } = await serve(t, () => {});
  const timedOut = await startHttpWriter({ proxies: { never }, maxWrites: 1, timeoutMs: 50 }).done;
  t.same(timedOut.failures, { timeout: 1 });
});

const rec = (sentAt: number, settledAt: number, ok: boolean, extra: Partial<WriteRecord> = {}) =>
  ({
    key: `k${sentAt}`,
    entry: 'node-a',
    sentAt,
    settledAt,
    ok,
    replays: [],
    servedBy: 'node-a',
    ...(ok ? { status: 200 } : { status: 503, error: 'no primary' }),
    ...extra,
  }) as WriteRecord;

t.test(
  'summarizeWrites: time without an acknowledged write, from first to last write sent',
  async (t) => {
    // Sent every 10 ms from 1000 to 1100. Acks at 1005 and 1015; the writes sent 1020..1060 fail;
    // the one sent at 1070 hangs until 1300 (after the window), the ones at 1080/1090 succeed
    // at 1095 and 1092; 1100 (the last sent) fails.
    const records = [
      rec(1000, 1005, true),
      rec(1010, 1015, true),
      rec(1020, 1021, false),
      rec(1030, 1031, false),
      rec(1040, 1041, false),
      rec(1050, 1051, false),
      rec(1060, 1061, false, { status: undefined, error: 'ECONNREFUSED' }),
      rec(1070, 1300, true),
      rec(1090, 1092, true),
      rec(1080, 1095, true),
      rec(1100, 1101, false),
    ];
    const s = summarizeWrites(records, 50);
    t.equal(s.attempts, 11);
    t.equal(s.acked, 5);
    t.equal(s.failed, 6);
    t.same(s.failures, { '503 no primary': 5, ECONNREFUSED: 1 });
    t.equal(s.windowMs, 100);
    // Points 1000, 1005, 1015, 1092, 1095, 1100: one gap of at least 50 ms, 1015 -> 1092.
    t.same(s.noAck.stretches, [{ from: 1015, to: 1092, ms: 77 }]);
    t.equal(s.noAck.totalMs, 77);
    t.equal(s.noAck.longestMs, 77);
    t.same(s.latency, { p50: 5, p99: 230, max: 230 });
    t.same(s.ackedKeys, ['k1000', 'k1010', 'k1070', 'k1080', 'k1090'], 'in the order sent');

    const none = summarizeWrites([rec(0, 5, false), rec(10, 15, false), rec(400, 401, false)], 100);
    t.same(none.noAck, {
      totalMs: 400,
      longestMs: 400,
      stretches: [{ from: 0, to: 400, ms: 400 }],
    });
    t.same(none.latency, { p50: 0, p99: 0, max: 0 });

    const twoGaps = summarizeWrites(
      [
        rec(0, 1, true),
        rec(10, 11, false),
        rec(200, 201, true),
        rec(210, 212, false),
        rec(500, 501, true),
      ],
      100,
    );
    t.same(
      twoGaps.noAck.stretches.map((x) => x.ms),
      [200, 299],
      'start -> 1, 1 -> 201, 201 -> 500 (the last ack, at 501, is after the window)',
    );
    t.equal(twoGaps.noAck.totalMs, 499);
    t.equal(twoGaps.noAck.longestMs, 299);

    t.same(summarizeWrites([]).noAck, { totalMs: 0, longestMs: 0, stretches: [] });
  },
);

t.test('failureReason groups errors that differ only by address', async (t) => {
  const error =
    'Proxy error: read tcp 127.0.0.1:47088->127.0.0.1:38691: read: connection reset by peer';
  t.equal(
    failureReason({ status: 502, error }),
    '502 Proxy error: read tcp ADDR->ADDR: read: connection reset by peer',
  );
  t.equal(failureReason({ status: undefined, error: 'ECONNREFUSED' }), 'ECONNREFUSED');
  t.equal(failureReason({ status: 503, error: '' }), '503');
});

t.test('replayInstance reads the instance among other fields', async (t) => {
  t.equal(replayInstance('instance=node-b'), 'node-b');
  t.equal(replayInstance('region=ams;instance=abc123;state=x'), 'abc123');
  t.equal(replayInstance('region=ams'), undefined);
  t.equal(replayInstance('myinstance=x'), undefined);
});
