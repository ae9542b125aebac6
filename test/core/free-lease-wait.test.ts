// before-mount's decision as a pure function (docs/design.md section 1, "Before the mount"): a
// starting candidate waits only while the lease is free (released or expired), for the longest
// a running node can take to claim it, from litefs.yml's timings; never for a held lease, a new
// cluster or a Consul that fails; --max-wait caps the bound and 0 turns the wait off.

import t from 'tap';
import {
  FREE_LEASE_MARGIN_MS,
  freeLeaseBoundMs,
  freeLeaseWait,
  type LeaseSeen,
  type LeaseTimings,
} from '../../src/core/free-lease-wait.js';

/** LiteFS's defaults: reconnect-delay 1s, ttl 10s, lock-delay 1s. */
const DEFAULTS: LeaseTimings = { reconnectDelayMs: 1000, ttlMs: 10_000, lockDelayMs: 1000 };
/** What `init` writes and the tests' clusters use: reconnect-delay 100ms, ttl 2s. */
const FAST: LeaseTimings = { reconnectDelayMs: 100, ttlMs: 2000, lockDelayMs: 1000 };

t.test('no wait: a held lease, a new cluster, a Consul that failed', async (t) => {
  const cases: [LeaseSeen, string][] = [
    [{ kind: 'held', holder: 'node-a' }, 'held'],
    [{ kind: 'new' }, 'new'],
    [
      { kind: 'error', error: 'GET litefs/app on Consul at http://x: no answer within 2000 ms' },
      'error',
    ],
  ];
  for (const [seen, reason] of cases) {
    for (const max of [undefined, 0, 60_000]) {
      t.same(
        freeLeaseWait(seen, DEFAULTS, max),
        { action: 'go', reason },
        `${seen.kind}, max ${max}`,
      );
    }
  }
});

t.test('a released lease: 2 x reconnect-delay + margin, no TTL or lock-delay', async (t) => {
  t.equal(FREE_LEASE_MARGIN_MS, 500);
  t.same(freeLeaseWait({ kind: 'released' }, DEFAULTS, undefined), {
    action: 'wait',
    reason: 'released',
    boundMs: 2500,
    computedMs: 2500,
  });
  t.equal(freeLeaseBoundMs('released', FAST), 700);
  // The TTL and lock-delay do not count after a clean stop: changing them changes nothing.
  t.equal(freeLeaseBoundMs('released', { ...FAST, ttlMs: 60_000, lockDelayMs: 15_000 }), 700);
});

t.test('an expired lease: TTL/2 + lock-delay + 2 x reconnect-delay + margin', async (t) => {
  t.same(freeLeaseWait({ kind: 'expired' }, DEFAULTS, undefined), {
    action: 'wait',
    reason: 'expired',
    boundMs: 5000 + 1000 + 2000 + 500,
    computedMs: 8500,
  });
  t.equal(freeLeaseBoundMs('expired', FAST), 1000 + 1000 + 200 + 500);
  t.equal(freeLeaseBoundMs('expired', { ...FAST, lockDelayMs: 0 }), 1000 + 200 + 500);
  t.equal(freeLeaseBoundMs('expired', { ...FAST, ttlMs: 30_000 }), 15_000 + 1000 + 200 + 500);
  // Negative durations (Go accepts them in litefs.yml) count as none, never shorten the bound.
  t.equal(
    freeLeaseBoundMs('expired', { reconnectDelayMs: -1, ttlMs: -1, lockDelayMs: -1 }),
    FREE_LEASE_MARGIN_MS,
  );
});

t.test('--max-wait caps the bound, never raises it; 0 turns the wait off', async (t) => {
  const capped = freeLeaseWait({ kind: 'expired' }, DEFAULTS, 3000);
  t.same(capped, { action: 'wait', reason: 'expired', boundMs: 3000, computedMs: 8500 });
  const above = freeLeaseWait({ kind: 'released' }, FAST, 60_000);
  t.same(above, { action: 'wait', reason: 'released', boundMs: 700, computedMs: 700 });
  const off = freeLeaseWait({ kind: 'released' }, FAST, 0);
  t.same(off, { action: 'wait', reason: 'released', boundMs: 0, computedMs: 700 });
});
