// The cluster record over Consul's KV HTTP API (src/consul/record.ts), against the Consul
// stand-in LiteFS's own tests use (shared/litefs/consul-standin.mjs, found as testkit finds it):
// reads that are absent, present or unreadable (a 500, a value that is not a record, a server
// that never answers), writes only while Consul's lease names this node, check-and-set merges
// of concurrent writers, a newer record version never written over, a reset that deletes only
// what it read; every key under lease.consul.url's path, the token in no string at all. Requests
// are counted with the store's `counter`, for the figures in supervisor-record.test.ts.

import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { inspect } from 'node:util';
import t, { type Test } from 'tap';
import { type ConsulEndpoint, parseConsulEndpoint } from '../../src/consul/endpoint.js';
import { REQUEST_TIMEOUT_MS, type RequestCounter, recordStore } from '../../src/consul/record.js';
import { serializeClusterRecord } from '../../src/core/cluster-record.js';
import { findConsulStandin, SHARED_LITEFS, startConsul } from '../../testkit/real-litefs.js';

const TOKEN = 's3cr3t-token';
const PREFIX = 'some/prefix';
const LEASE = 'litefs/primary';
const NODE = 'node-a';
const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);

/** Every string a result or an error gave, checked for the token at the end of the file. */
const seen: string[] = [];
function keep<T>(value: T): T {
  seen.push(JSON.stringify(value), inspect(value, { depth: Infinity, showHidden: true }));
  return value;
}

function endpointAt(origin: string): ConsulEndpoint {
  const u = new URL(origin);
  const parsed = parseConsulEndpoint(`http://:${TOKEN}@${u.host}/${PREFIX}/`, LEASE);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

let seq = 0;
/** A store on its own record key (the tests share one stand-in), with its request counter. */
function storeAt(origin: string, opts: { timeoutMs?: number } = {}) {
  const counter: RequestCounter = { count: 0 };
  const key = `litefs-supervisor/app-${++seq}`;
  const endpoint = endpointAt(origin);
  const store = recordStore(endpoint, key, { counter, ...opts });
  return { store, counter, key, full: `${PREFIX}/${key}`, endpoint };
}

const script = findConsulStandin();
if (!script) {
  t.comment(
    `skipped: no Consul stand-in (set CONSUL_STANDIN or provide ${SHARED_LITEFS}/consul-standin.mjs)`,
  );
  t.plan(0, 'no Consul stand-in');
} else {
  await run(t);
}

async function run(t: Test) {
  const consul = await startConsul(t);
  const base = consul.url;

  const call = async (method: string, path: string, body?: string) => {
    const res = await fetch(`${base}${path}`, { method, ...(body === undefined ? {} : { body }) });
    return { status: res.status, text: await res.text() };
  };
  /** The raw KV entries (the stand-in's control surface), with each value as text. */
  const kv = async () => {
    const r = await call('GET', '/_fake/state');
    const state = JSON.parse(r.text) as {
      kv: { Key: string; ValueText: string; ModifyIndex: number; Session?: string }[];
    };
    return state.kv;
  };
  const entry = async (key: string) => (await kv()).find((e) => e.Key === key);
  const put = (key: string, value: string, query = '') =>
    call('PUT', `/v1/kv/${key}${query}`, value);
  /** LiteFS's lease: a session holding the lease key, its value naming the primary. */
  const holdLease = async (hostname: string) => {
    const s = await call(
      'PUT',
      '/v1/session/create',
      JSON.stringify({ Name: 'litefs', TTL: '10s', LockDelay: '0s' }),
    );
    const id = (JSON.parse(s.text) as { ID: string }).ID;
    const r = await put(
      `${PREFIX}/${LEASE}`,
      JSON.stringify({ hostname, advertiseURL: `http://${hostname}:20202` }),
      `?acquire=${id}`,
    );
    if (r.text !== 'true') throw new Error(`could not take the lease: ${r.text}`);
    return id;
  };
  const releaseLease = async (id: string) => {
    await call('PUT', `/v1/session/destroy/${id}`);
  };
  const req = (dbs: string[]) => ({ dbs, clusterId: 'LFSC0000000000000001', node: NODE });

  t.test('read', async (t) => {
    t.test('absent: no such key (one request)', async (t) => {
      const { store, counter } = storeAt(base);
      t.same(keep(await store.read()), { kind: 'absent' });
      t.equal(counter.count, 1);
    });

    t.test('present: the record and its ModifyIndex', async (t) => {
      const { store, full, counter } = storeAt(base);
      const record = {
        version: 1,
        clusterId: 'LFSC0000000000000001',
        dbs: { 'app.db': { since: '2026-01-02T03:04:05.000Z', node: 'node-b' } },
      };
      await put(full, serializeClusterRecord(record));
      const r = keep(await store.read());
      t.same(r, { kind: 'present', record, index: (await entry(full))?.ModifyIndex });
      t.equal(counter.count, 1);
    });

    t.test('unreadable: Consul answers 500 for the key', async (t) => {
      const { store, full } = storeAt(base);
      await put(full, serializeClusterRecord({ version: 1, clusterId: '', dbs: {} }));
      await call('POST', `/_fake/fail-kv/start?prefix=${encodeURIComponent(full)}`);
      t.teardown(() => call('POST', '/_fake/fail-kv/end'));
      const r = keep(await store.read());
      t.equal(r.kind, 'unreadable', 'never absent: the record may list data');
      if (r.kind === 'unreadable') {
        t.match(r.error, `GET ${full} on Consul at ${new URL(base).origin}: HTTP 500`);
        t.match(r.error, /injected fault/);
      }
      await call('POST', '/_fake/fail-kv/end');
      t.equal((await store.read()).kind, 'present', 'readable again once Consul is');
    });

    t.test('unreadable: a value that is not a record', async (t) => {
      for (const value of ['hello', '{"version":1}', '[]', '']) {
        const { store, full } = storeAt(base);
        await put(full, value);
        const r = keep(await store.read());
        t.equal(r.kind, 'unreadable', JSON.stringify(value));
        if (r.kind === 'unreadable') t.match(r.error, `${full} holds no cluster record`);
      }
    });

    t.test('unreadable: connection refused', async (t) => {
      const server = createNetServer();
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const { port } = server.address() as { port: number };
      await new Promise((r) => server.close(r));
      const { store } = storeAt(`http://127.0.0.1:${port}`);
      const r = keep(await store.read());
      t.equal(r.kind, 'unreadable');
      if (r.kind === 'unreadable') t.match(r.error, /connection refused|ECONNREFUSED/);
    });

    t.test('unreadable within the bound: a server that accepts and never answers', async (t) => {
      const sockets = new Set<Socket>();
      const server = createNetServer((s) => {
        sockets.add(s);
        s.on('error', () => {});
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      t.teardown(() => {
        for (const s of sockets) s.destroy();
        server.close();
      });
      const { port } = server.address() as { port: number };
      const { store, counter } = storeAt(`http://127.0.0.1:${port}`);
      const started = Date.now();
      const r = keep(await store.read());
      const ms = Date.now() - started;
      t.equal(r.kind, 'unreadable');
      if (r.kind === 'unreadable') t.match(r.error, /within 2000 ms/);
      t.ok(ms >= REQUEST_TIMEOUT_MS - 100, `not before the bound (${ms} ms)`);
      t.ok(ms < REQUEST_TIMEOUT_MS + 1500, `about the 2 s bound (${ms} ms)`);
      t.equal(sockets.size, 1, 'it did connect: the silence is the server');
      t.equal(counter.count, 1);
      // A write against it fails the same way (its first request is the lease read).
      const w = keep(await store.write(req(['app.db']), T0));
      t.equal(w.kind, 'failed');
    });

    t.test('unreadable within the bound: a body that trickles in forever', async (t) => {
      // Headers at once, then a byte every 500 ms: no single wait reaches undici's header or
      // body timeout, so only the bound on the whole request ends it.
      const timers = new Set<NodeJS.Timeout>();
      const server = createHttpServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('[');
        const timer = setInterval(() => res.write(' '), 500);
        timers.add(timer);
        res.on('close', () => clearInterval(timer));
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      t.teardown(() => {
        for (const timer of timers) clearInterval(timer);
        server.closeAllConnections();
        server.close();
      });
      const { port } = server.address() as { port: number };
      const { store } = storeAt(`http://127.0.0.1:${port}`);
      const started = Date.now();
      const r = keep(await store.read());
      const ms = Date.now() - started;
      t.equal(r.kind, 'unreadable');
      t.ok(ms < REQUEST_TIMEOUT_MS + 1500, `about the 2 s bound (${ms} ms)`);
    });
  });

  t.test('write', async (t) => {
    t.test('not-holder: the lease key is absent (one request, nothing written)', async (t) => {
      const { store, counter, full } = storeAt(base);
      t.same(keep(await store.write(req(['app.db']), T0)), { kind: 'not-holder', holder: '' });
      t.equal(counter.count, 1);
      t.equal(await entry(full), undefined);
    });

    t.test('not-holder: the lease value names a node but no session holds it', async (t) => {
      await put(`${PREFIX}/${LEASE}`, JSON.stringify({ hostname: NODE }));
      t.teardown(() => call('DELETE', `/v1/kv/${PREFIX}/${LEASE}`));
      const { store, full } = storeAt(base);
      t.same(keep(await store.write(req(['app.db']), T0)), { kind: 'not-holder', holder: '' });
      t.equal(await entry(full), undefined);
    });

    t.test('not-holder: the lease is held by another hostname', async (t) => {
      const id = await holdLease('node-b');
      t.teardown(() => releaseLease(id));
      const { store, full } = storeAt(base);
      t.same(keep(await store.write(req(['app.db']), T0)), {
        kind: 'not-holder',
        holder: 'node-b',
      });
      t.equal(await entry(full), undefined);
    });

    t.test('the holder', async (t) => {
      const id = await holdLease(NODE);
      t.teardown(() => releaseLease(id));

      t.test('written, under the prefix, read back; 4 requests', async (t) => {
        const { store, counter, full } = storeAt(base);
        const w = keep(await store.write(req(['app.db', 'jobs.db']), T0));
        const record = {
          version: 1,
          clusterId: 'LFSC0000000000000001',
          dbs: {
            'app.db': { since: new Date(T0).toISOString(), node: NODE },
            'jobs.db': { since: new Date(T0).toISOString(), node: NODE },
          },
        };
        const stored = await entry(full);
        t.ok(stored, `the record is at ${full}`);
        t.same(JSON.parse(stored?.ValueText ?? 'null'), record);
        t.same(w, {
          kind: 'written',
          read: { kind: 'present', record, index: stored?.ModifyIndex },
          gained: ['app.db', 'jobs.db'],
        });
        t.equal(counter.count, 4, 'lease GET, record GET, PUT ?cas=0, GET back');
        t.same(keep(await store.read()), w.kind === 'written' ? w.read : undefined);

        // The same dbs again: nothing written, the record as it was.
        counter.count = 0;
        const again = keep(await store.write(req(['app.db']), T0 + 60_000));
        t.same(again, { kind: 'unchanged', read: w.kind === 'written' ? w.read : undefined });
        t.equal(counter.count, 2, 'lease GET, record GET: no PUT');
        t.equal((await entry(full))?.ModifyIndex, stored?.ModifyIndex, 'not rewritten');

        // One more db: gained, the others kept as they were.
        const more = keep(await store.write(req(['app.db', 'new.db']), T0 + 120_000));
        t.match(more, { kind: 'written', gained: ['new.db'] });
        const after = JSON.parse((await entry(full))?.ValueText ?? 'null');
        t.same(after.dbs['app.db'], record.dbs['app.db'], 'an entry never changes');
        t.equal(after.dbs['new.db'].since, new Date(T0 + 120_000).toISOString());
      });

      t.test('a version 2 record is never written over', async (t) => {
        const { store, full, counter } = storeAt(base);
        const v2 = JSON.stringify({ version: 2, clusterId: 'X', dbs: {}, epoch: 9 });
        await put(full, v2);
        const before = await entry(full);
        const w = keep(await store.write(req(['app.db']), T0));
        t.equal(w.kind, 'failed');
        if (w.kind === 'failed') t.match(w.error, /record version 2\); not writing over it/);
        const now = await entry(full);
        t.equal(now?.ValueText, v2, 'byte for byte');
        t.equal(now?.ModifyIndex, before?.ModifyIndex);
        t.equal(counter.count, 2, 'no PUT');
        t.match(keep(await store.read()), { kind: 'present', record: { version: 2 } });
      });

      t.test('two concurrent writers with different dbs both end in the record', async (t) => {
        // Ten rounds, each on a fresh key: both read the record absent and race their
        // check-and-set creates; the loser reads again and merges.
        let requests = 0;
        for (let round = 0; round < 10; round++) {
          const { full, key, endpoint } = storeAt(base);
          const counter: RequestCounter = { count: 0 };
          const [a, b] = [0, 1].map(() => recordStore(endpoint, key, { counter }));
          const results = keep(
            await Promise.all([a!.write(req(['a.db']), T0), b!.write(req(['b.db']), T0 + 1)]),
          );
          t.same(
            results.map((r) => r.kind),
            ['written', 'written'],
            `round ${round}`,
          );
          const stored = JSON.parse((await entry(full))?.ValueText ?? 'null');
          t.same(stored?.dbs, {
            'a.db': { since: new Date(T0).toISOString(), node: NODE },
            'b.db': { since: new Date(T0 + 1).toISOString(), node: NODE },
          });
          requests += counter.count;
        }
        // 8 requests a round without a lost check-and-set; each lost one costs 3 more.
        t.comment(`two concurrent writers, 10 rounds: ${requests} requests (80 with no race)`);
      });

      t.test('a check-and-set lost to another writer is merged, not overwritten', async (t) => {
        // A proxy in front of the stand-in: just before the store's first PUT ?cas= reaches
        // Consul, another writer records other.db, so the store's PUT fails its check-and-set.
        const { full, key, endpoint } = storeAt(base);
        const other = {
          version: 1,
          clusterId: 'LFSC0000000000000001',
          dbs: { 'other.db': { since: '2025-12-31T00:00:00.000Z', node: 'node-b' } },
        };
        let raced = false;
        const puts: string[] = [];
        const proxy = createHttpServer(async (inReq: IncomingMessage, res) => {
          const chunks: Buffer[] = [];
          for await (const c of inReq) chunks.push(c as Buffer);
          if (inReq.method === 'PUT') puts.push(inReq.url ?? '');
          if (inReq.method === 'PUT' && !raced) {
            raced = true;
            await put(full, serializeClusterRecord(other), '?cas=0');
          }
          const r = await fetch(`${base}${inReq.url}`, {
            method: inReq.method ?? 'GET',
            ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
          });
          res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? '' });
          res.end(await r.text());
        });
        proxy.listen(0, '127.0.0.1');
        await once(proxy, 'listening');
        t.teardown(() => {
          proxy.closeAllConnections();
          proxy.close();
        });
        const { port } = proxy.address() as { port: number };
        const viaProxy: ConsulEndpoint = { ...endpoint, origin: `http://127.0.0.1:${port}` };
        const counter: RequestCounter = { count: 0 };
        const w = keep(await recordStore(viaProxy, key, { counter }).write(req(['app.db']), T0));
        t.match(w, { kind: 'written', gained: ['app.db'] });
        t.equal(puts.length, 2, 'the first PUT lost its check-and-set; the second, merged, won');
        t.match(puts[0], /\?cas=0$/);
        t.notMatch(puts[1], /\?cas=0$/, 'the second at the index the merge read');
        const stored = JSON.parse((await entry(full))?.ValueText ?? 'null');
        t.same(stored.dbs['other.db'], other.dbs['other.db'], "the other writer's entry kept");
        t.equal(stored.dbs['app.db']?.node, NODE);
        t.equal(counter.count, 7, 'lease, read, lost PUT, lease, read, PUT, read back');
      });
    });
  });

  t.test('reset', async (t) => {
    t.test('with the index it read: deleted', async (t) => {
      const { store, full } = storeAt(base);
      await put(full, serializeClusterRecord({ version: 1, clusterId: '', dbs: {} }));
      const r = await store.read();
      if (r.kind !== 'present') throw new Error(`not present: ${r.kind}`);
      t.same(keep(await store.reset(r.index)), { ok: true, deleted: true });
      t.equal(await entry(full), undefined);
      t.same(await store.read(), { kind: 'absent' });
    });
    t.test('with a stale index (the record changed since): not deleted', async (t) => {
      const { store, full } = storeAt(base);
      await put(full, serializeClusterRecord({ version: 1, clusterId: '', dbs: {} }));
      const r = await store.read();
      if (r.kind !== 'present') throw new Error(`not present: ${r.kind}`);
      const changed = { version: 1, clusterId: '', dbs: { 'a.db': { since: 's', node: 'n' } } };
      await put(full, serializeClusterRecord(changed));
      t.same(keep(await store.reset(r.index)), { ok: true, deleted: false });
      t.match(await store.read(), { kind: 'present', record: changed });
    });
    t.test('Consul failing: an error value, not a throw', async (t) => {
      const { store, full } = storeAt(base);
      await call('POST', `/_fake/fail-kv/start?prefix=${encodeURIComponent(full)}`);
      t.teardown(() => call('POST', '/_fake/fail-kv/end'));
      const r = keep(await store.reset(1));
      t.equal(r.ok, false);
      if (!r.ok) t.match(r.error, /HTTP 500/);
    });
  });

  t.test('the token', async (t) => {
    t.test('is sent as X-Consul-Token, never in the URL', async (t) => {
      const got: { url: string; token: unknown; auth: unknown }[] = [];
      const server = createHttpServer((inReq, res) => {
        got.push({
          url: inReq.url ?? '',
          token: inReq.headers['x-consul-token'],
          auth: inReq.headers.authorization,
        });
        res.writeHead(404).end();
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      t.teardown(() => {
        server.closeAllConnections();
        server.close();
      });
      const { port } = server.address() as { port: number };
      const { store, key } = storeAt(`http://127.0.0.1:${port}`);
      t.same(keep(await store.read()), { kind: 'absent' });
      t.same(got, [{ url: `/v1/kv/${PREFIX}/${key}`, token: TOKEN, auth: undefined }]);
    });

    t.test('keys land under the URL path, the lease key too', async (t) => {
      const id = await holdLease(NODE);
      t.teardown(() => releaseLease(id));
      const { store, full } = storeAt(base);
      t.equal(store.key, full, 'the key shown in logs is the full key, with no URL');
      await store.write(req(['app.db']), T0);
      const keys = (await kv()).map((e) => e.Key);
      t.ok(keys.includes(full));
      t.ok(keys.includes(`${PREFIX}/${LEASE}`));
      t.same(
        keys.filter((k) => !k.startsWith(`${PREFIX}/`)),
        [],
        'nothing written outside the prefix',
      );
    });

    t.test('an error body that echoes the token does not carry it', async (t) => {
      // A proxy (or a misconfigured server) may quote the request's headers in its error.
      const server = createHttpServer((inReq, res) => {
        res.writeHead(403).end(`denied for token ${String(inReq.headers['x-consul-token'])}`);
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      t.teardown(() => {
        server.closeAllConnections();
        server.close();
      });
      const { port } = server.address() as { port: number };
      const { store } = storeAt(`http://127.0.0.1:${port}`);
      const r = keep(await store.read());
      t.equal(r.kind, 'unreadable');
      if (r.kind === 'unreadable') t.match(r.error, /HTTP 403 \(the token may lack an ACL/);
      keep(await store.write(req(['app.db']), T0));
      keep(await store.reset(1));
    });

    t.test('the endpoint never prints it', async (t) => {
      const endpoint = endpointAt(base);
      t.equal(endpoint.token?.reveal(), TOKEN, 'it is there, for the header');
      t.equal(endpoint.origin, new URL(base).origin);
      t.equal(endpoint.prefix, PREFIX);
      const shown = [
        JSON.stringify(endpoint),
        inspect(endpoint, { depth: Infinity, showHidden: true }),
        String(endpoint.token),
        `${endpoint.token}`,
        JSON.stringify({ config: { consul: endpoint } }),
      ];
      for (const s of shown) t.notMatch(s, TOKEN, s);
      t.match(JSON.stringify(endpoint), /\[redacted\]/);
      const bad = parseConsulEndpoint(`ftp://:${TOKEN}@h/x`, LEASE);
      t.equal(bad.ok, false);
      seen.push(JSON.stringify(bad));
    });

    t.test('no result or error of this file carried it', async (t) => {
      t.ok(seen.length > 40, `${seen.length} strings checked`);
      const carrying = seen.filter((s) => s.includes(TOKEN));
      t.same(carrying, []);
    });
  });
}
