// The read-only health and status API (DESIGN.md section 7). It only reads the current state
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

const ROUTES = ['/health', '/health/live', '/primary', '/replica', '/status', '/metrics'];

export interface HealthServerOptions {
  config: Config;
  version: string;
  getState: () => SupervisorState;
  now: () => number;
}

export function buildHealthServer(opts: HealthServerOptions): FastifyInstance {
  const { config, version, getState, now } = opts;
  const app = Fastify({
    logger: false, // request logging stays off (DESIGN.md section 7)
    bodyLimit: 1024,
    connectionTimeout: 10_000,
    requestTimeout: 5_000,
    keepAliveTimeout: 5_000,
    maxRequestsPerSocket: 1000,
    return503OnClosing: true,
    // Path only: a query string never selects another route.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 100 },
  });

  const answer = (reply: FastifyReply, verdict: Verdict) => {
    const s = getState();
    if (!verdict.ok) reply.header('retry-after', '5');
    return reply
      .code(verdict.ok ? 200 : 503)
      .send({ ok: verdict.ok, state: s.phase, role: s.role, reason: verdict.reason });
  };

  app.get('/health', (_req, reply) => answer(reply, healthVerdict(getState(), config)));
  app.get('/health/live', (_req, reply) =>
    reply.send({ ok: true, state: getState().phase, uptimeMs: now() - getState().startedAt }),
  );
  app.get('/primary', (_req, reply) => answer(reply, primaryVerdict(getState())));
  app.get<{ Querystring: { max_lag?: string } }>('/replica', (req, reply) => {
    let maxLagMs = config.maxLagMs;
    const raw = req.query.max_lag;
    if (raw !== undefined) {
      const parsed = parseDuration(String(raw));
      if (!parsed.ok) {
        return reply.code(400).send({
          ok: false,
          error: `max_lag: ${JSON.stringify(String(raw))} is not a duration; use e.g. 500ms, 10s, 1m`,
        });
      }
      maxLagMs = parsed.value;
    }
    return answer(reply, replicaVerdict(getState(), maxLagMs));
  });
  app.get('/status', (_req, reply) =>
    reply.send(statusSnapshot(getState(), config, version, now())),
  );
  app.get('/metrics', (_req, reply) =>
    reply
      .type('text/plain; version=0.0.4; charset=utf-8')
      .send(renderMetrics(getState(), config, version, now())),
  );

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]?.replace(/\/+$/, '') || '/';
    if (ROUTES.includes(path)) {
      return reply
        .code(405)
        .header('allow', 'GET, HEAD')
        .send({ ok: false, error: `method ${req.method} not allowed on ${path}; use GET or HEAD` });
    }
    return reply.code(404).send({ ok: false, error: `no route ${path}`, routes: ROUTES });
  });
  app.setErrorHandler((err: { statusCode?: number; message?: string }, _req, reply) => {
    // A bad request is the client's fault: answer 4xx, never 5xx (issue 4 hardens this).
    const code =
      err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    return reply.code(code).send({ ok: false, error: err.message ?? 'error' });
  });
  return app;
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
