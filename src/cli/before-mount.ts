// `litefs-supervisor before-mount` (docs/design.md section 1, "Before the mount"): run before
// `litefs mount` (the Dockerfile's `litefs-supervisor before-mount && exec litefs mount`), it gives
// the nodes already running the first chance at a free lease. LiteFS asks for a free lease at
// once while it mounts, before its exec command (the supervisor) runs, and a node that takes it
// with an older database makes LiteFS replace the running nodes' newer data with its own
// (docs/litefs-facts.md, "A free lease goes to the first candidate"). The decision is
// freeLeaseWait (src/core/free-lease-wait.ts); here: read litefs.yml's facts, ask Consul, poll.
// Exit 0 whenever LiteFS may start (even when Consul fails: LiteFS meets the same Consul, and a
// machine's start never hangs on our own check); 130/143 when stopped during the wait, so `&&`
// keeps LiteFS from starting on a machine that is stopping.

import {
  LITEFS_DEFAULT_CONSUL_LOCK_DELAY_MS,
  LITEFS_DEFAULT_CONSUL_TTL_MS,
  LITEFS_DEFAULT_RECONNECT_DELAY_MS,
} from '../config/litefs-yml.js';
import type { LitefsYmlFacts } from '../config/types.js';
import { kvClient } from '../consul/kv.js';
import { type LeaseReader, leaseReader } from '../consul/lease.js';
import { signalExitCode } from '../core/exit-code.js';
import { freeLeaseWait, type LeaseTimings } from '../core/free-lease-wait.js';
import type { Logger } from '../ports.js';

/** How often the lease key is read while waiting. */
export const POLL_INTERVAL_MS = 100;

/** The signals that end the wait (docs/design.md section 9: 128+N, like a shell). */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export interface BeforeMountOptions {
  /** `--max-wait` in ms: caps the computed bound; 0 never waits. Undefined: the computed bound. */
  maxWaitMs: number | undefined;
}

/** Why there is nothing to wait for, from litefs.yml alone; undefined when there may be. */
function nothingToWaitFor(facts: LitefsYmlFacts | undefined): string | undefined {
  if (facts === undefined) return 'no litefs.yml found: nothing to wait for';
  if (facts.leaseType !== 'consul') {
    return `litefs.yml (${facts.path}) has lease.type ${facts.leaseType ?? '(unset)'}, not consul: no free lease to wait for`;
  }
  if (facts.leaseCandidate === false) {
    return `litefs.yml (${facts.path}) has lease.candidate false: this node never takes the lease`;
  }
  if (facts.consul === undefined) {
    return `litefs.yml (${facts.path}) has an empty lease.consul.url (FLY_CONSUL_URL unset?): nothing to ask`;
  }
  return undefined;
}

export function leaseTimings(facts: LitefsYmlFacts): LeaseTimings {
  return {
    reconnectDelayMs: facts.leaseReconnectDelay?.ms ?? LITEFS_DEFAULT_RECONNECT_DELAY_MS,
    ttlMs: facts.leaseConsulTtl?.ms ?? LITEFS_DEFAULT_CONSUL_TTL_MS,
    lockDelayMs: facts.leaseConsulLockDelay?.ms ?? LITEFS_DEFAULT_CONSUL_LOCK_DELAY_MS,
  };
}

export async function runBeforeMount(
  facts: LitefsYmlFacts | undefined,
  opts: BeforeMountOptions,
  logger: Logger,
): Promise<number> {
  const skip = nothingToWaitFor(facts);
  if (skip !== undefined || facts?.consul === undefined) {
    logger.log('info', { event: 'before-mount.skip' }, skip ?? 'nothing to wait for');
    return 0;
  }
  if (!facts.consul.ok) {
    logger.log(
      'warn',
      { event: 'before-mount.skip' },
      `litefs.yml (${facts.path}): ${facts.consul.error}; not waiting (LiteFS reads the same value)`,
    );
    return 0;
  }
  const kv = kvClient(facts.consul.value);
  const stop = stopSignal();
  try {
    const ended = await Promise.race([
      gate(leaseReader(facts.consul.value, kv), leaseTimings(facts), opts, logger),
      stop.signalled,
    ]);
    if (typeof ended === 'number') return ended;
    const exitCode = signalExitCode(ended);
    logger.log(
      'info',
      { event: 'before-mount.signal', signal: ended, exitCode },
      `stopped by ${ended} while leaving the free lease to the running nodes; exiting ${exitCode} so LiteFS does not start`,
    );
    return exitCode;
  } finally {
    stop.dispose();
    await kv.close();
  }
}

async function gate(
  lease: LeaseReader,
  timings: LeaseTimings,
  opts: BeforeMountOptions,
  logger: Logger,
): Promise<number> {
  const started = Date.now();
  const seen = await lease.read();
  const verdict = freeLeaseWait(seen, timings, opts.maxWaitMs);
  const key = lease.key;
  if (verdict.action === 'go') {
    if (seen.kind === 'held') {
      logger.log(
        'info',
        { event: 'before-mount.held', key, holder: seen.holder },
        `${seen.holder || 'a node'} holds the lease: joining as a replica`,
      );
    } else if (seen.kind === 'error') {
      logger.log(
        'warn',
        { event: 'before-mount.consul-fail', key, error: seen.error },
        `cannot read the lease: ${seen.error}; not waiting (LiteFS meets the same Consul)`,
      );
    } else {
      logger.log(
        'info',
        { event: 'before-mount.new', key },
        `no lease and no cluster ID under ${key}: a new cluster, nothing to wait for`,
      );
    }
    return 0;
  }
  const what =
    verdict.reason === 'released'
      ? 'the lease is free (released by a clean stop)'
      : 'the lease is free (deleted by an expired session; the cluster ID remains)';
  logger.log(
    'info',
    {
      event: 'before-mount.wait',
      key,
      reason: verdict.reason,
      boundMs: verdict.boundMs,
      computedMs: verdict.computedMs,
    },
    verdict.boundMs === 0
      ? `${what}; --max-wait 0: not waiting`
      : `${what}: leaving it to the running nodes for up to ${verdict.boundMs} ms`,
  );
  const deadline = started + verdict.boundMs;
  while (Date.now() < deadline) {
    await sleep(Math.min(POLL_INTERVAL_MS, deadline - Date.now()));
    const now = await lease.read();
    if (now.kind === 'held') {
      const waitedMs = Date.now() - started;
      logger.log(
        'info',
        { event: 'before-mount.taken', key, holder: now.holder, waitedMs },
        `${now.holder || 'a node'} took the lease: joining as a replica`,
      );
      return 0;
    }
  }
  if (verdict.boundMs > 0) {
    logger.log(
      'info',
      { event: 'before-mount.free', key, waitedMs: Date.now() - started },
      `no running node took the free lease in ${verdict.boundMs} ms: this node may take it`,
    );
  }
  return 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Resolves with the first stop signal; dispose() removes the handlers. */
function stopSignal(): { signalled: Promise<NodeJS.Signals>; dispose(): void } {
  let handlers: [NodeJS.Signals, () => void][] = [];
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    handlers = STOP_SIGNALS.map((s) => [s, () => resolve(s)]);
    for (const [s, h] of handlers) process.on(s, h);
  });
  return {
    signalled,
    dispose: () => {
      for (const [s, h] of handlers) process.off(s, h);
    },
  };
}
