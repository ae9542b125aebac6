// The health API over fixed states, through fastify's inject (no sockets): the 200/503
// table of docs/design.md section 7, HEAD, 405, 404, and that no route changes state.

import t from 'tap';
import type { SupervisorState } from '../../src/core/state.js';
import { buildHealthServer } from '../../src/http/server.js';
import { Sim, testConfig } from '../helpers/builders.js';

function running(role: 'primary' | 'replica', lag = 5): SupervisorState {
  const sim = new Sim(testConfig({ migrate: [] }));
  sim.see(role === 'primary' ? { role: 'primary' } : { role: 'replica', lag });
  sim.feed({ type: 'app-started', pid: 1 });
  return sim.state;
}

function server(state: SupervisorState) {
  return buildHealthServer({
    config: testConfig(),
    version: '9.9.9',
    getState: () => state,
    now: () => state.since + 1000,
  });
}

t.test('the 200/503 table', async (t) => {
  const syncing = new Sim(testConfig());
  syncing.see({ role: 'replica', lag: 'unsynced' });
  const lagging = running('replica');
  lagging.observation = {
    ...lagging.observation!,
    lag: { kind: 'present', value: { kind: 'ms', ms: 60_000 } },
  };
  const rows: [string, SupervisorState, Record<string, number>][] = [
    ['running primary', running('primary'), { '/health': 200, '/primary': 200, '/replica': 503 }],
    [
      'running replica',
      running('replica'),
      { '/health': 200, '/primary': 503, '/replica': 200, '/replica?max_lag=1ms': 503 },
    ],
    ['lagging replica', lagging, { '/health': 503, '/replica': 503, '/replica?max_lag=2m': 200 }],
    ['syncing', syncing.state, { '/health': 503, '/primary': 503, '/replica': 503 }],
  ];
  for (const [name, state, expected] of rows) {
    const app = server(state);
    for (const [path, code] of Object.entries(expected)) {
      const res = await app.inject({ method: 'GET', url: path });
      t.equal(res.statusCode, code, `${name} ${path}`);
      t.equal(res.headers['content-type']?.toString().split(';')[0], 'application/json');
      if (code === 503) t.ok(res.headers['retry-after'], 'Retry-After on 503');
    }
    t.equal((await app.inject({ url: '/health/live' })).statusCode, 200, `${name} live`);
    t.equal((await app.inject({ url: '/status' })).statusCode, 200);
    await app.close();
  }
});

t.test('/status carries the snapshot of docs/design.md section 7', async (t) => {
  const app = server(running('replica'));
  const body = (await app.inject({ url: '/status' })).json();
  for (const key of [
    'version',
    'state',
    'since',
    'reason',
    'role',
    'candidate',
    'primaryHostname',
    'clusterId',
    'nodeId',
    'lagMs',
    'dbs',
    'migrations',
    'app',
    'fence',
    'clusterRecord',
    'disk',
    'transitions',
  ]) {
    t.ok(key in body, key);
  }
  t.match(body, {
    version: '9.9.9',
    state: 'running',
    role: 'replica',
    lagMs: 5,
    primaryHostname: 'node-a',
    dbs: [{ name: 'sqlite.db', txid: '0000000000000005', empty: false }],
  });
  await app.close();
});

t.test('HEAD, 405, 404, bad query; nothing changes state', async (t) => {
  const state = running('primary');
  const before = JSON.stringify(state, (_k, v) => (typeof v === 'bigint' ? String(v) : v));
  const app = server(state);
  t.equal((await app.inject({ method: 'HEAD', url: '/health' })).statusCode, 200);
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH'] as const) {
    const res = await app.inject({ method, url: '/health', payload: 'x' });
    t.equal(res.statusCode, 405, method);
    t.match(res.json(), { ok: false });
    t.equal(res.headers.allow, 'GET, HEAD');
  }
  const missing = await app.inject({ url: '/admin/promote' });
  t.equal(missing.statusCode, 404);
  t.match(missing.json(), { ok: false });
  t.equal((await app.inject({ url: '/replica?max_lag=soon' })).statusCode, 400);
  t.equal(
    JSON.stringify(state, (_k, v) => (typeof v === 'bigint' ? String(v) : v)),
    before,
  );
  await app.close();
});

t.test('/metrics is Prometheus text', async (t) => {
  const app = server(running('primary'));
  const res = await app.inject({ url: '/metrics' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /text\/plain/);
  t.match(res.body, /litefs_supervisor_role\{role="primary"\} 1/);
  t.match(res.body, /litefs_supervisor_db_txid\{db="sqlite.db"\} 5/);
  await app.close();
});

t.test('the routes that report lag answer from a fresh observation when idle', async (t) => {
  // Idle polling: the supervisor's fresh() brings a new observation; the route answers from it.
  let state = running('replica', 5);
  const asked: string[] = [];
  const app = buildHealthServer({
    config: testConfig(),
    version: '9.9.9',
    getState: () => state,
    now: () => state.since + 1000,
    fresh: async () => {
      asked.push('fresh');
      await new Promise((r) => setTimeout(r, 5));
      state = {
        ...state,
        observation: {
          ...state.observation!,
          lag: { kind: 'present', value: { kind: 'ms', ms: 60_000 } },
        },
      };
    },
  });
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 503, 'the new lag');
  for (const url of ['/replica', '/status', '/metrics']) {
    asked.length = 0;
    await app.inject({ method: 'GET', url });
    t.same(asked, ['fresh'], `${url} asks`);
  }
  for (const url of ['/health/live', '/primary']) {
    asked.length = 0;
    await app.inject({ method: 'GET', url });
    t.same(asked, [], `${url} does not wait`);
  }
  await app.close();
});
