import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { dbViewOf } from '../../src/core/derive.js';
import type { PeerAnswer } from '../../src/core/peer-types.js';
import { type AnsweredPeer, peersAhead, unansweredPeers } from '../../src/core/peers.js';
import { LitefsClient } from '../../src/litefs/client.js';
import {
  askPeers,
  type DnsResolver,
  discoverPeers,
  type PeerClient,
  parsePeersOption,
} from '../../src/litefs/peers.js';
import { FakeLitefs, type FakeLitefsOptions } from '../../testkit/fake-litefs.js';
import { db as dbObs } from '../helpers/builders.js';

/** S2's peer check for this node at `txid` with data (2 pages): who is ahead. */
function peerTxidAbove(
  report: Parameters<typeof peersAhead>[0],
  db: string,
  txid: bigint,
  cluster: string,
): AnsweredPeer[] {
  const own = dbViewOf(dbObs({ name: db, txid, pages: 2 }), false);
  return peersAhead(report, own, cluster).map((x) => x.peer);
}

const NOW = 1_700_000_000_000;
const CLUSTER = 'LFSC0123456789ABCDEF';
const MAX = (1n << 64n) - 1n;

async function fakes(t: Test, ...options: FakeLitefsOptions[]): Promise<FakeLitefs[]> {
  const started = await Promise.all(
    options.map((o) => FakeLitefs.start({ clusterId: CLUSTER, ...o })),
  );
  t.teardown(() => Promise.all(started.map((f) => f.close())));
  return started;
}

function ok(answer: PeerAnswer | undefined): PeerAnswer & { ok: true } {
  if (!answer?.ok) throw new Error(`expected an answer, got ${JSON.stringify(answer)}`);
  return answer;
}

function byUrl(answers: PeerAnswer[], url: string): PeerAnswer | undefined {
  return answers.find((a) => a.url === url);
}

/** A DNS error as node:dns reports it: the c-ares code on `code`. */
function dnsError(code: string, name: string): Error {
  return Object.assign(new Error(`query ${code} ${name}`), { code, hostname: name });
}

type Answer = string[] | { code: string } | 'hang';

function fakeResolver(a: Answer, aaaa: Answer): DnsResolver & { asked: string[] } {
  const asked: string[] = [];
  const answer = (family: string, value: Answer, name: string): Promise<string[]> => {
    asked.push(`${family} ${name}`);
    if (value === 'hang') return new Promise(() => {});
    if (Array.isArray(value)) return Promise.resolve(value);
    return Promise.reject(dnsError(value.code, name));
  };
  return {
    asked,
    resolve4: (name) => answer('A', a, name),
    resolve6: (name) => answer('AAAA', aaaa, name),
  };
}

/**
 * A bare LiteFS-like node for faults FakeLitefs does not model: /debug/vars failing or
 * hanging, /info without a Litefs-Id header.
 */
async function rawNode(
  t: Test,
  options: { nodeId: string | null; vars: 'ok' | 500 | 'bad-json' | 'hang' },
): Promise<string> {
  const hanging = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    if (req.url === '/info') {
      if (options.nodeId !== null) res.setHeader('Litefs-Id', options.nodeId);
      res.setHeader('Litefs-Cluster-Id', CLUSTER);
      res.end(
        JSON.stringify({
          clusterID: CLUSTER,
          isPrimary: false,
          candidate: true,
          path: '/var/lib/litefs',
          primary: { hostname: 'machine-a' },
        }),
      );
      return;
    }
    if (options.vars === 'hang') {
      hanging.add(res);
      return;
    }
    if (options.vars === 500) {
      res.statusCode = 500;
      res.end('expvar exploded\n');
      return;
    }
    if (options.vars === 'bad-json') {
      res.end('{"store": {"isPrimary": fal');
      return;
    }
    res.end(
      JSON.stringify({
        store: {
          isPrimary: false,
          candidate: true,
          dbs: {
            'sqlite.db': { name: 'sqlite.db', txid: '0000000000000007', checksum: 'f'.repeat(16) },
          },
        },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

t.test('parsePeersOption', async (t) => {
  const rows: [string, ReturnType<typeof parsePeersOption>][] = [
    ['myapp.internal', { kind: 'dns', name: 'myapp.internal' }],
    ['  myapp.internal  ', { kind: 'dns', name: 'myapp.internal' }],
    ['10.0.0.2', { kind: 'dns', name: '10.0.0.2' }],
    ['http://10.0.0.2:20202', { kind: 'urls', urls: ['http://10.0.0.2:20202'], healthPorts: {} }],
    [
      'http://10.0.0.2:20202/, https://b.example:20202',
      { kind: 'urls', urls: ['http://10.0.0.2:20202', 'https://b.example:20202'], healthPorts: {} },
    ],
    [
      'http://[FD00::1]:20202,http://[fd00::1]:20202/',
      { kind: 'urls', urls: ['http://[fd00::1]:20202'], healthPorts: {} },
    ],
    [
      'http://user:secret@10.0.0.2:20202',
      { kind: 'urls', urls: ['http://10.0.0.2:20202'], healthPorts: {} },
    ],
  ];
  for (const [text, expected] of rows) t.same(parsePeersOption(text), expected, text);
});

t.test('discoverPeers: a URL list is used as given', async (t) => {
  const resolver = fakeResolver('hang', 'hang');
  t.same(
    await discoverPeers(
      { kind: 'urls', urls: ['http://a:1', 'http://b:2'], healthPorts: {} },
      { port: 20202, resolver },
    ),
    { urls: ['http://a:1', 'http://b:2'], error: undefined },
  );
  t.same(resolver.asked, [], 'no DNS query');
});

t.test('discoverPeers: DNS', async (t) => {
  const spec = { kind: 'dns', name: 'myapp.internal' } as const;
  const rows: [name: string, a: Answer, aaaa: Answer, urls: string[], error: RegExp | undefined][] =
    [
      [
        'A and AAAA merged, IPv6 in brackets, duplicates dropped',
        ['10.0.0.2', '10.0.0.3', '10.0.0.2'],
        ['fdaa:0:1::2', 'FDAA:0:1::3'],
        [
          'http://10.0.0.2:20202',
          'http://10.0.0.3:20202',
          'http://[fdaa:0:1::2]:20202',
          'http://[fdaa:0:1::3]:20202',
        ],
        undefined,
      ],
      [
        'NXDOMAIN for both: nobody there',
        { code: 'ENOTFOUND' },
        { code: 'ENOTFOUND' },
        [],
        undefined,
      ],
      [
        'NODATA for A (Fly .internal is IPv6 only)',
        { code: 'ENODATA' },
        ['fdaa::2'],
        ['http://[fdaa::2]:20202'],
        undefined,
      ],
      ['empty answers', [], [], [], undefined],
      [
        'SERVFAIL on AAAA is an error; A still counts',
        ['10.0.0.2'],
        { code: 'ESERVFAIL' },
        ['http://10.0.0.2:20202'],
        /^DNS AAAA lookup of myapp\.internal failed: .*ESERVFAIL/,
      ],
      [
        'timeout on A is an error; AAAA still counts',
        { code: 'ETIMEOUT' },
        ['fdaa::2'],
        ['http://[fdaa::2]:20202'],
        /^DNS A lookup of myapp\.internal failed: .*ETIMEOUT/,
      ],
      [
        'both fail: both named',
        { code: 'ECONNREFUSED' },
        { code: 'EREFUSED' },
        [],
        /DNS A lookup .*ECONNREFUSED.*; DNS AAAA lookup .*EREFUSED/,
      ],
      [
        'NXDOMAIN on one family, SERVFAIL on the other: error',
        { code: 'ENOTFOUND' },
        { code: 'ESERVFAIL' },
        [],
        /DNS AAAA lookup .*ESERVFAIL/,
      ],
      [
        'a resolver that never answers is an error after the deadline',
        ['10.0.0.2'],
        'hang',
        ['http://10.0.0.2:20202'],
        /^DNS AAAA lookup of myapp\.internal: no answer within 100 ms$/,
      ],
    ];
  for (const [name, a, aaaa, urls, error] of rows) {
    const resolver = fakeResolver(a, aaaa);
    const got = await discoverPeers(spec, { port: 20202, resolver, timeoutMs: 100 });
    t.same(got.urls, urls, `${name}: urls`);
    if (error === undefined) t.equal(got.error, undefined, `${name}: no error`);
    else t.match(got.error, error, `${name}: error`);
    t.same(
      resolver.asked.sort(),
      ['A myapp.internal', 'AAAA myapp.internal'],
      `${name}: both asked`,
    );
  }

  const throwing: DnsResolver = {
    resolve4: () => {
      throw new Error('resolver bug');
    },
    resolve6: async () => ['fdaa::2'],
  };
  t.match(
    await discoverPeers(spec, { port: 1, resolver: throwing }),
    { urls: ['http://[fdaa::2]:1'], error: /DNS A lookup .*resolver bug/ },
    'a resolver that throws synchronously is an error value',
  );
});

t.test('discoverPeers: an IP literal is its own address, not a DNS query', async (t) => {
  const resolver = fakeResolver({ code: 'ENOTFOUND' }, { code: 'ENOTFOUND' });
  t.same(await discoverPeers({ kind: 'dns', name: '10.0.0.2' }, { port: 20202, resolver }), {
    urls: ['http://10.0.0.2:20202'],
    error: undefined,
  });
  t.same(await discoverPeers({ kind: 'dns', name: 'fdaa::2' }, { port: 20202, resolver }), {
    urls: ['http://[fdaa::2]:20202'],
    error: undefined,
  });
  t.same(resolver.asked, []);
});

t.test('askPeers: several nodes by URL, self skipped by node ID', async (t) => {
  const [self, primary, replica, noCandidate] = await fakes(
    t,
    { nodeId: '00000000000000A1', role: { replicaOf: 'host-b' }, dbs: ['sqlite.db'] },
    { nodeId: '00000000000000B2', hostname: 'host-b', role: 'primary', dbs: ['sqlite.db'] },
    { nodeId: '00000000000000C3', role: { replicaOf: 'host-b' }, dbs: ['sqlite.db', 'other.db'] },
    { nodeId: '00000000000000D4', role: { replicaOf: 'host-b' }, candidate: false },
  );
  if (!self || !primary || !replica || !noCandidate) throw new Error('fakes');
  primary.setPos('sqlite.db', 42n, 'a1b2c3d4e5f60718');
  replica.setPos('sqlite.db', 41n);
  replica.setPos('other.db', 3n);

  const spec = parsePeersOption([self, primary, replica, noCandidate].map((f) => f.url).join(','));
  const report = await askPeers({
    spec,
    port: 20202,
    selfNodeId: self.nodeId.toLowerCase(), // LiteFS parses IDs in either case
    dbs: ['sqlite.db'],
    healthPort: undefined,
    timeoutMs: 2000,
    now: () => NOW,
  });
  t.equal(report.at, NOW);
  t.equal(report.discoveryError, undefined);
  t.same(
    report.answers.map((a) => a.url),
    [primary.url, replica.url, noCandidate.url],
    'self dropped, order kept',
  );
  t.match(byUrl(report.answers, primary.url), {
    url: primary.url,
    ok: true,
    nodeId: '00000000000000B2',
    clusterId: CLUSTER,
    candidate: true,
    isPrimary: true,
    primaryHostname: 'host-b',
    evidence: 'litefs',
    dbs: { 'sqlite.db': { txid: 42n, checksum: 'a1b2c3d4e5f60718', hasData: true } },
  });
  t.match(ok(byUrl(report.answers, replica.url)), {
    nodeId: '00000000000000C3',
    isPrimary: false,
    primaryHostname: 'host-b',
    dbs: { 'sqlite.db': { txid: 41n } },
  });
  t.match(ok(byUrl(report.answers, noCandidate.url)), { candidate: false, dbs: {} });
  t.same(unansweredPeers(report), []);

  // S2 from the self node's point of view: at TXID 41 the primary (42) is ahead.
  t.same(
    peerTxidAbove(report, 'sqlite.db', 41n, CLUSTER).map((p) => p.nodeId),
    ['00000000000000B2'],
  );
  for (const fake of [self, primary, replica, noCandidate]) {
    t.equal(fake.requestsTo('/info').length, 1, `${fake.nodeId} asked /info once`);
  }
  t.equal(
    self.requestsTo('/debug/vars').length + self.requestsTo('/export').length,
    0,
    'this node itself is not asked for evidence (recognised by its /info first)',
  );
});

t.test('askPeers: no self node ID given keeps every node', async (t) => {
  const [a] = await fakes(t, { role: 'primary' });
  if (!a) throw new Error('fakes');
  const report = await askPeers({
    spec: { kind: 'urls', urls: [a.url], healthPorts: {} },
    port: 20202,
    selfNodeId: undefined,
    dbs: ['sqlite.db'],
    healthPort: undefined,
    timeoutMs: 2000,
    now: () => NOW,
  });
  t.equal(report.answers.length, 1);
});

t.test('askPeers: one node at two addresses is one peer', async (t) => {
  const [a, b] = await fakes(t, { nodeId: '00000000000000E5' }, { nodeId: '00000000000000e5' });
  if (!a || !b) throw new Error('fakes');
  const report = await askPeers({
    spec: { kind: 'urls', urls: [a.url, b.url], healthPorts: {} },
    port: 20202,
    selfNodeId: undefined,
    dbs: ['sqlite.db'],
    healthPort: undefined,
    timeoutMs: 2000,
    now: () => NOW,
  });
  t.same(
    report.answers.map((x) => x.url),
    [a.url],
  );
});

t.test('askPeers: DNS form, the LiteFS port from the caller', async (t) => {
  const [self, other] = await fakes(t, { role: 'primary', dbs: ['sqlite.db'] }, {});
  if (!self || !other) throw new Error('fakes');

  // Fly's .internal includes this machine: alone, it finds nobody else.
  const alone = await askPeers({
    spec: { kind: 'dns', name: 'myapp.internal' },
    port: self.port,
    selfNodeId: self.nodeId,
    dbs: ['sqlite.db'],
    healthPort: undefined,
    timeoutMs: 2000,
    now: () => NOW,
    resolver: fakeResolver(['127.0.0.1'], { code: 'ENODATA' }),
  });
  t.same(alone, { at: NOW, answers: [], discoveryError: undefined }, 'only self: no peers');

  // Seen from `other`: self answers at 127.0.0.1; ::1 (nothing listens there) does not.
  const seen = await askPeers({
    spec: { kind: 'dns', name: 'myapp.internal' },
    port: self.port,
    selfNodeId: other.nodeId,
    dbs: ['sqlite.db'],
    healthPort: undefined,
    timeoutMs: 2000,
    now: () => NOW,
    resolver: fakeResolver(['127.0.0.1'], ['::1']),
  });
  t.equal(seen.discoveryError, undefined);
  t.match(ok(byUrl(seen.answers, `http://127.0.0.1:${self.port}`)), {
    nodeId: self.nodeId,
    isPrimary: true,
  });
  const v6 = `http://[::1]:${self.port}`;
  t.match(byUrl(seen.answers, v6), { ok: false, error: `GET ${v6}/` }, 'unanswered, URL named');

  const none = await askPeers({
    spec: { kind: 'dns', name: 'gone.internal' },
    port: self.port,
    selfNodeId: other.nodeId,
    dbs: ['sqlite.db'],
    healthPort: undefined,
    timeoutMs: 2000,
    now: () => NOW,
    resolver: fakeResolver({ code: 'ENOTFOUND' }, { code: 'ENOTFOUND' }),
  });
  t.same(none, { at: NOW, answers: [], discoveryError: undefined }, 'NXDOMAIN: no peers');

  const servfail = await askPeers({
    spec: { kind: 'dns', name: 'myapp.internal' },
    port: self.port,
    selfNodeId: other.nodeId,
    dbs: ['sqlite.db'],
    healthPort: undefined,
    timeoutMs: 2000,
    now: () => NOW,
    resolver: fakeResolver(['127.0.0.1'], { code: 'ESERVFAIL' }),
  });
  t.match(servfail.discoveryError, /AAAA .*ESERVFAIL/, 'peers may be hidden');
  t.equal(servfail.answers.length, 1, 'what A found is still asked');
});

t.test('askPeers: failing and hanging peers', async (t) => {
  const [good, s500, badJson, hangs] = await fakes(
    t,
    { role: 'primary', dbs: ['sqlite.db'] },
    {},
    {},
    {},
  );
  if (!good || !s500 || !badJson || !hangs) throw new Error('fakes');
  s500.failInfo({ status: 500 });
  badJson.failInfo({ badJson: true });
  hangs.failInfo({ delayMs: 60_000 });
  const varsFails = await rawNode(t, { nodeId: '00000000000000F1', vars: 500 });
  const varsBadJson = await rawNode(t, { nodeId: '00000000000000F2', vars: 'bad-json' });
  const varsHangs = await rawNode(t, { nodeId: '00000000000000F3', vars: 'hang' });
  const noId = await rawNode(t, { nodeId: null, vars: 'ok' });
  // Port 1 (tcpmux) is privileged and unused: connection refused.
  const deadUrl = 'http://127.0.0.1:1';

  const timeoutMs = 500;
  const started = performance.now();
  const report = await askPeers({
    spec: {
      kind: 'urls',
      urls: [
        good.url,
        s500.url,
        badJson.url,
        hangs.url,
        varsFails,
        varsBadJson,
        varsHangs,
        noId,
        deadUrl,
      ],
      healthPorts: {},
    },
    port: 20202,
    selfNodeId: undefined,
    dbs: ['sqlite.db'],
    healthPort: undefined,
    timeoutMs,
    now: () => NOW,
  });
  const elapsed = performance.now() - started;
  t.ok(elapsed < timeoutMs + 1000, `report within timeout + 1 s (took ${Math.round(elapsed)} ms)`);
  t.ok(elapsed >= timeoutMs - 50, 'it did wait for the hanging peers');

  t.match(ok(byUrl(report.answers, good.url)), { isPrimary: true });
  const expectations: [url: string, error: RegExp][] = [
    [s500.url, /^GET http:\/\/127\.0\.0\.1:\d+\/info: HTTP 500/],
    [badJson.url, /^GET http:\/\/127\.0\.0\.1:\d+\/info: expected JSON/],
    [hangs.url, /^GET http:\/\/127\.0\.0\.1:\d+\/info: no (answer|response headers) within 500 ms/],
    [varsFails, /^GET http:\/\/127\.0\.0\.1:\d+\/debug\/vars: HTTP 500: "expvar exploded"/],
    [varsBadJson, /^GET http:\/\/127\.0\.0\.1:\d+\/debug\/vars: expected JSON/],
    [
      varsHangs,
      /^GET http:\/\/127\.0\.0\.1:\d+\/debug\/vars( and \/export)?: no (answer|response headers) within 500 ms/,
    ],
    [noId, /\/info: no Litefs-Id header, so it cannot be told apart from this node/],
    [deadUrl, /^GET http:\/\/127\.0\.0\.1:1\/info: connection refused/],
  ];
  for (const [url, error] of expectations) {
    const answer = byUrl(report.answers, url);
    t.match(answer, { url, ok: false, error }, url);
    if (answer && !answer.ok) t.ok(answer.error.includes(url), `error names ${url}`);
  }
  t.equal(unansweredPeers(report).length, expectations.length);
});

t.test('askPeers: a peer of another cluster is reported with its cluster ID', async (t) => {
  const [ours, theirs, fresh] = await fakes(
    t,
    { dbs: ['sqlite.db'] },
    { clusterId: 'LFSCFFFFFFFFFFFFFFFF', dbs: ['sqlite.db'] },
    { clusterId: '', dbs: ['sqlite.db'] },
  );
  if (!ours || !theirs || !fresh) throw new Error('fakes');
  ours.setPos('sqlite.db', 5n);
  theirs.setPos('sqlite.db', 500n);
  fresh.setPos('sqlite.db', 50n);
  const report = await askPeers({
    spec: { kind: 'urls', urls: [ours.url, theirs.url, fresh.url], healthPorts: {} },
    port: 20202,
    selfNodeId: undefined,
    dbs: ['sqlite.db'],
    healthPort: undefined,
    timeoutMs: 2000,
    now: () => NOW,
  });
  t.equal(ok(byUrl(report.answers, ours.url)).clusterId, CLUSTER);
  t.equal(ok(byUrl(report.answers, theirs.url)).clusterId, 'LFSCFFFFFFFFFFFFFFFF');
  t.equal(ok(byUrl(report.answers, fresh.url)).clusterId, '', 'no cluster ID yet');
  t.same(
    peerTxidAbove(report, 'sqlite.db', 1n, CLUSTER)
      .map((p) => p.url)
      .sort(),
    [ours.url, fresh.url].sort(),
    'another cluster is filtered out; a peer without a cluster ID yet still counts (S2 errs towards not writing)',
  );
});

t.test('askPeers: TXIDs near 2^64 arrive exactly', async (t) => {
  const [a, b] = await fakes(t, { dbs: ['sqlite.db'] }, { dbs: ['sqlite.db'] });
  if (!a || !b) throw new Error('fakes');
  a.setPos('sqlite.db', MAX, 'ffffffffffffffff');
  b.setPos('sqlite.db', MAX - 1n);
  const report = await askPeers({
    spec: { kind: 'urls', urls: [a.url, b.url], healthPorts: {} },
    port: 20202,
    selfNodeId: undefined,
    dbs: ['sqlite.db'],
    healthPort: undefined,
    timeoutMs: 2000,
    now: () => NOW,
  });
  t.match(ok(byUrl(report.answers, a.url)).dbs['sqlite.db'], {
    txid: 18446744073709551615n,
    checksum: 'ffffffffffffffff',
  });
  t.equal(ok(byUrl(report.answers, b.url)).dbs['sqlite.db']?.txid, 18446744073709551614n);
  t.same(
    peerTxidAbove(report, 'sqlite.db', MAX - 1n, CLUSTER).map((p) => p.url),
    [a.url],
  );
});

t.test('askPeers: closes every client, never throws', async (t) => {
  const [a, slow] = await fakes(t, { role: 'primary' }, {});
  if (!a || !slow) throw new Error('fakes');
  slow.failInfo({ delayMs: 60_000 });
  const opened: string[] = [];
  const closed: string[] = [];
  const clientFor = (url: string): PeerClient => {
    if (url.endsWith(':2')) throw new TypeError('cannot build it');
    if (url.endsWith(':3')) {
      return {
        info: () => Promise.reject(new Error('boom')),
        debugVars: () => {
          throw new Error('sync boom');
        },
        exportHead: () => Promise.reject(new Error('boom')),
        close: () => {
          closed.push(url);
          return new Promise(() => {}); // never closes: must not hold the report
        },
      };
    }
    const client = new LitefsClient({ url, headersTimeoutMs: 10_000 });
    opened.push(url);
    return {
      info: () => client.info(),
      debugVars: () => client.debugVars(),
      exportHead: (name: string) => client.exportHead(name),
      close: async () => {
        closed.push(url);
        await client.close();
      },
    };
  };
  const started = performance.now();
  const report = await askPeers({
    spec: {
      kind: 'urls',
      urls: [a.url, slow.url, 'http://127.0.0.1:2', 'http://127.0.0.1:3'],
      healthPorts: {},
    },
    port: 20202,
    selfNodeId: a.nodeId,
    dbs: ['sqlite.db'],
    healthPort: undefined,
    timeoutMs: 300,
    now: () => NOW,
    clientFor,
  });
  t.ok(performance.now() - started < 300 + 1000, 'bounded by the timeout, not the client');
  t.same(closed.sort(), [...opened, 'http://127.0.0.1:3'].sort(), 'every client made was closed');
  t.same(
    report.answers.map((x) => x.url),
    [slow.url, 'http://127.0.0.1:2', 'http://127.0.0.1:3'],
  );
  t.match(byUrl(report.answers, slow.url), { error: /\/info: no answer within 300 ms/ });
  t.match(byUrl(report.answers, 'http://127.0.0.1:2'), {
    error: /^http:\/\/127\.0\.0\.1:2: cannot create a LiteFS client: cannot build it/,
  });
  t.match(byUrl(report.answers, 'http://127.0.0.1:3'), { error: /^http:\/\/127\.0\.0\.1:3: boom/ });
});

/** A database file of `pages` pages as SQLite writes it (valid in-header count). */
function dbBytes(pages: number, stale = false): Uint8Array {
  const b = Buffer.alloc(pages * 4096);
  b.write('SQLite format 3\0', 0, 'latin1');
  b.writeUInt16BE(4096, 16);
  b.writeUInt32BE(3, 24);
  b.writeUInt32BE(stale ? 1 : pages, 28);
  b.writeUInt32BE(stale ? 2 : 3, 92);
  return b;
}

/** A peer supervisor's health API answering `body` at GET /status. */
async function statusServer(t: Test, body: () => unknown): Promise<number> {
  const server = createServer((req, res) => {
    if (req.url !== '/status') {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

t.test('askPeers: evidence from LiteFS alone reads pages from the /export header', async (t) => {
  const [holder, empty, none, stale] = await fakes(t, {}, {}, {}, {});
  if (!holder || !empty || !none || !stale) throw new Error('fakes');
  holder.writeDb('sqlite.db', { bytes: dbBytes(9) }); // every row, TXID 0: history lost
  empty.writeDb('sqlite.db', { sqlite: true }); // LiteFS created it: 1 page
  stale.writeDb('sqlite.db', { bytes: dbBytes(5, true) }); // in-header count not valid
  const report = await askPeers({
    spec: parsePeersOption([holder, empty, none, stale].map((f) => f.url).join(',')),
    port: 20202,
    selfNodeId: undefined,
    dbs: ['sqlite.db'],
    healthPort: undefined,
    timeoutMs: 2000,
    now: () => NOW,
  });
  t.match(ok(byUrl(report.answers, holder.url)), {
    evidence: 'litefs',
    dbs: { 'sqlite.db': { txid: 0n, pageCount: 9, hasData: true } },
  });
  t.match(ok(byUrl(report.answers, empty.url)).dbs['sqlite.db'], {
    txid: 0n,
    pageCount: 1,
    hasData: false,
  });
  t.same(ok(byUrl(report.answers, none.url)).dbs, {}, 'no such db: no copy at all');
  t.match(
    ok(byUrl(report.answers, stale.url)).dbs['sqlite.db'],
    { pageCount: 2, hasData: true },
    'a stale in-header count: more than one page of bytes is at least 2 pages',
  );
});

t.test('askPeers: evidence from the peer supervisor, when it speaks for that node', async (t) => {
  const [a, b] = await fakes(t, {}, {});
  if (!a || !b) throw new Error('fakes');
  a.writeDb('sqlite.db', { sqlite: true });
  b.writeDb('sqlite.db', { sqlite: true });
  const evidence = (nodeId: string) => ({
    evidence: 1,
    nodeId,
    clusterId: CLUSTER,
    dbs: [{ name: 'sqlite.db', txid: null, pageCount: 1, hasData: false, hwm: '0000000000000002' }],
  });
  const aPort = await statusServer(t, () => evidence(a.nodeId));
  // b's supervisor still shows the node ID of b's previous LiteFS process: stale.
  const bPort = await statusServer(t, () => evidence('00000000000000FF'));
  const report = await askPeers({
    spec: parsePeersOption(`${a.url}#health=${aPort},${b.url}#health=${bPort}`),
    port: 20202,
    selfNodeId: undefined,
    dbs: ['sqlite.db'],
    healthPort: undefined,
    timeoutMs: 2000,
    now: () => NOW,
  });
  t.match(
    ok(byUrl(report.answers, a.url)),
    {
      evidence: 'supervisor',
      dbs: { 'sqlite.db': { txid: 0n, pageCount: 1, hwm: 2n, hasData: false } },
    },
    'one page at TXID 0: no data, whatever its high-water mark (S4 never hands to it)',
  );
  t.match(
    ok(byUrl(report.answers, b.url)),
    { evidence: 'litefs', dbs: { 'sqlite.db': { pageCount: 1, hasData: false, hwm: undefined } } },
    'a supervisor showing another node ID is stale: LiteFS alone',
  );
  t.equal(b.requestsTo('/export').length, 1, 'LiteFS asked for the header instead');
  t.equal(a.requestsTo('/export').length, 0, 'not asked when the supervisor answered');
});

t.test('askPeers: a peer whose /export fails or hangs is not answered, never empty', async (t) => {
  const [fails, hangs] = await fakes(t, {}, {});
  if (!fails || !hangs) throw new Error('fakes');
  fails.writeDb('sqlite.db', { bytes: dbBytes(3) });
  hangs.writeDb('sqlite.db', { bytes: dbBytes(3) });
  fails.failRoute('/export', { status: 500, body: 'write snapshot: disk I/O error' });
  hangs.failRoute('/export', { hang: true });
  const report = await askPeers({
    spec: parsePeersOption(`${fails.url},${hangs.url}`),
    port: 20202,
    selfNodeId: undefined,
    dbs: ['sqlite.db'],
    healthPort: undefined,
    timeoutMs: 500,
    now: () => NOW,
  });
  t.match(byUrl(report.answers, fails.url), { ok: false, error: /\/export.*HTTP 500/ });
  t.match(byUrl(report.answers, hangs.url), { ok: false, error: /no answer within 500 ms/ });
  t.equal(unansweredPeers(report).length, 2);
});
