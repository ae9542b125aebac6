// Watches GET /events (docs/litefs-facts.md): newline-delimited JSON, first `init`, then `primaryChange`
// and `tx`. The stream is the fast path only (docs/design.md section 2): polling stays the safety
// net, so a cut, a 404 (LiteFS without /events) or a bad line never stops the supervisor —
// the watcher reconnects with a capped backoff and every reconnect starts with a fresh `init`.

import { Client } from 'undici';
import type { LitefsEvent } from '../core/litefs-types.js';
import { parseEventLine } from '../core/parse.js';
import { describeError } from '../system/http-error.js';

export type EventsWatcherError =
  /** One line was not a valid event; it was skipped and the stream goes on. */
  | { kind: 'line'; error: string; line: string }
  /** A connection attempt failed (refused, timeout, non-200); the next try is in `retryInMs`. */
  | { kind: 'connect'; error: string; status?: number; retryInMs: number };

export interface EventsWatcherOptions {
  /** LiteFS API base URL, e.g. `http://127.0.0.1:20202`. */
  url: string;
  onEvent(event: LitefsEvent): void;
  /** The stream is open (headers received); an `init` event follows. */
  onConnect?(): void;
  /** An open stream ended (cut, server closed, slow-reader disconnect). */
  onDisconnect?(error: string): void;
  onError?(error: EventsWatcherError): void;
  /** First retry delay after a failure, ms (default 100); doubles up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  /** Cap of the retry delay, ms (default 2000). */
  maxBackoffMs?: number;
  /** Retry delay after a 404, ms (default 30000): that LiteFS has no /events, polling covers. */
  notFoundBackoffMs?: number;
  /** Max wait for response headers, ms (default 2000). */
  headersTimeoutMs?: number;
  /** A line longer than this (bytes) is dropped as bad (default 1 MiB). */
  maxLineBytes?: number;
}

export type EventsWatcherState = 'idle' | 'connecting' | 'connected' | 'waiting' | 'closed';

export class EventsWatcher {
  readonly #opts: Required<
    Omit<EventsWatcherOptions, 'onConnect' | 'onDisconnect' | 'onError' | 'onEvent'>
  >;
  readonly #on: Pick<EventsWatcherOptions, 'onEvent' | 'onConnect' | 'onDisconnect' | 'onError'>;
  readonly #client: Client;
  #state: EventsWatcherState = 'idle';
  #abort: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;

  constructor(options: EventsWatcherOptions) {
    const origin = new URL(options.url).origin;
    this.#opts = {
      url: origin,
      initialBackoffMs: options.initialBackoffMs ?? 100,
      maxBackoffMs: options.maxBackoffMs ?? 2000,
      notFoundBackoffMs: options.notFoundBackoffMs ?? 30_000,
      headersTimeoutMs: options.headersTimeoutMs ?? 2000,
      maxLineBytes: options.maxLineBytes ?? 1024 * 1024,
    };
    this.#on = options;
    // A dedicated connection: the stream holds it for as long as it is open, and closing the
    // watcher must not disturb requests made through the LitefsClient pool.
    this.#client = new Client(origin, {
      headersTimeout: this.#opts.headersTimeoutMs,
      // LiteFS sends nothing on /events between events (http/server.go handleGetEvents), so
      // silence is normal: no body timeout.
      bodyTimeout: 0,
    });
  }

  get state(): EventsWatcherState {
    return this.#state;
  }

  // A method, not `this.#state === 'closed'`: close() changes the state across awaits, which
  // TypeScript's narrowing of the field does not see.
  #closed(): boolean {
    return this.#state === 'closed';
  }

  /** Starts connecting; idempotent. */
  start(): this {
    if (this.#state === 'idle') {
      this.#state = 'connecting';
      this.#loop = this.#run();
    }
    return this;
  }

  /** Stops the watcher; resolves once its socket is closed and no timer is left. */
  async close(): Promise<void> {
    if (this.#closed()) return this.#loop;
    this.#state = 'closed';
    this.#abort?.abort();
    if (this.#timer) clearTimeout(this.#timer);
    this.#wake?.();
    await this.#loop;
    await this.#client.destroy();
  }

  async #run(): Promise<void> {
    let backoff = this.#opts.initialBackoffMs;
    while (!this.#closed()) {
      const attempt = await this.#connectOnce();
      if (this.#closed()) break;
      let delay: number;
      if (attempt.kind === 'delivered') {
        // The stream worked: start over with the short delay.
        backoff = this.#opts.initialBackoffMs;
        delay = backoff;
      } else if (attempt.kind === 'not-found') {
        delay = this.#opts.notFoundBackoffMs;
      } else {
        delay = backoff;
        backoff = Math.min(backoff * 2, this.#opts.maxBackoffMs);
      }
      if (attempt.kind !== 'delivered' && attempt.connectError !== undefined) {
        this.#notify(this.#on.onError, {
          kind: 'connect',
          error: attempt.connectError,
          ...(attempt.status === undefined ? {} : { status: attempt.status }),
          retryInMs: delay,
        });
      }
      await this.#sleep(delay);
    }
  }

  async #connectOnce(): Promise<
    { kind: 'delivered' } | { kind: 'not-found' | 'failed'; connectError?: string; status?: number }
  > {
    const abort = new AbortController();
    this.#abort = abort;
    this.#state = 'connecting';
    const where = `GET ${this.#opts.url}/events`;
    let res: Awaited<ReturnType<Client['request']>>;
    try {
      res = await this.#client.request({ method: 'GET', path: '/events', signal: abort.signal });
    } catch (err) {
      return {
        kind: 'failed',
        connectError: `${where}: ${describeError(err, this.#opts.headersTimeoutMs)}`,
      };
    }
    if (res.statusCode !== 200) {
      await res.body.dump().catch(() => {});
      const status = res.statusCode;
      // LiteFS before /events existed answers 404 (http.NotFound in serveHTTP's default case).
      const kind = status === 404 ? 'not-found' : 'failed';
      return { kind, status, connectError: `${where}: HTTP ${status}` };
    }
    if (this.#closed()) {
      res.body.destroy();
      return { kind: 'failed' };
    }
    this.#state = 'connected';
    this.#notify(this.#on.onConnect);
    let delivered = false;
    let reason = 'stream ended by LiteFS';
    const decoder = new TextDecoder('utf-8', { fatal: false });
    let pending = '';
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        pending += decoder.decode(chunk, { stream: true });
        let nl = pending.indexOf('\n');
        while (nl !== -1) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          if (this.#line(line)) delivered = true;
          if (this.#closed()) break;
          nl = pending.indexOf('\n');
        }
        if (this.#closed()) break;
        if (pending.length > this.#opts.maxLineBytes) {
          this.#notify(this.#on.onError, {
            kind: 'line',
            error: `${where}: line longer than ${this.#opts.maxLineBytes} bytes, dropped`,
            line: pending.slice(0, 200),
          });
          pending = '';
        }
      }
      pending += decoder.decode();
    } catch (err) {
      reason = `${where}: ${describeError(err, this.#opts.headersTimeoutMs)}`;
    } finally {
      res.body.destroy();
    }
    if (!this.#closed()) {
      if (pending !== '') {
        this.#notify(this.#on.onError, {
          kind: 'line',
          error: `${where}: stream ended inside a line`,
          line: pending.slice(0, 200),
        });
      }
      this.#state = 'waiting';
      this.#notify(this.#on.onDisconnect, reason);
    }
    return delivered ? { kind: 'delivered' } : { kind: 'failed' };
  }

  /** Parses and delivers one line; true when it was a valid event. */
  #line(line: string): boolean {
    if (line.trim() === '') return false;
    const parsed = parseEventLine(line);
    if (!parsed.ok) {
      this.#notify(this.#on.onError, {
        kind: 'line',
        error: parsed.error,
        line: line.slice(0, 200),
      });
      return false;
    }
    this.#notify(this.#on.onEvent, parsed.value);
    return true;
  }

  /**
   * Calls a callback. A throw is a bug in the caller: it is rethrown outside the watcher, as an
   * uncaught exception like a throwing EventEmitter listener, so it neither hides as a
   * "disconnect" nor leaves the watcher half-stopped.
   */
  #notify<A extends unknown[]>(fn: ((...args: A) => void) | undefined, ...args: A): void {
    try {
      if (fn) Reflect.apply(fn, this.#on, args);
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
  }

  #sleep(ms: number): Promise<void> {
    if (this.#closed()) return Promise.resolve();
    this.#state = 'waiting';
    return new Promise((resolve) => {
      this.#wake = () => {
        this.#wake = undefined;
        this.#timer = undefined;
        resolve();
      };
      this.#timer = setTimeout(this.#wake, ms);
      this.#timer.unref();
    });
  }
}
