// The nemesis timeline (testkit/nemesis/timeline.ts) on a made-up run: the stretches without an
// acknowledged write, the per-bin counts, and an SVG that draws every lease period, every
// operation and every exit of the run it is given.

import t from 'tap';
import {
  bins,
  type TimelineRun,
  type TimelineWrite,
  timelineSvg,
  unavailable,
} from '../../testkit/nemesis/timeline.js';

const ok = (at: number): TimelineWrite => ({ sentMs: at - 5, settledMs: at, ok: true });
const failed = (at: number): TimelineWrite => ({
  sentMs: at,
  settledMs: at + 3,
  ok: false,
  reason: '503 Proxy error: no primary available',
});

t.test('unavailable: stretches of 200 ms or more without an acknowledgement', async (t) => {
  const writes = [ok(100), ok(120), failed(150), failed(300), ok(500), ok(520), ok(900)];
  // 120 -> 500, and 520 -> 895: the window ends at the last write sent, as the run's own
  // figures (summarizeWrites) count it; 95 -> 100 is shorter than 200 ms.
  t.same(unavailable(writes), [
    { from: 120, to: 500 },
    { from: 520, to: 895 },
  ]);
  t.same(unavailable([ok(10), ok(30), ok(50)]), [], 'steady acks: none');
  t.same(unavailable([]), [], 'no writes: none');
  t.same(
    unavailable([ok(0), failed(100), failed(400)]),
    [{ from: 0, to: 400 }],
    'a stretch reaching the last write sent is closed there',
  );
});

t.test('bins: acknowledged and failed per 500 ms, by settle time', async (t) => {
  const b = bins([ok(10), ok(499), ok(500), failed(600), failed(1200), ok(5000)], 1500);
  t.same(b.ok, [2, 1, 0], 'a write settled after the end is not drawn');
  t.same(b.failed, [0, 1, 1]);
});

const run: TimelineRun = {
  seed: 7,
  setup: 'supervisor',
  acked: 4,
  lostAcked: 0,
  emptied: 0,
  twoWriters: 0,
  failedRequests: 2,
  longestUnavailableMs: 380,
  wallMs: 2000,
  leases: [
    { node: 'node-a', fromMs: -500, toMs: 700 },
    { node: 'node-b', fromMs: 760, toMs: 2000 },
  ],
  operations: [
    { index: 0, kind: 'kill-litefs', node: 'node-a', startMs: 650, endMs: 1500, detail: ['x<y'] },
    { index: 1, kind: 'consul-outage', startMs: 1600, endMs: 1900, detail: [] },
  ],
  unexpectedExits: [{ node: 'node-c', code: 1, atMs: 1000, restarted: true }],
  liveness: { ok: true, nodes: [] },
};

t.test('timelineSvg draws every lease, operation and exit of the run', async (t) => {
  const svg = timelineSvg(run, [ok(100), ok(600), failed(800), failed(900), ok(1300), ok(1900)]);
  t.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  t.equal(svg.match(/ holds the lease -?\d/g)?.length, 2, 'one bar per lease period');
  t.match(svg, /node-a holds the lease -500-700 ms/);
  t.match(svg, /0\. kill-litefs node-a/);
  t.match(svg, /1\. consul-outage/);
  t.match(svg, /node-c exited by itself \(1\) at 1000 ms/, 'a node with only an exit has a row');
  t.match(svg, /x&lt;y/, 'operation details are escaped');
  t.notMatch(svg, /x<y/);
  t.match(svg, /fill="#c0392b"\/>/, 'failed writes drawn');
  t.match(svg, /fill="#fbe3e1"/, 'the stretch without an ack shaded');
  t.match(svg, /seed 7, supervisor: acked 4, lost 0/);
  t.match(svg, />lost 0</, 'the lost row says none');
  t.notMatch(svg, /lost, acknowledged at/);
});

t.test('timelineSvg draws lost acknowledged writes where they were acknowledged', async (t) => {
  const svg = timelineSvg(run, [ok(100), ok(600)], [100, 120, 1300]);
  t.match(svg, />lost 3</);
  t.match(svg, /2 lost, acknowledged at 0-500 ms/, 'two in the first half second');
  t.match(svg, /1 lost, acknowledged at 1000-1500 ms/);
});
