// Go-style durations (`500ms`, `10s`, `1h30m`), as LiteFS and Fly users already write them
// (docs/design.md section 6). Pure: parsing follows Go's time.ParseDuration grammar (a bare
// number other than `0` is refused there too: `10` could mean seconds or milliseconds); the
// supervisor's own options also refuse negatives (no timeout or interval can be negative), while
// litefs.yml's values are read as LiteFS reads them (parseGoDurationNs).

import type { ParseResult } from './litefs-types.js';

export const DURATION_HINT = 'use Go-style durations like 500ms, 10s, 5m, 1h30m';

const NS_PER_MS = 1_000_000n;

// `µs` is U+00B5 and `μs` U+03BC; Go accepts both spellings.
// A Map, not an object literal: `5constructor` must not find Object.prototype.constructor.
const UNIT_NS = new Map<string, bigint>([
  ['ns', 1n],
  ['us', 1_000n],
  ['µs', 1_000n],
  ['μs', 1_000n],
  ['ms', NS_PER_MS],
  ['s', 1_000n * NS_PER_MS],
  ['m', 60_000n * NS_PER_MS],
  ['h', 3_600_000n * NS_PER_MS],
]);

// Go's time.Duration is an int64 of nanoseconds: anything larger is an error there too.
const MAX_NS = 2n ** 63n - 1n;

// One `<number><unit>` part; the unit is the whole run of non-digits, as in Go.
const COMPONENT = /^(\d*)(?:\.(\d*))?([^\d.]+)/;

function notADuration(text: string): { ok: false; error: string } {
  return { ok: false, error: `${JSON.stringify(text)} is not a duration; ${DURATION_HINT}` };
}

/**
 * Go's time.ParseDuration, as LiteFS reads its litefs.yml durations: nanoseconds (Go's int64),
 * a leading `-` or `+` allowed. Exact: fractions are decimal (Go rounds them through a float64,
 * at most a nanosecond apart).
 */
export function parseGoDurationNs(text: string): ParseResult<bigint> {
  let rest = text;
  const negative = rest.startsWith('-');
  if (negative || rest.startsWith('+')) rest = rest.slice(1);
  if (rest === '0') return { ok: true, value: 0n };
  if (rest === '') return notADuration(text);
  if (/^\d+(\.\d*)?$/.test(rest)) {
    return {
      ok: false,
      error: `${JSON.stringify(text)} has no unit; write for example ${rest}s or ${rest}ms (${DURATION_HINT})`,
    };
  }

  // Go's limit is on the magnitude: -2^63 ns fits, 2^63 does not.
  const limit = negative ? MAX_NS + 1n : MAX_NS;
  let totalNs = 0n;
  while (rest !== '') {
    const m = COMPONENT.exec(rest);
    if (!m) return notADuration(text);
    const whole = m[1] ?? '';
    const frac = m[2] ?? '';
    const unitText = m[3] ?? '';
    if (whole === '' && frac === '') return notADuration(text);
    const unitNs = UNIT_NS.get(unitText);
    if (unitNs === undefined) return notADuration(text);
    let ns = BigInt(whole === '' ? '0' : whole) * unitNs;
    if (frac !== '') {
      // Exact decimal arithmetic: 1.001s must be 1001ms, not 1000.9999.
      ns += (BigInt(frac) * unitNs) / 10n ** BigInt(frac.length);
    }
    totalNs += ns;
    if (totalNs > limit) {
      return { ok: false, error: `${JSON.stringify(text)} is too long (at most 2562047h)` };
    }
    rest = rest.slice(whole.length + (m[2] === undefined ? 0 : frac.length + 1) + unitText.length);
  }
  return { ok: true, value: negative ? -totalNs : totalNs };
}

/** Parses a Go-style duration into whole milliseconds (sub-millisecond parts are rounded). */
export function parseDuration(text: string): ParseResult<number> {
  if (text.startsWith('-')) {
    return {
      ok: false,
      error: `${JSON.stringify(text)} is negative; durations must be 0 or more, like 0, 500ms, 10s`,
    };
  }
  const r = parseGoDurationNs(text);
  if (!r.ok) return { ok: false, error: r.error };
  const totalNs = r.value;
  let ms = (totalNs + NS_PER_MS / 2n) / NS_PER_MS;
  // A non-zero duration never becomes 0: for --sync-timeout, 0 means "wait forever".
  if (ms === 0n && totalNs > 0n) ms = 1n;
  return { ok: true, value: Number(ms) };
}

/** Shortest Go-style text for a number of milliseconds: `30s`, `10m`, `1h30m`, `1.5s`, `500ms`, `0s`. */
export function formatDuration(ms: number): string {
  let rest = Math.round(Math.abs(ms));
  const sign = ms < 0 && rest !== 0 ? '-' : '';
  if (rest === 0) return '0s';
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = Math.floor(rest / 1000);
  const milli = rest - s * 1000;

  let out = sign;
  if (h > 0) out += `${h}h`;
  if (m > 0) out += `${m}m`;
  if (milli === 0) {
    if (s > 0) out += `${s}s`;
  } else if (out === sign && s === 0) {
    out += `${milli}ms`;
  } else {
    // `1.5s` and `1m0.25s` are shorter than `1s500ms` and `1m250ms`.
    out += `${s}.${String(milli).padStart(3, '0').replace(/0+$/, '')}s`;
  }
  return out;
}
