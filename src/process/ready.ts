// The app's readiness probe (docs/design.md section 6, readiness): the app is ready once it
// accepts a TCP connection at `tcp://HOST:PORT` (the port LiteFS's proxy sends its traffic to,
// litefs.yml `proxy.target`; `localhost` tries 127.0.0.1 and ::1, as the app may listen on
// either), or once a GET of an http(s) URL answers 2xx or 3xx. Tried every PROBE_INTERVAL_MS,
// each try bounded by PROBE_TIMEOUT_MS, until it answers or is cancelled; a failed try is only
// tried again, never an error: decide bounds the whole wait (--app-ready-timeout).

import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { AppReadyWatch } from '../ports.js';

export const PROBE_INTERVAL_MS = 100;
export const PROBE_TIMEOUT_MS = 1000;

/** One try: true when the target answers as ready. */
export type Probe = (signal: AbortSignal) => Promise<boolean>;

/** The probe for `--app-ready` (not `none`). */
export function probeFor(target: string): Probe {
  if (target.startsWith('tcp://')) {
    const m = /^tcp:\/\/(\[[^\]]+\]|[^:]+):(\d+)$/.exec(target);
    const host = (m?.[1] ?? '').replace(/^\[|\]$/g, '');
    const port = Number(m?.[2]);
    const hosts = host === 'localhost' ? ['127.0.0.1', '::1'] : [host];
    return async (signal) => {
      for (const h of hosts) if (await tcpAccepts(h, port, signal)) return true;
      return false;
    };
  }
  return (signal) => httpAnswers(target, signal);
}

function tcpAccepts(host: string, port: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: PROBE_TIMEOUT_MS, signal });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

function httpAnswers(url: string, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = send(url, { method: 'GET', timeout: PROBE_TIMEOUT_MS, signal }, (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      resolve(status >= 200 && status < 400);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}

/** Probes until ready (true) or cancelled (false). */
export function watchReady(probe: Probe, intervalMs = PROBE_INTERVAL_MS): AppReadyWatch {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const ready = new Promise<boolean>((resolve) => {
    abort.signal.addEventListener('abort', () => resolve(false), { once: true });
    const attempt = async () => {
      if (abort.signal.aborted) return;
      if (await probe(abort.signal)) {
        resolve(true);
        return;
      }
      if (!abort.signal.aborted) timer = setTimeout(attempt, intervalMs);
    };
    void attempt();
  });
  return {
    ready,
    cancel: () => {
      clearTimeout(timer);
      abort.abort();
    },
  };
}
