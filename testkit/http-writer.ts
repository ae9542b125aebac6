// Writes the way users send them on Fly: HTTP requests to the nodes' LiteFS proxies, each with a
// unique key, one every `intervalMs` whatever the earlier ones are doing (users do not wait for
// each other), with `fly-replay: instance=<hostname>` followed as Fly's edge does. LiteFS's proxy
// answers a write on a replica with that header and an empty 200 instead of forwarding it
// (docs/litefs-facts.md, LiteFS's proxy and writes; http/proxy_server.go serveNonRead), so a
// client that ignored the header would count writes that never reached a database.
//
// Recorded per write: its key, the entry node, when it was sent and settled, whether it was
// acknowledged (2xx from the node that served it), the status or error otherwise. From these,
// summarizeWrites computes what a user feels: failed requests, and how long no write was
// acknowledged. The acknowledged keys are what a checker compares with the final primary's
// database (every acknowledged key must be there). Development only, like all of testkit/.

import { randomUUID } from 'node:crypto';

export interface HttpWriterOptions {
  /** Every node's LiteFS proxy URL by its lease hostname: the entries and the replay targets. */
  proxies: Record<string, string>;
  /**
   * The nodes that take new writes, in turn (round robin): a list, or a function asked before
   * every write (e.g. the nodes Fly's edge routes to right now). Default: every node in
   * `proxies`. An empty list makes that write fail (`no entry node`).
   */
  entries?: string[] | (() => string[]);
  /** Time between two writes being sent (default 10 ms). */
  intervalMs?: number;
  /** Stop sending after this many writes (default 100,000). */
  maxWrites?: number;
  /** Stop sending this long after the first write (default 60 s). */
  durationMs?: number;
  /** Give up on one write, replays included, after this long (default 30 s, LiteFS's own dial retry window). */
  timeoutMs?: number;
  /** At most this many replays per write before it counts as failed (default 5). */
  maxReplays?: number;
  /** The request path for a key (default `/write?key=<key>`); the method is POST. */
  path?: (key: string) => string;
  /** A gap between acknowledgements counts as time without a write from this long (default 100 ms). */
  gapMs?: number;
}

export interface WriteRecord {
  key: string;
  /** The node the write was sent to first, or undefined when there was none. */
  entry: string | undefined;
  /** ms since epoch. */
  sentAt: number;
  /** When the answer (or the error) arrived; for an acknowledged write, its ack time. */
  settledAt: number;
  ok: boolean;
  /** HTTP status of the last answer, if one arrived. */
  status?: number;
  /** Why it failed, when it did: the response body's first line or the connection error. */
  error?: string;
  /** The node whose proxy gave the last answer. */
  servedBy?: string;
  /** The acknowledging answer's first line (at most 200 characters), e.g. what the app says it committed. */
  ackBody?: string;
  /** The hostnames fly-replay sent it to, in order. */
  replays: string[];
}

export interface Stretch {
  from: number;
  to: number;
  ms: number;
}

export interface WriteSummary {
  attempts: number;
  acked: number;
  failed: number;
  /** Failed writes by reason (`503 Proxy error: no primary available`, `ECONNREFUSED`, ...). */
  failures: Record<string, number>;
  /** From the first write sent to the last one sent. */
  windowMs: number;
  /**
   * The stretches of the window in which no write was acknowledged for at least `gapMs`:
   * between the window's start, each acknowledgement and the window's end.
   */
  noAck: { totalMs: number; longestMs: number; stretches: Stretch[] };
  /** Time from sent to acknowledged, over the acknowledged writes (ms). */
  latency: { p50: number; p99: number; max: number };
  /** Which node served the writes, acknowledged or not. */
  servedBy: Record<string, number>;
  /** How many writes were replayed at least once. */
  replayed: number;
  /** Every acknowledged key, in the order they were sent. */
  ackedKeys: string[];
}

export interface HttpWriter {
  /** Resolves when sending stopped (bounds reached or stop()) and every write has settled. */
  done: Promise<WriteSummary & { records: WriteRecord[] }>;
  /** Stops sending now; resolves like `done`. */
  stop(): Promise<WriteSummary & { records: WriteRecord[] }>;
  /** The writes so far (settled or not: an unsettled one has settledAt 0). */
  records(): readonly WriteRecord[];
}

/**
 * A failure's reason without what differs from one request to the next (addresses, ports), so
 * that e.g. LiteFS's `502 Proxy error: read tcp 127.0.0.1:47088->127.0.0.1:38691: read:
 * connection reset by peer` groups into one reason.
 */
export function failureReason(r: Pick<WriteRecord, 'status' | 'error'>): string {
  const error = (r.error ?? 'unknown').replace(/\b\d{1,3}(?:\.\d{1,3}){3}:\d+\b/g, 'ADDR');
  return r.status === undefined ? error : `${r.status} ${error}`.trim();
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
}

/**
 * The figures a user feels, from the records. The window runs from the first write sent to the
 * last one sent; acknowledgements after its end do not shorten a stretch that reaches it.
 */
export function summarizeWrites(records: readonly WriteRecord[], gapMs = 100): WriteSummary {
  const failures: Record<string, number> = {};
  const servedBy: Record<string, number> = {};
  const ackedKeys: string[] = [];
  const latencies: number[] = [];
  let replayed = 0;
  const bySent = [...records].sort((a, b) => a.sentAt - b.sentAt);
  for (const r of bySent) {
    if (r.servedBy !== undefined) servedBy[r.servedBy] = (servedBy[r.servedBy] ?? 0) + 1;
    if (r.replays.length > 0) replayed += 1;
    if (r.ok) {
      ackedKeys.push(r.key);
      latencies.push(r.settledAt - r.sentAt);
    } else {
      const reason = failureReason(r);
      failures[reason] = (failures[reason] ?? 0) + 1;
    }
  }
  const start = bySent[0]?.sentAt ?? 0;
  const end = bySent[bySent.length - 1]?.sentAt ?? 0;
  const acks = bySent
    .filter((r) => r.ok && r.settledAt < end)
    .map((r) => Math.max(start, r.settledAt))
    .sort((a, b) => a - b);
  const points = [start, ...acks, end];
  const stretches: Stretch[] = [];
  for (let i = 1; i < points.length; i++) {
    const from = points[i - 1]!;
    const to = points[i]!;
    if (to - from >= gapMs) stretches.push({ from, to, ms: to - from });
  }
  latencies.sort((a, b) => a - b);
  return {
    attempts: records.length,
    acked: ackedKeys.length,
    failed: records.length - ackedKeys.length,
    failures,
    windowMs: end - start,
    noAck: {
      totalMs: stretches.reduce((s, x) => s + x.ms, 0),
      longestMs: Math.max(0, ...stretches.map((x) => x.ms)),
      stretches,
    },
    latency: {
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      max: latencies[latencies.length - 1] ?? 0,
    },
    servedBy,
    replayed,
    ackedKeys,
  };
}

/** The instance a `fly-replay` header names (`instance=<id>`, maybe among other fields). */
export function replayInstance(header: string): string | undefined {
  return /(?:^|[;,\s])instance=([^;,\s]+)/.exec(header)?.[1];
}

function errorText(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timeout';
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}

/** Sends one write and follows fly-replay; fills in the record. */
async function send(
  rec: WriteRecord,
  options: Required<Pick<HttpWriterOptions, 'proxies' | 'timeoutMs' | 'maxReplays' | 'path'>>,
): Promise<void> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  let node = rec.entry;
  try {
    for (;;) {
      const base = node === undefined ? undefined : options.proxies[node];
      if (base === undefined) {
        rec.error = node === undefined ? 'no entry node' : `no proxy URL for ${node}`;
        return;
      }
      rec.servedBy = node;
      const res = await fetch(`${base}${options.path(rec.key)}`, { method: 'POST', signal });
      const body = await res.text();
      rec.status = res.status;
      const replay = res.headers.get('fly-replay');
      if (replay !== null) {
        // Fly's edge replays whatever the status (LiteFS sends an implicit 200 with it).
        const target = replayInstance(replay);
        if (target === undefined) {
          rec.error = `fly-replay without an instance: ${replay}`;
          return;
        }
        if (rec.replays.length >= options.maxReplays) {
          rec.error = `more than ${options.maxReplays} replays (${rec.replays.join(' -> ')})`;
          return;
        }
        rec.replays.push(target);
        node = target;
        continue;
      }
      rec.ok = res.status >= 200 && res.status < 300;
      if (rec.ok) rec.ackBody = body.split('\n')[0]?.trim().slice(0, 200) ?? '';
      else rec.error = body.split('\n')[0]?.trim().slice(0, 160) ?? '';
      return;
    }
  } catch (err) {
    rec.status = undefined;
    rec.error = errorText(err);
  } finally {
    rec.settledAt = Date.now();
  }
}

/** Starts sending writes at once; see HttpWriterOptions for the bounds. */
export function startHttpWriter(opts: HttpWriterOptions): HttpWriter {
  const intervalMs = opts.intervalMs ?? 10;
  const maxWrites = opts.maxWrites ?? 100_000;
  const durationMs = opts.durationMs ?? 60_000;
  const gapMs = opts.gapMs ?? 100;
  const sendOptions = {
    proxies: opts.proxies,
    timeoutMs: opts.timeoutMs ?? 30_000,
    maxReplays: opts.maxReplays ?? 5,
    path: opts.path ?? ((key: string) => `/write?key=${encodeURIComponent(key)}`),
  };
  const entries =
    typeof opts.entries === 'function'
      ? opts.entries
      : () => (opts.entries as string[] | undefined) ?? Object.keys(opts.proxies);
  const records: WriteRecord[] = [];
  const inFlight = new Set<Promise<void>>();
  const prefix = randomUUID().slice(0, 8);
  const startedAt = Date.now();
  let turn = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let finish!: () => void;
  const sendingEnded = new Promise<void>((resolve) => {
    finish = resolve;
  });

  const tick = () => {
    timer = undefined;
    if (stopped) return;
    if (records.length >= maxWrites || Date.now() - startedAt >= durationMs) {
      stopped = true;
      finish();
      return;
    }
    const names = entries();
    const entry = names.length === 0 ? undefined : names[turn++ % names.length];
    const rec: WriteRecord = {
      key: `${prefix}-${records.length}-${randomUUID().slice(0, 8)}`,
      entry,
      sentAt: Date.now(),
      settledAt: 0,
      ok: false,
      replays: [],
    };
    records.push(rec);
    const p = send(rec, sendOptions).finally(() => inFlight.delete(p));
    inFlight.add(p);
    // From the time this one was sent: a late timer does not make up for lost ticks with a
    // burst (a loaded machine sends fewer writes, not clumps of them).
    timer = setTimeout(tick, Math.max(0, rec.sentAt + intervalMs - Date.now()));
  };

  const done = (async () => {
    await sendingEnded;
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    return { ...summarizeWrites(records, gapMs), records };
  })();
  tick();

  return {
    done,
    stop() {
      if (!stopped) {
        stopped = true;
        if (timer) clearTimeout(timer);
        finish();
      }
      return done;
    },
    records: () => records,
  };
}
