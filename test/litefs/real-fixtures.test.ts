// Outputs captured from real LiteFS 0.5.11 (test/fixtures/litefs-0.5.11, written by
// `CAPTURE_FIXTURES=1 npx tap test/real/outputs.test.ts`) keep the parsers and the fake LiteFS
// honest in the fast suite: every fixture parses without an error, and the fake answers the
// same routes with the same shapes (keys, value types, formats, status codes, headers).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  parseDebugVars,
  parseEventLine,
  parseInfo,
  parseLag,
  parsePos,
  parsePrimaryFile,
} from '../../src/core/parse.js';
import { FakeLitefs } from '../../testkit/fake-litefs.js';

const DIR = new URL('../fixtures/litefs-0.5.11/', import.meta.url).pathname;
const text = (name: string) => readFileSync(join(DIR, name), 'utf8');
const json = <T = Record<string, unknown>>(name: string) => JSON.parse(text(name)) as T;
const lines = (name: string) =>
  text(name)
    .split('\n')
    .filter((l) => l !== '');

interface Captured {
  status: number;
  headers: Record<string, string | null>;
  body: unknown;
}

/** The shape of a JSON value: every key path with its type, so values may differ. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? [] : [shape(value[0])];
  if (value === null) return 'null';
  if (typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => [k, shape(v)]),
    );
  }
  return typeof value;
}

t.test('every captured output parses without an error', async (t) => {
  for (const name of ['info-primary.json', 'info-replica.json']) {
    const c = json<Captured>(name);
    const parsed = parseInfo(c.body, {
      litefsId: c.headers['litefs-id'] ?? undefined,
      clusterId: c.headers['litefs-cluster-id'] ?? undefined,
    });
    t.ok(parsed.ok, name, { parsed });
  }
  for (const name of ['events-replica.ndjson', 'events-handoff-old-primary.ndjson']) {
    for (const line of lines(name)) {
      const parsed = parseEventLine(line);
      t.ok(parsed.ok && parsed.value.type !== 'unknown', `${name}: ${line}`);
    }
  }
  for (const name of ['lag-primary.txt', 'lag-replica.txt']) t.ok(parseLag(text(name)).ok, name);
  for (const name of ['pos-primary.txt', 'pos-replica.txt']) t.ok(parsePos(text(name)).ok, name);
  t.same(parsePrimaryFile(text('primary-replica.txt')), { ok: true, value: 'node-a' });
  for (const name of ['debug-vars-primary.json', 'debug-vars-replica.json']) {
    const parsed = parseDebugVars({ store: json(name).store });
    t.ok(parsed.ok, name, { parsed });
  }
  const exp = json<{ header100: string; length: number }>('export-primary.json');
  const header = Buffer.from(exp.header100, 'hex');
  t.equal(header.subarray(0, 16).toString('latin1'), 'SQLite format 3\0');
  t.equal(header.readUInt16BE(16) * header.readUInt32BE(28), exp.length, 'page size x count');
});

t.test('what real LiteFS showed, pinned', async (t) => {
  // The old primary's /events during a /handoff: it names itself as primary for a moment
  // ("existing primary found (node-a) ... cannot connect to self"): role unknown, not replica.
  const ho = lines('events-handoff-old-primary.ndjson').map((l) => JSON.parse(l));
  t.same(ho.slice(0, 3), [
    { type: 'init', data: { isPrimary: true } },
    { type: 'primaryChange', data: { isPrimary: false } },
    { type: 'primaryChange', data: { isPrimary: false, hostname: 'node-a' } },
  ]);
  // /promote on that node in that moment: 500, no primary known.
  t.match(json('promote-on-replica.json'), {
    status: 500,
    body: /no primary is currently available/,
  });
  t.same(json('export-missing.json'), { status: 404, body: 'database not found\n' });
  t.equal(json<{ status: number }>('handoff-response.json').status, 200);
  t.match(text('lag-replica.txt'), /^\+\d{9}\n$/);
  t.equal(text('lag-primary.txt'), '+000000000\n');
  t.match(text('pos-primary.txt'), /^[0-9a-f]{16}\/[0-9a-f]{16}\n$/);
});

t.test('the fake LiteFS answers with the same shapes', async (t) => {
  const primary = await FakeLitefs.start({ role: 'primary', hostname: 'node-a', dbs: ['app.db'] });
  const replica = await FakeLitefs.start({ role: { replicaOf: 'node-a' }, dbs: ['app.db'] });
  t.teardown(async () => {
    await primary.close();
    await replica.close();
  });
  primary.writeDb('app.db', { sqlite: true });

  for (const [name, fake] of [
    ['info-primary.json', primary],
    ['info-replica.json', replica],
  ] as const) {
    const real = json<Captured>(name);
    const res = await fetch(`${fake.url}/info`);
    const body = await res.json();
    t.same(shape(body), shape(real.body), `${name}: same keys and types`);
    t.equal(res.status, real.status, `${name}: status`);
    t.equal(res.headers.get('content-type'), real.headers['content-type'], `${name}: content-type`);
    t.match(res.headers.get('litefs-id'), /^[0-9A-F]{16}$/, `${name}: Litefs-Id`);
    t.equal(res.headers.get('litefs-cluster-id'), (body as { clusterID: string }).clusterID);
  }

  const vars = await (await fetch(`${primary.url}/debug/vars`)).json();
  const realVars = json('debug-vars-primary.json');
  t.same(Object.keys(vars as object).sort(), realVars.keys, '/debug/vars: top-level keys');
  t.same(
    shape((vars as { store: unknown }).store),
    shape(realVars.store),
    '/debug/vars: store shape (dbs, locks)',
  );
  const realLocks = (realVars.store as { dbs: Record<string, { locks: object }> }).dbs['app.db']!;
  const fakeLocks = (vars as { store: { dbs: Record<string, { locks: object }> } }).store.dbs[
    'app.db'
  ]!;
  t.same(fakeLocks.locks, realLocks.locks, '/debug/vars: lock states of an idle db');

  // /events: the same init line on a replica, tx lines of the same shape.
  const ev = await fetch(`${replica.url}/events`);
  const reader = ev.body!.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  await reader.cancel();
  t.equal(
    ev.headers.get('content-type'),
    json<Captured>('events-headers.json').headers['content-type'],
  );
  const realInit = JSON.parse(lines('events-replica.ndjson')[0]!);
  t.same(shape(JSON.parse(first.split('\n')[0]!)), shape(realInit), '/events init shape');

  // Files: the same formats.
  t.match(readFileSync(join(replica.mountDir, '.lag'), 'utf8'), /^\+\d{9}\n$/);
  t.equal(readFileSync(join(primary.mountDir, '.lag'), 'utf8'), text('lag-primary.txt'));
  t.match(
    readFileSync(`${primary.dbPath('app.db')}-pos`, 'utf8'),
    /^[0-9a-f]{16}\/[0-9a-f]{16}\n$/,
  );
  t.equal(readFileSync(join(replica.mountDir, '.primary'), 'utf8'), text('primary-replica.txt'));

  // /export: status, content type; a missing db: 404 with LiteFS's body.
  const exp = await fetch(`${primary.url}/export?name=app.db`);
  const bytes = Buffer.from(await exp.arrayBuffer());
  const realExp = json<{ status: number; headers: Record<string, string> }>('export-primary.json');
  t.equal(exp.status, realExp.status);
  t.equal(exp.headers.get('content-type'), realExp.headers['content-type'], '/export content-type');
  t.equal(bytes.subarray(0, 16).toString('latin1'), 'SQLite format 3\0');
  const missing = await fetch(`${primary.url}/export?name=nope.db`);
  t.same({ status: missing.status, body: await missing.text() }, json('export-missing.json'));
});
