import t from 'tap';
import { formatDuration, parseDuration, parseGoDurationNs } from '../../src/core/duration.js';

t.test('valid durations', async (t) => {
  const rows: [string, number][] = [
    ['0', 0],
    ['+0', 0],
    ['0s', 0],
    ['0ms', 0],
    ['500ms', 500],
    ['10s', 10_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['1h30m15s', 5_415_000],
    ['1m500ms', 60_500],
    ['1.5s', 1500],
    ['1.001s', 1001],
    ['.5s', 500],
    ['1.s', 1000],
    ['0.5h', 1_800_000],
    ['+10s', 10_000],
    ['1500us', 2], // 1.5ms rounds to 2
    ['1400µs', 1], // U+00B5
    ['1400μs', 1], // U+03BC
    ['2000000ns', 2],
    ['1ns', 1], // non-zero never becomes 0 (0 means "forever" for --sync-timeout)
    ['400us', 1],
    ['2562047h', 2562047 * 3_600_000],
  ];
  for (const [text, ms] of rows) {
    t.same(parseDuration(text), { ok: true, value: ms }, text);
  }
});

t.test('invalid durations', async (t) => {
  const rows: [string, RegExp][] = [
    ['', /is not a duration; use Go-style durations like 500ms, 10s, 5m, 1h30m/],
    ['10 seconds', /^"10 seconds" is not a duration; use Go-style durations like 500ms/],
    ['10', /has no unit/],
    ['1.5', /has no unit/],
    ['-5s', /is negative/],
    ['-0', /is negative/],
    ['5sec', /is not a duration/],
    ['5S', /is not a duration/],
    ['1d', /is not a duration/],
    ['s', /is not a duration/],
    ['.s', /is not a duration/],
    ['1hm', /is not a duration/],
    [' 10s', /is not a duration/],
    ['10s ', /is not a duration/],
    ['1h 30m', /is not a duration/],
    ['5constructor', /is not a duration/],
    ['1e3s', /is not a duration/],
    ['2562048h', /too long/],
  ];
  for (const [text, pattern] of rows) {
    const r = parseDuration(text);
    t.equal(r.ok, false, `${JSON.stringify(text)} refused`);
    if (!r.ok) t.match(r.error, pattern, `${JSON.stringify(text)} message`);
  }
});

t.test('formatDuration gives the shortest Go-style form', async (t) => {
  const rows: [number, string][] = [
    [0, '0s'],
    [500, '500ms'],
    [1000, '1s'],
    [1500, '1.5s'],
    [1250, '1.25s'],
    [30_000, '30s'],
    [60_000, '1m'],
    [600_000, '10m'],
    [3_600_000, '1h'],
    [5_400_000, '1h30m'],
    [5_415_000, '1h30m15s'],
    [60_500, '1m0.5s'],
    [3_600_001, '1h0.001s'],
    [-2000, '-2s'],
    [0.4, '0s'],
  ];
  for (const [ms, text] of rows) t.equal(formatDuration(ms), text, `${ms}`);
});

t.test('format then parse returns the same milliseconds', async (t) => {
  for (const ms of [0, 1, 7, 999, 1000, 1001, 59_999, 61_001, 3_599_999, 86_400_000, 90_061_001]) {
    t.same(parseDuration(formatDuration(ms)), { ok: true, value: ms }, `${ms}`);
  }
});

// Go's time.ParseDuration itself, as LiteFS reads litefs.yml durations: a sign is allowed, the
// limit is int64 nanoseconds on either side.
t.test('parseGoDurationNs: as Go reads it', async (t) => {
  const ok: [string, bigint][] = [
    ['0', 0n],
    ['-0', 0n],
    ['100ms', 100_000_000n],
    ['-1.5s', -1_500_000_000n],
    ['+1m30s', 90_000_000_000n],
    ['1µs', 1_000n],
    ['2562047h47m16.854775807s', 2n ** 63n - 1n],
    ['-2562047h47m16.854775808s', -(2n ** 63n)],
  ];
  for (const [text, ns] of ok) t.same(parseGoDurationNs(text), { ok: true, value: ns }, text);
  const refused: [string, RegExp][] = [
    ['2562047h47m16.854775808s', /too long/],
    ['-2562047h47m16.854775809s', /too long/],
    ['1', /has no unit/],
    ['-', /is not a duration/],
    ['fast', /is not a duration/],
  ];
  for (const [text, re] of refused) {
    const r = parseGoDurationNs(text);
    t.equal(r.ok, false, text);
    t.match(!r.ok && r.error, re, text);
  }
});
