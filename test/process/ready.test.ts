// The readiness probe (src/process/ready.ts) on real sockets: a TCP port that starts listening
// late, `localhost` answered on ::1 only, an HTTP URL by status, and a cancel.

import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import t from 'tap';
import { probeFor, watchReady } from '../../src/process/ready.js';
import { freePort } from '../../testkit/wait.js';

async function listen(
  server: Server | ReturnType<typeof createHttpServer>,
  port: number,
  host: string,
) {
  server.listen(port, host);
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
}

t.test('tcp: not ready until the port accepts, then ready', async (t) => {
  const port = await freePort();
  const watch = watchReady(probeFor(`tcp://127.0.0.1:${port}`), 20);
  let settled: boolean | undefined;
  void watch.ready.then((v) => {
    settled = v;
  });
  await new Promise((r) => setTimeout(r, 150));
  t.equal(settled, undefined, 'nothing listens yet: still probing');
  await listen(createServer(), port, '127.0.0.1');
  t.equal(await watch.ready, true, 'ready once it listens');
});

t.test('tcp localhost: an app listening on ::1 only is found', async (t) => {
  const port = await freePort();
  const server = createServer();
  try {
    await listen(server, port, '::1');
  } catch {
    t.plan(0, 'no IPv6 loopback on this machine');
    return;
  }
  t.equal(await probeFor(`tcp://localhost:${port}`)(new AbortController().signal), true);
  t.equal(
    await probeFor(`tcp://127.0.0.1:${port}`)(new AbortController().signal),
    false,
    '127.0.0.1 alone does not see it',
  );
});

t.test('http: 2xx and 3xx are ready, 5xx and a refused port are not', async (t) => {
  const port = await freePort();
  const server = createHttpServer((req, res) => {
    const status = Number(req.url?.slice(1)) || 200;
    res.writeHead(status, status === 302 ? { location: '/200' } : {});
    res.end();
  });
  await listen(server, port, '127.0.0.1');
  const signal = new AbortController().signal;
  const at = (path: string) => probeFor(`http://127.0.0.1:${port}${path}`)(signal);
  t.equal(await at('/200'), true);
  t.equal(await at('/204'), true);
  t.equal(await at('/302'), true);
  t.equal(await at('/503'), false);
  t.equal(await at('/404'), false);
  const closed = await freePort();
  t.equal(await probeFor(`http://127.0.0.1:${closed}/`)(signal), false);
});

t.test('cancel ends the watch with false and stops probing', async (t) => {
  let tries = 0;
  const watch = watchReady(async () => {
    tries += 1;
    return false;
  }, 10);
  await new Promise((r) => setTimeout(r, 60));
  watch.cancel();
  t.equal(await watch.ready, false);
  const after = tries;
  await new Promise((r) => setTimeout(r, 60));
  t.equal(tries, after, 'no try after the cancel');
  t.ok(after >= 2, `tried ${after} times before`);
});
