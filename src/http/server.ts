// The read-only health and status API (docs/design.md section 7). It only reads the current state
// through `getState`; no route changes anything. Unhealthy answers are 503 with Retry-After
// (as fastify/under-pressure does), so Fly's checks and load balancers back off.

import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { Config, HealthAddr } from '../config/types.js';
import { parseDuration } from '../core/duration.js';
import {
  healthVerdict,
  primaryVerdict,
  replicaVerdict,
  statusSnapshot,
  type Verdict,
} from '../core/health.js';
import type { SupervisorState } from '../core/state.js';
import { renderMetrics } from './metrics.js';

/** The whole request, headers and body, must arrive within this (slow clients are closed). */
export const REQUEST_TIMEOUT_MS = 5_000;

const ROUTES = ['/health', '/health/live', '/primary', '/replica', '/status', '/metrics'];

/**
 * No route declares a schema, so fastify's default compilers (ajv through
 * @fastify/ajv-compiler, fast-json-stringify through its compiler) would only be loaded, never
 * used: fastify requires them at construction unless a compilersFactory supplies both (docs/performance.md,
 * "What was cut": 320 KB of JavaScript, 1.1 MB of heap and 3.5 MB of RSS). A route that
 * gains a schema fails loudly at start-up instead of silently going unvalidated.
 */
const NO_SCHEMA_COMPILERS = {
  buildValidator: () => () => {
    throw new Error('the health API has no schema validator: routes take no schema');
  },
  buildSerializer: () => () => {
    throw new Error('the health API has no schema serializer: routes take no schema');
  },
};

export interface HealthServerOptions {
  config: Config;
  version: string;
  getState: () => SupervisorState;
  now: () => number;
  /**
   * Resolves when the state's observation is fresh enough to report `.lag` (Supervisor.fresh:
   * polling slows down while /events is connected). Absent: the state is always fresh enough.
   */
  fresh?: () => Promise<void>;
}

export function buildHealthServer(opts: HealthServerOptions): FastifyInstance {
  const { config, version, getState, now } = opts;
  const fresh = opts.fresh ?? (() => Promise.resolve());
  const app = Fastify({
    logger: false, // request logging stays off (docs/design.md section 7)
    bodyLimit: 1024,
    connectionTimeout: 10_000,
    requestTimeout: REQUEST_TIMEOUT_MS,
    keepAliveTimeout: 5_000,
    maxRequestsPerSocket: 1000,
    http: {
      // Node checks headersTimeout and requestTimeout only every connectionsCheckingInterval
      // (30 s by default), and a client that trickles a header byte at a time keeps resetting
      // connectionTimeout (an idle timer): such a client was held ~30 s, not 5 s
      // (test/http/hardening.test.ts). Check every second, and bound the headers as tightly as
      // the whole request (Node's own default, 60 s, is longer than requestTimeout).
      connectionsCheckingInterval: 1_000,
      headersTimeout: REQUEST_TIMEOUT_MS,
    },
    return503OnClosing: true,
    // Path only: a query string never selects another route.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 100 },
    schemaController: { compilersFactory: NO_SCHEMA_COMPILERS },
  });

  const answer = (reply: FastifyReply, verdict: Verdict) => {
    const s = getState();
    if (!verdict.ok) reply.header('retry-after', '5');
    return reply
      .code(verdict.ok ? 200 : 503)
      .send({ ok: verdict.ok, state: s.phase, role: s.role, reason: verdict.reason });
  };

  // The routes that report the replica's lag wait for a fresh observation (at most ~1 s);
  // /health/live and /primary never do (a lease change arrives on /events at once).
  app.get('/health', async (_req, reply) => {
    await fresh();
    return answer(reply, healthVerdict(getState(), config));
  });
  app.get('/health/live', (_req, reply) =>
    reply.send({ ok: true, state: getState().phase, uptimeMs: now() - getState().startedAt }),
  );
  app.get('/primary', (_req, reply) => answer(reply, primaryVerdict(getState())));
  app.get<{ Querystring: { max_lag?: string } }>('/replica', async (req, reply) => {
    let maxLag = config.maxLag;
    const raw = req.query.max_lag;
    if (raw !== undefined) {
      const parsed = parseDuration(String(raw));
      if (!parsed.ok) {
        return reply.code(400).send({
          ok: false,
          error: `max_lag: ${JSON.stringify(String(raw))} is not a duration; use e.g. 500ms, 10s, 1m`,
        });
      }
      maxLag = parsed.value;
    }
    await fresh();
    return answer(reply, replicaVerdict(getState(), maxLag));
  });
  app.get('/status', async (_req, reply) => {
    await fresh();
    return reply.send(statusSnapshot(getState(), config, version, now()));
  });
  app.get('/metrics', async (_req, reply) => {
    await fresh();
    return reply
      .type('text/plain; version=0.0.4; charset=utf-8')
      .send(renderMetrics(getState(), config, version, now()));
  });

  app.setNotFoundHandler((req, reply) => {
    const path = routePath(req.url);
    // GET and HEAD on a route were matched by the router; here they are a path we do not have.
    if (ROUTES.includes(path) && req.method !== 'GET' && req.method !== 'HEAD') {
      return reply
        .code(405)
        .header('allow', 'GET, HEAD')
        .send({ ok: false, error: `method ${req.method} not allowed on ${path}; use GET or HEAD` });
    }
    return reply.code(404).send({ ok: false, error: `no route ${path}`, routes: ROUTES });
  });
  app.setErrorHandler((err: { statusCode?: number; message?: string }, _req, reply) => {
    // A bad request is the client's fault: answer 4xx, never 5xx
    // (test/http/hardening.test.ts sends it hostile input).
    const code =
      err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    return reply.code(code).send({ ok: false, error: err.message ?? 'error' });
  });
  return app;
}

/**
 * The path of a request URL as the router matched it: no query string, at most one trailing
 * slash ignored (`ignoreTrailingSlash`). It used to be `.replace(/\/+$/, '')`, which trimmed
 * every trailing slash, so `GET /health//` (unmatched by the router) was answered "405 method
 * GET not allowed on /health; use GET or HEAD"; and that regex backtracks quadratically: one
 * 16 KB URL of slashes held the event loop ~200 ms (test/http/hardening.test.ts).
 */
export function routePath(url: string): string {
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path || '/';
}

/** Listen on --health-addr; returns the URL it listens on. */
export async function listen(app: FastifyInstance, addr: HealthAddr): Promise<string> {
  await app.listen({ host: addr.host === '' ? '::' : addr.host, port: addr.port, ipv6Only: false });
  const a = app.server.address();
  if (a && typeof a === 'object') {
    const host =
      a.family === 'IPv6'
        ? a.address === '::'
          ? 'localhost'
          : `[${a.address}]`
        : a.address === '0.0.0.0'
          ? 'localhost'
          : a.address;
    return `http://${host}:${a.port}`;
  }
  return String(a);
}
