// Every output of real LiteFS 0.5.11 that the supervisor reads (/info, /events,
// .lag, .primary, -pos, /debug/vars, /export) goes through the project's parsers without an
// error. With CAPTURE_FIXTURES=1 the outputs are written to test/fixtures/litefs-0.5.11/, which
// test/litefs/real-fixtures.test.ts (fast, no LiteFS) parses and compares with the fake LiteFS.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
import { waitFor } from '../helpers/wait.js';
import { createCluster, FIXTURES, type LitefsNode, skipUnlessReal } from './harness.js';

const OUT = join(FIXTURES, 'litefs-0.5.11');

async function infoOf(n: LitefsNode) {
  const res = await fetch(`${n.url}/info`);
  return {
    status: res.status,
    headers: {
      'litefs-id': res.headers.get('litefs-id'),
      'litefs-cluster-id': res.headers.get('litefs-cluster-id'),
      'content-type': res.headers.get('content-type'),
    },
    body: (await res.json()) as unknown,
  };
}

/**
 * Reads /events until `until` is true of the lines read so far; fails (naming the lines read)
 * when that takes longer than 15 s. The stream is closed either way.
 */
async function events(
  n: LitefsNode,
  act: () => Promise<void>,
  until: (lines: string[]) => boolean,
) {
  const ctrl = new AbortController();
  const res = await fetch(`${n.url}/events`, { signal: ctrl.signal });
  const headers = {
    'litefs-id': res.headers.get('litefs-id'),
    'content-type': res.headers.get('content-type'),
  };
  const lines: string[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  const reading = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += decoder.decode(value, { stream: true });
        const parts = buf.split('\n');
        buf = parts.pop() ?? '';
        lines.push(...parts.filter((l) => l !== ''));
      }
    } catch {}
  })();
  try {
    await waitFor(() => lines.length > 0, { timeoutMs: 5000, message: `${n.name}: init event` });
    await act();
    await waitFor(() => until(lines), { timeoutMs: 15_000, message: `${n.name}: /events` });
  } catch (err) {
    throw new Error(`${(err as Error).message}; lines read:\n${lines.join('\n')}`);
  } finally {
    ctrl.abort();
    await reading;
  }
  return { status: res.status, headers, lines };
}

function capture(name: string, content: string): void {
  if (!process.env.CAPTURE_FIXTURES) return;
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, name), content);
}

if (!skipUnlessReal(t)) {
  t.setTimeout(90_000);

  t.test('real outputs parse without an error', async (t) => {
    const c = await createCluster(t, ['node-a', 'node-b']);
    const [a, b] = [c.node('node-a'), c.node('node-b')];
    a.configure({ exec: [{ cmd: 'sleep 600' }] });
    b.configure({ exec: [{ cmd: 'sleep 600' }] });
    a.start();
    await a.waitLog(/primary lease acquired/);
    b.start();
    await b.waitLog(/connected to cluster, ready/);

    // Before any database exists: .lag on the replica, /info on both.
    const lagNoDb = readFileSync(join(b.mountDir, '.lag'), 'utf8');
    t.ok(parseLag(lagNoDb).ok, `replica .lag with no db parses (${JSON.stringify(lagNoDb)})`);

    // The replica's /events while the primary writes, then while the lease moves.
    const ev = await events(
      b,
      async () => {
        a.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT)');
        a.exec("INSERT INTO items (v) VALUES ('one'), ('two')");
      },
      (lines) => lines.filter((l) => l.includes('"tx"')).length >= 2,
    );
    capture('events-replica.ndjson', `${ev.lines.join('\n')}\n`);
    capture(
      'events-headers.json',
      `${JSON.stringify({ status: ev.status, headers: ev.headers }, null, 2)}\n`,
    );
    for (const line of ev.lines) t.ok(parseEventLine(line).ok, `event parses: ${line}`);
    t.match(parseEventLine(ev.lines[0]!), { ok: true, value: { type: 'init', isPrimary: false } });
    t.ok(
      ev.lines.some(
        (l) =>
          parseEventLine(l).ok &&
          (parseEventLine(l) as { value: { type: string } }).value.type === 'tx',
      ),
      'tx events seen',
    );
    await waitFor(() => b.rows('items') === 2, { timeoutMs: 10_000, message: 'rows on b' });

    const infoA = await infoOf(a);
    const infoB = await infoOf(b);
    capture('info-primary.json', `${JSON.stringify(infoA, null, 2)}\n`);
    capture('info-replica.json', `${JSON.stringify(infoB, null, 2)}\n`);
    for (const [name, info] of [
      ['primary', infoA],
      ['replica', infoB],
    ] as const) {
      const parsed = parseInfo(info.body, {
        litefsId: info.headers['litefs-id'] ?? undefined,
        clusterId: info.headers['litefs-cluster-id'] ?? undefined,
      });
      t.ok(parsed.ok, `/info of the ${name} parses`, { parsed });
    }

    const files: [string, string, (s: string) => { ok: boolean }][] = [
      ['lag-primary.txt', join(a.mountDir, '.lag'), parseLag],
      ['lag-replica.txt', join(b.mountDir, '.lag'), parseLag],
      ['primary-replica.txt', join(b.mountDir, '.primary'), parsePrimaryFile],
      ['pos-primary.txt', join(a.mountDir, 'app.db-pos'), parsePos],
      ['pos-replica.txt', join(b.mountDir, 'app.db-pos'), parsePos],
    ];
    for (const [name, path, parse] of files) {
      const text = readFileSync(path, 'utf8');
      capture(name, text);
      t.ok(parse(text).ok, `${name} parses (${JSON.stringify(text)})`);
    }
    let primaryOnPrimary = 'present';
    try {
      readFileSync(join(a.mountDir, '.primary'), 'utf8');
    } catch (err) {
      primaryOnPrimary = (err as NodeJS.ErrnoException).code ?? 'error';
    }
    t.equal(primaryOnPrimary, 'ENOENT', '.primary is absent on the primary');

    for (const [name, n] of [
      ['primary', a],
      ['replica', b],
    ] as const) {
      const res = await fetch(`${n.url}/debug/vars`);
      const body = (await res.json()) as Record<string, unknown>;
      t.equal(res.headers.get('litefs-id'), null, `/debug/vars of the ${name} has no Litefs-Id`);
      const parsed = parseDebugVars(body);
      t.ok(parsed.ok, `/debug/vars of the ${name} parses`, { parsed });
      // Only LiteFS's own part: the rest is Go's memstats and cmdline (paths of this run).
      capture(
        `debug-vars-${name}.json`,
        `${JSON.stringify({ keys: Object.keys(body).sort(), store: body.store }, null, 2)}\n`,
      );
    }

    for (const [name, n] of [
      ['primary', a],
      ['replica', b],
    ] as const) {
      const res = await fetch(`${n.url}/export?name=app.db`);
      const bytes = new Uint8Array(await res.arrayBuffer());
      const header = Buffer.from(bytes.subarray(0, 100));
      t.equal(res.status, 200, `/export on the ${name}`);
      t.equal(header.subarray(0, 16).toString('latin1'), 'SQLite format 3\0', 'a SQLite file');
      const pageSize = header.readUInt16BE(16) === 1 ? 65536 : header.readUInt16BE(16);
      const pageCount = header.readUInt32BE(28);
      t.equal(bytes.length, pageSize * pageCount, 'length = page size x page count');
      capture(
        `export-${name}.json`,
        `${JSON.stringify(
          {
            status: res.status,
            headers: {
              'litefs-id': res.headers.get('litefs-id') !== null ? '<16 hex>' : null,
              'content-type': res.headers.get('content-type'),
              'content-length': res.headers.get('content-length'),
            },
            length: bytes.length,
            header100: header.toString('hex'),
          },
          null,
          2,
        )}\n`,
      );
    }
    const missing = await fetch(`${a.url}/export?name=nope.db`);
    t.equal(missing.status, 404, '/export of a missing db: 404');
    capture(
      'export-missing.json',
      `${JSON.stringify({ status: missing.status, body: await missing.text() }, null, 2)}\n`,
    );

    // The lease moves by /handoff: the events the old primary's watchers see.
    const idB = await b.nodeId();
    const ho = await events(
      a,
      async () => {
        const res = await fetch(`${a.url}/handoff?nodeID=${idB}`, { method: 'POST' });
        capture(
          'handoff-response.json',
          `${JSON.stringify({ status: res.status, body: await res.text() }, null, 2)}\n`,
        );
        t.equal(res.status, 200, '/handoff accepted');
      },
      (lines) => lines.some((l) => l.includes('primaryChange') && l.includes('"hostname"')),
    );
    capture('events-handoff-old-primary.ndjson', `${ho.lines.join('\n')}\n`);
    for (const line of ho.lines) t.ok(parseEventLine(line).ok, `event parses: ${line}`);
    await b.waitPrimary(10_000);
    const promoteReplica = await fetch(`${a.url}/promote`, { method: 'POST' });
    capture(
      'promote-on-replica.json',
      `${JSON.stringify({ status: promoteReplica.status, body: await promoteReplica.text() }, null, 2)}\n`,
    );
  });
}
