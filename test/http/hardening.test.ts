// The health API against hostile and clumsy clients, on a real listening socket (docs/design.md
// section 7): random methods and paths from a seeded PRNG, 16 KB URLs, malformed request lines
// and headers sent raw over node:net, slow clients that trickle their request, and 2,000
// requests at concurrency 50. Whatever arrives: a 4xx or a closed connection for a bad request,
// never a 5xx (503 only as a health verdict), never a crash, memory bounded, and the state the
// routes read is deep-frozen and compared before and after (no route changes anything).

import net from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import t from 'tap';
import { Pool } from 'undici';
import type { SupervisorState } from '../../src/core/state.js';
import { buildHealthServer, listen, REQUEST_TIMEOUT_MS, routePath } from '../../src/http/server.js';
import { Sim, testConfig } from '../helpers/builders.js';

const SEED = Number(process.env.HARDENING_SEED ?? 0x5eed);
const ROUTES = ['/health', '/health/live', '/primary', '/replica', '/status', '/metrics'];

/** mulberry32: a tiny seeded PRNG, so every random case can be replayed (HARDENING_SEED). */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick, chance: (p: number) => next() < p };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** A running primary that has migrated: every route has something to show. */
function runningPrimary(): SupervisorState {
  const sim = new Sim(testConfig({ migrate: ['node migrate.js'] }));
  const confirm = sim.see({ role: 'primary' });
  const token = confirm.find((a) => a.type === 'observe')?.token;
  sim.see({ role: 'primary' }, 10, token);
  sim.feed({ type: 'command-started', index: 0, pid: 10 }, 5);
  sim.feed(
    {
      type: 'command-exit',
      index: 0,
      exitCode: 0,
      signal: undefined,
      timedOut: false,
      spawnError: undefined,
      durationMs: 40,
    },
    40,
  );
  sim.see({ role: 'primary' }, 10);
  sim.feed({ type: 'app-started', pid: 11 }, 5);
  if (sim.state.phase !== 'running') throw new Error(`expected running, got ${sim.state.phase}`);
  return sim.state;
}

const state = deepFreeze(runningPrimary());
const before = structuredClone(state);
const app = buildHealthServer({
  config: testConfig(),
  version: '9.9.9',
  getState: () => state,
  now: () => state.since + 1000,
});
const base = await listen(app, { host: '127.0.0.1', port: 0 });
const port = new URL(base).port;
// Set by node:http from the server options; @types/node 20 does not declare it.
const checkingInterval = (app.server as unknown as { connectionsCheckingInterval: number })
  .connectionsCheckingInterval;
t.teardown(() => app.close());

interface RawAnswer {
  /** The final (non-1xx) status code, undefined when the server closed without answering. */
  status: number | undefined;
  head: string;
  body: string;
  ms: number;
}

/** Send bytes as they are, read until the server closes the connection. */
function raw(bytes: string | Buffer, timeoutMs = 8000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const chunks: Buffer[] = [];
    const sock = net.connect(Number(port), '127.0.0.1', () => sock.end(bytes));
    const timer = setTimeout(() => {
      sock.destroy();
      reject(
        new Error(
          `no close within ${timeoutMs} ms for ${JSON.stringify(String(bytes).slice(0, 200))}`,
        ),
      );
    }, timeoutMs);
    sock.on('data', (d: Buffer) => chunks.push(d));
    // ECONNRESET and EPIPE: the server dropped us, which is an allowed answer to garbage.
    sock.on('error', () => {});
    sock.on('close', () => {
      clearTimeout(timer);
      let text = Buffer.concat(chunks).toString('latin1');
      let status: number | undefined;
      let head = '';
      for (;;) {
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
        if (!m) break;
        const end = text.indexOf('\r\n\r\n');
        head = end === -1 ? text : text.slice(0, end);
        text = end === -1 ? '' : text.slice(end + 4);
        status = Number(m[1]);
        if (status >= 200) break; // skip 100 Continue
      }
      resolve({ status, head, body: text, ms: performance.now() - started });
    });
  });
}

const header = (a: RawAnswer, name: string) =>
  new RegExp(`\\r\\n${name}: *([^\\r]*)`, 'i').exec(a.head)?.[1];

/**
 * The rule for every answer to a request we did not craft to be valid: a closed connection, a
 * 2xx/4xx, or a 503 that is a health verdict (Retry-After, the verdict body). Anything else,
 * 500 above all, is a bug.
 */
function acceptable(a: RawAnswer): boolean {
  if (a.status === undefined) return true;
  if (a.status >= 200 && a.status < 300) return true;
  if (a.status >= 400 && a.status < 500) return true;
  // A health verdict; HEAD answers carry no body, only the header.
  if (a.status === 503) {
    return header(a, 'retry-after') !== undefined && (a.body === '' || /"reason"/.test(a.body));
  }
  return false;
}

async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function tally(codes: (number | undefined)[]): string {
  const counts = new Map<string, number>();
  for (const c of codes)
    counts.set(String(c ?? 'closed'), (counts.get(String(c ?? 'closed')) ?? 0) + 1);
  return [...counts]
    .sort()
    .map(([k, v]) => `${k}:${v}`)
    .join(' ');
}

function gcNow(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

t.test('timeouts and limits are set (fastify options and the node:http server)', async (t) => {
  t.match(app.initialConfig, {
    bodyLimit: 1024,
    connectionTimeout: 10_000,
    requestTimeout: REQUEST_TIMEOUT_MS,
    keepAliveTimeout: 5_000,
    maxRequestsPerSocket: 1000,
  });
  const s = app.server;
  t.equal(s.requestTimeout, REQUEST_TIMEOUT_MS, 'the whole request within 5 s');
  t.ok(s.headersTimeout > 0 && s.headersTimeout <= s.requestTimeout, 'headers bounded too');
  // Node enforces both timeouts only on this interval: 30 s by default, far too late.
  t.ok(checkingInterval <= 1000, 'timeouts checked every second');
  t.equal(s.timeout, 10_000, 'an idle socket is closed after 10 s');
  t.ok(s.keepAliveTimeout > 0 && s.keepAliveTimeout <= 5_000, 'keep-alive bounded');
  t.equal(s.maxRequestsPerSocket, 1000);
});

t.test('404/405 see the path as the router does, in linear time', async (t) => {
  t.equal(routePath('/health/'), '/health');
  t.equal(routePath('/health/?max_lag=1s/'), '/health');
  // The router ignores one trailing slash, not more: /health// is not /health.
  t.equal(routePath('/health//'), '/health/');
  t.equal(routePath('/'), '/');
  t.equal(routePath(''), '/');
  t.equal(routePath('?a=/'), '/');
  const answer = await raw('GET /health// HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  t.equal(answer.status, 404, 'GET /health// is an unknown path, not "405 GET not allowed"');
  const bomb = `${'/'.repeat(16_000)}x`;
  t.equal(routePath(bomb), bomb);
  // 20 requests of 16 KB of slashes: with /\/+$/ each held the event loop ~200 ms (4 s in all).
  const request = `GET ${bomb} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`;
  const started = performance.now();
  for (let i = 0; i < 20; i++) t.equal((await raw(request)).status, 404);
  const ms = performance.now() - started;
  t.comment(`20 slash-bomb requests in ${ms.toFixed(0)} ms`);
  t.ok(ms < 1500, `20 slash-bomb requests took ${ms.toFixed(0)} ms`);
});

t.test('16 KB URLs: 404 while they fit, 431 once the head is too large', async (t) => {
  const req = (path: string) => `GET ${path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`;
  const fits = `/${'a'.repeat(16 * 1024 - 100)}`;
  const fit = await raw(req(fits));
  t.equal(fit.status, 404, 'a long unknown path is a 404');
  t.match(fit.body, /"ok":false/);
  t.equal(
    (await raw(req(`/status?q=${'b'.repeat(16 * 1024 - 100)}`))).status,
    200,
    'query ignored',
  );
  for (const size of [16 * 1024, 64 * 1024, 1024 * 1024]) {
    const a = await raw(req(`/${'a'.repeat(size)}`));
    t.ok(a.status === 431 || a.status === undefined, `${size} bytes: ${a.status ?? 'closed'}`);
  }
  const manyHeaders = Array.from({ length: 3000 }, (_, i) => `x-h${i}: v`).join('\r\n');
  const a = await raw(`GET /health HTTP/1.1\r\nHost: a\r\n${manyHeaders}\r\n\r\n`);
  t.ok(a.status === 431 || a.status === undefined, `3000 headers: ${a.status ?? 'closed'}`);
});

t.test('malformed request lines and headers, raw over node:net', async (t) => {
  const end = 'Connection: close\r\n\r\n';
  const cases: [string, string | Buffer][] = [
    ['garbage', 'GARBAGE\r\n\r\n'],
    ['no path', 'GET\r\n\r\n'],
    ['no version', 'GET /health\r\n\r\n'],
    ['unknown version', `GET /health HTTP/9.9\r\nHost: a\r\n${end}`],
    ['lower-case version', `GET /health http/1.1\r\nHost: a\r\n${end}`],
    ['unknown method', `FOO /health HTTP/1.1\r\nHost: a\r\n${end}`],
    ['lower-case method', `get /health HTTP/1.1\r\nHost: a\r\n${end}`],
    ['NUL in the path', `GET /health\0 HTTP/1.1\r\nHost: a\r\n${end}`],
    ['raw UTF-8 in the path', Buffer.from(`GET /h\u00e9alth HTTP/1.1\r\nHost: a\r\n${end}`)],
    ['space in the path', `GET /hea lth HTTP/1.1\r\nHost: a\r\n${end}`],
    ['bad percent-encoding', `GET /%zz HTTP/1.1\r\nHost: a\r\n${end}`],
    ['overlong UTF-8', `GET /%c0%af HTTP/1.1\r\nHost: a\r\n${end}`],
    ['percent-encoded NUL', `GET /health%00 HTTP/1.1\r\nHost: a\r\n${end}`],
    ['bad percent in the query', `GET /replica?max_lag=%zz HTTP/1.1\r\nHost: a\r\n${end}`],
    ['no Host in HTTP/1.1', `GET /health HTTP/1.1\r\n${end}`],
    ['two Hosts', `GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n${end}`],
    ['header without colon', `GET /health HTTP/1.1\r\nHost: a\r\nBad Header\r\n${end}`],
    ['space before colon', `GET /health HTTP/1.1\r\nHost: a\r\nX-A : b\r\n${end}`],
    ['obs-fold', `GET /health HTTP/1.1\r\nHost: a\r\nX-A: a\r\n b\r\n${end}`],
    ['control byte in a value', `GET /health HTTP/1.1\r\nHost: a\r\nX-A: a\x01b\r\n${end}`],
    ['bare LF', 'GET /health HTTP/1.1\nHost: a\nConnection: close\n\n'],
    ['bare CR', 'GET /health HTTP/1.1\rHost: a\r\r'],
    [
      'two Content-Lengths',
      `POST /health HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n${end}ab`,
    ],
    ['negative Content-Length', `POST /health HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n${end}`],
    [
      'huge Content-Length',
      `POST /health HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n${end}`,
    ],
    [
      'Content-Length and chunked',
      `POST /health HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    ],
    [
      'bad chunk size',
      `POST /health HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n${end}zz\r\nabc\r\n0\r\n\r\n`,
    ],
    [
      'unknown transfer coding',
      `POST /health HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n${end}`,
    ],
    [
      'body over bodyLimit',
      `POST /nope HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n${end}${'x'.repeat(5000)}`,
    ],
    [
      'chunked body over bodyLimit',
      `POST /nope HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n${end}${'800\r\n'}${'x'.repeat(2048)}\r\n0\r\n\r\n`,
    ],
    [
      'broken JSON',
      `POST /health HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 5\r\n${end}{bad}`,
    ],
    [
      '__proto__ JSON',
      `POST /nope HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 27\r\n${end}{"__proto__":{"x":1},"a":1}`,
    ],
    [
      'unknown content type',
      `PUT /status HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-foo\r\nContent-Length: 3\r\n${end}abc`,
    ],
    [
      'empty content type',
      `DELETE /status HTTP/1.1\r\nHost: a\r\nContent-Type: \r\nContent-Length: 2\r\n${end}{}`,
    ],
    [
      'GET with a body',
      `GET /status HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 3\r\n${end}{x}`,
    ],
    [
      'odd Accept',
      `GET /status HTTP/1.1\r\nHost: a\r\nAccept: application/xml;q=abc, */*;q=-1\r\n${end}`,
    ],
    [
      'odd Accept-Encoding',
      `GET /metrics HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip;q=abc, *;q=0\r\n${end}`,
    ],
    ['Range', `GET /status HTTP/1.1\r\nHost: a\r\nRange: bytes=999999-0\r\n${end}`],
    [
      'Expect 100-continue',
      `POST /health HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n${end}{}`,
    ],
    ['Expect unknown', `GET /health HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n${end}`],
    [
      'Upgrade: websocket',
      `GET /health HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`,
    ],
    ['CONNECT', 'CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n'],
    ['asterisk form', `OPTIONS * HTTP/1.1\r\nHost: a\r\n${end}`],
    ['absolute form', `GET http://evil.example/health HTTP/1.1\r\nHost: a\r\n${end}`],
    ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
    ['TLS ClientHello', Buffer.from('16030100a5010000a10303000102030405060708', 'hex')],
    ['only CRLFs', '\r\n\r\n\r\n\r\n'],
    [
      'pipelined garbage after a request',
      `GET /health HTTP/1.1\r\nHost: a\r\n\r\nNOT HTTP AT ALL\r\n\r\n`,
    ],
    ['max_lag as an object', `GET /replica?max_lag[a]=1 HTTP/1.1\r\nHost: a\r\n${end}`],
    ['max_lag twice', `GET /replica?max_lag=1s&max_lag=2s HTTP/1.1\r\nHost: a\r\n${end}`],
    [
      'max_lag overflow',
      `GET /replica?max_lag=99999999999999999999h HTTP/1.1\r\nHost: a\r\n${end}`,
    ],
    ['__proto__ query', `GET /replica?__proto__[x]=1&constructor=2 HTTP/1.1\r\nHost: a\r\n${end}`],
  ];
  const rng = prng(SEED ^ 0xbad);
  for (let i = 0; i < 30; i++) {
    const noise = Buffer.alloc(1 + rng.int(600));
    for (let j = 0; j < noise.length; j++) noise[j] = rng.int(256);
    cases.push([`random bytes #${i}`, noise]);
  }
  const answers = await pool(cases, 10, async ([, bytes]) => raw(bytes));
  cases.forEach(([name], i) => {
    const a = answers[i]!;
    t.ok(acceptable(a), `${name}: ${a.status ?? 'closed'}`, { head: a.head });
  });
  t.comment(`malformed: ${tally(answers.map((a) => a.status))}`);
  const valid = await raw(`GET /health HTTP/1.1\r\nHost: a\r\n${end}`);
  t.equal(valid.status, 200, 'still serving');
});

/** One random request: mostly plausible, often broken in one or several ways. */
function randomRequest(rng: ReturnType<typeof prng>): string {
  const words = (text: string) => text.split(' ');
  const methods = words('GET GET GET GET HEAD POST PUT DELETE PATCH OPTIONS TRACE PROPFIND SEARCH');
  const badMethods = ['FOO', 'get', 'GE T', '', 'QUERY', 'MKCOL', 'PURGE'];
  const segments = words('health live primary replica status metrics health/live admin promote');
  // Decodable or not: the router and fastify's URL handling see these.
  const oddSegments = words('. .. %2e%2e %2f % %zz %c0%af %00 %ff %e2%82 ~ * ;x=1 %68ealth _');
  // Bytes the HTTP parser itself refuses in a request target.
  const badSegments = ['\\', '\u00e9', '\u{1f600}', '"<>{}|^`', ' ', '\t'];
  const queries = words(
    '? ?max_lag=1s ?max_lag= ?max_lag=% ?max_lag=-1s ?max_lag=1e309s ?max_lag[]=1 ' +
      '?max_lag=1s&max_lag=2s ?max_lag=NaN ?__proto__[x]=1 ?constructor=1 ?a=%zz ?&&&=& #frag',
  );
  const badVersions = ['HTTP/2.0', 'HTTP/1.2', 'HTTP/0.9', 'http/1.1', 'HTTP/1', ''];
  const extras = [
    'Accept: */*',
    'Accept: application/xml',
    'Accept: text/html;q=abc',
    'Accept-Encoding: gzip, br',
    'Accept-Encoding: *;q=0',
    'Range: bytes=0-10',
    'If-None-Match: *',
    'Cookie: a=b; c',
    'X-Forwarded-For: ::1, evil',
    'Upgrade: h2c',
    'Expect: 100-continue',
    'Authorization: Basic Zm9vOmJhcg==',
    'Origin: null',
    `X-Very-Long: ${'v'.repeat(2000)}`,
    'Content-Encoding: gzip',
  ];
  const contentTypes = [
    'application/json',
    'application/json; charset=utf-99',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    '???',
    '',
  ];

  let path = rng.chance(0.05) ? 'http://evil.example' : '';
  const n = rng.int(4);
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    const seg =
      r < 0.75 ? rng.pick(segments) : r < 0.95 ? rng.pick(oddSegments) : rng.pick(badSegments);
    path += `/${seg}`;
  }
  if (n === 0 || rng.chance(0.15)) path += '/';
  if (rng.chance(0.05)) path += '/'.repeat(1 + rng.int(50));
  if (rng.chance(0.05)) path += 'a'.repeat(1 + rng.int(2000));
  if (rng.chance(0.4)) path += rng.pick(queries);
  if (rng.chance(0.03)) {
    path = String.fromCharCode(...Array.from({ length: 1 + rng.int(40) }, () => rng.int(128)));
  }
  const method = rng.chance(0.05) ? rng.pick(badMethods) : rng.pick(methods);
  const r = rng.next();
  const version = r < 0.85 ? 'HTTP/1.1' : r < 0.93 ? 'HTTP/1.0' : rng.pick(badVersions);
  const lines = [`${method} ${path} ${version}`.replace(/ +$/, '')];
  if (rng.chance(0.97)) lines.push('Host: supervisor.internal');
  for (let i = rng.int(3); i > 0; i--) lines.push(rng.pick(extras));
  let body = '';
  if (method !== 'GET' && method !== 'HEAD' ? rng.chance(0.6) : rng.chance(0.05)) {
    body = rng.chance(0.2)
      ? 'x'.repeat(1025 + rng.int(4000))
      : rng.pick(['{}', '{"a":1}', '{bad', 'a=b', 'null', '[]', '"x"']);
    lines.push(`Content-Type: ${rng.pick(contentTypes)}`);
    if (rng.chance(0.15)) {
      lines.push('Transfer-Encoding: chunked');
      body = rng.chance(0.5)
        ? `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`
        : `zz\r\n${body}\r\n`;
    } else {
      // Never more than we send (the server would wait for the rest); sometimes less.
      lines.push(`Content-Length: ${rng.chance(0.9) ? body.length : rng.int(body.length)}`);
    }
  }
  lines.push('Connection: close');
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

t.test(`random methods, paths and headers (seed ${SEED})`, async (t) => {
  const rng = prng(SEED);
  const requests = Array.from({ length: 3000 }, () => randomRequest(rng));
  const answers = await pool(requests, 25, (r) => raw(r));
  const bad = answers
    .map((a, i) => ({ a, request: requests[i]!.slice(0, 300) }))
    .filter(({ a }) => !acceptable(a));
  t.same(
    bad.map(({ a, request }) => ({ status: a.status, request })),
    [],
    'every answer is a 2xx, a 4xx, a 503 health verdict or a closed connection',
  );
  // The route table against the same server, exactly.
  const exact: Record<string, number> = {
    '/health': 200,
    '/health/live': 200,
    '/primary': 200,
    '/replica': 503,
    '/status': 200,
    '/metrics': 200,
  };
  for (const [path, code] of Object.entries(exact)) {
    for (const [suffix, want] of [
      ['', code],
      ['/', code],
      ['?x=1', code],
      ['/?max_lag=1s', code],
      ['//', 404],
    ] as const) {
      const a = await raw(`GET ${path}${suffix} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
      t.equal(a.status, want, `GET ${path}${suffix}`);
    }
    const post = await raw(
      `POST ${path} HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    );
    t.equal(post.status, 405, `POST ${path}`);
  }
  t.comment(`random: ${tally(answers.map((a) => a.status))}`);
});

/** How late past the request timeout and one checking interval a slow client may be closed. */
const SLOW_CLIENT_SLACK_MS = 1000;

t.test(
  'slow clients are closed within the request timeout; others are served meanwhile',
  async (t) => {
    const opened = performance.now();
    const closedAt: Record<string, number> = {};
    const answers: Record<string, string> = {};
    const sockets: net.Socket[] = [];
    const timers: NodeJS.Timeout[] = [];
    const open = (name: string, first: string, drip: string | undefined) => {
      const sock = net.connect(Number(port), '127.0.0.1', () => {
        if (first) sock.write(first);
        if (drip !== undefined) {
          const timer = setInterval(() => {
            if (!sock.destroyed) sock.write(drip);
          }, 200);
          timers.push(timer);
        }
      });
      let answer = '';
      // Read what arrives: a paused socket would never see the server's FIN.
      sock.on('data', (d: Buffer) => {
        answer += d.toString('latin1');
      });
      sock.on('error', () => {});
      sock.on('close', () => {
        closedAt[name] = performance.now() - opened;
        answers[name] = answer.split('\r\n')[0] ?? '';
      });
      sockets.push(sock);
    };
    t.teardown(() => {
      for (const timer of timers) clearInterval(timer);
      for (const sock of sockets) sock.destroy();
    });
    // Slowloris: headers one byte at a time, never finished. And a body trickled the same way.
    for (let i = 0; i < 20; i++)
      open(`headers-${i}`, 'GET /health HTTP/1.1\r\nHost: a\r\nX-Slow: ', 'x');
    for (let i = 0; i < 5; i++) {
      open(
        `body-${i}`,
        'POST /health HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 900\r\n\r\n',
        'x',
      );
    }
    open('silent', '', undefined);
    // A kept-alive connection that went quiet after one answer.
    open('keep-alive', 'GET /health/live HTTP/1.1\r\nHost: a\r\n\r\n', undefined);

    const latencies: number[] = [];
    // Meanwhile, ordinary clients are answered, and promptly. Poll with a deadline.
    const deadline = performance.now() + 15_000;
    while (Object.keys(closedAt).length < sockets.length && performance.now() < deadline) {
      const started = performance.now();
      const res = await fetch(`${base}/health/live`);
      await res.arrayBuffer();
      latencies.push(performance.now() - started);
      if (res.status !== 200) t.fail(`/health/live answered ${res.status}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    t.equal(Object.keys(closedAt).length, sockets.length, 'every slow client was closed', {
      closedAt,
    });
    // Node enforces the timeouts on its connectionsCheckingInterval (1 s): closed 5-6 s after
    // connecting, plus SLOW_CLIENT_SLACK_MS for a loaded machine; docs/reliability.md states the sum (7 s).
    const bound = REQUEST_TIMEOUT_MS + checkingInterval + SLOW_CLIENT_SLACK_MS;
    t.equal(bound, 7000, "docs/reliability.md's bound: slow clients closed within 7 s");
    for (const [name, ms] of Object.entries(closedAt)) {
      const answer = answers[name] ?? '';
      t.ok(
        answer === '' || /^HTTP\/1\.1 (200|408) /.test(answer),
        `${name}: ${answer || 'closed without an answer'}`,
      );
      if (name === 'keep-alive') {
        t.ok(ms <= bound, `idle keep-alive connection closed after ${ms.toFixed(0)} ms`);
      } else {
        // Silent (not a byte sent) included: the headers timeout closes it like the others.
        t.ok(
          ms >= REQUEST_TIMEOUT_MS - 500 && ms <= bound,
          `${name} closed after ${ms.toFixed(0)} ms (request timeout ${REQUEST_TIMEOUT_MS} ms, bound ${bound} ms)`,
        );
      }
    }
    latencies.sort((a, b) => a - b);
    const max = latencies.at(-1) ?? 0;
    t.comment(
      `while ${sockets.length} slow clients were open: ${latencies.length} requests served, max ${max.toFixed(1)} ms`,
    );
    t.ok(latencies.length >= 20, 'requests were served throughout');
    t.ok(max < 1000, `ordinary requests stay fast (max ${max.toFixed(1)} ms)`);
  },
);

/**
 * docs/reliability.md's bound: heap growth over 2,000 requests, after a full GC, once warm.
 * A leak of even 500 bytes per request would exceed it.
 */
const HEAP_GROWTH_LIMIT_BYTES = 1024 * 1024;
/**
 * RSS is printed but bounded only loosely: this process also runs tap and the 50 clients, and
 * RSS moves by tens of MB either way with GC and the allocator (docs/reliability.md says so).
 */
const RSS_GROWTH_LIMIT_BYTES = 64 * 1024 * 1024;

t.test('2,000 requests at concurrency 50: all answered, memory bounded', async (t) => {
  const client = new Pool(base, { connections: 50, pipelining: 1 });
  t.teardown(() => client.close());
  const paths = [...ROUTES, '/replica?max_lag=1h', '/nope', '/health/'];
  const expected: Record<string, number> = {
    '/replica': 503,
    '/replica?max_lag=1h': 503, // a primary is never a healthy replica
    '/nope': 404,
  };
  const one = async (i: number) => {
    const path = paths[i % paths.length]!;
    const started = performance.now();
    const res = await client.request({ path, method: i % 7 === 0 ? 'HEAD' : 'GET' });
    await res.body.dump();
    return { path, status: res.statusCode, ms: performance.now() - started };
  };
  const batch = async () => {
    const started = performance.now();
    const results = await pool(
      Array.from({ length: 2000 }, (_, i) => i),
      50,
      one,
    );
    const totalMs = performance.now() - started;
    const wrong = results.filter((r) => r.status !== (expected[r.path] ?? 200));
    const ms = results.map((r) => r.ms).sort((a, b) => a - b);
    const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]!.toFixed(1);
    // Only small figures outlive the batch: its 2,000 results are not counted as growth.
    return {
      wrong: wrong.slice(0, 10),
      summary: `2000 requests in ${totalMs.toFixed(0)} ms (${((2000 / totalMs) * 1000).toFixed(0)} req/s); latency p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${q(1)} ms`,
    };
  };
  // Warm-up, a whole batch: JIT, sockets, the pool's buffers.
  const warm = await batch();
  t.same(warm.wrong, [], 'every answer is the expected one (warm-up)');
  gcNow();
  const mem0 = process.memoryUsage();
  const measured = await batch();
  gcNow();
  const mem1 = process.memoryUsage();
  t.same(measured.wrong, [], 'every answer is the expected one');
  const mb = (n: number) => (n / 1024 / 1024).toFixed(2);
  const heapGrowth = mem1.heapUsed - mem0.heapUsed;
  const rssGrowth = mem1.rss - mem0.rss;
  t.comment(measured.summary);
  t.comment(
    `heapUsed ${mb(mem0.heapUsed)} -> ${mb(mem1.heapUsed)} MB (${mb(heapGrowth)}), ` +
      `rss ${mb(mem0.rss)} -> ${mb(mem1.rss)} MB (${mb(rssGrowth)})`,
  );
  t.ok(
    heapGrowth < HEAP_GROWTH_LIMIT_BYTES,
    `heap grew ${mb(heapGrowth)} MB over 2,000 requests (limit ${mb(HEAP_GROWTH_LIMIT_BYTES)} MB)`,
  );
  t.ok(
    rssGrowth < RSS_GROWTH_LIMIT_BYTES,
    `rss grew ${mb(rssGrowth)} MB (limit ${mb(RSS_GROWTH_LIMIT_BYTES)} MB)`,
  );
});

t.test('after everything: still serving, and no route changed the state', async (t) => {
  t.ok(app.server.listening);
  const res = await fetch(`${base}/health`);
  t.equal(res.status, 200);
  await res.arrayBuffer();
  t.same(state, before, 'the state is exactly what it was before the barrage');
  t.ok(Object.isFrozen(state.app), 'and was frozen throughout (a write would have thrown)');
});
