// The control socket (docs/design.md section 14, "the control channel"): root-only (0600), one
// request per connection, progress then one result, a closed connection reported as gone; a stale
// socket replaced, a live one or another kind of file left alone. And the `compact` command
// against it (the built CLI): no supervisor is exit 14, a result's code is the exit code.

import { statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { listenControl } from '../../src/cli/control.js';
import type { CompactRequest } from '../../src/core/compact.js';
import { runCli } from '../helpers/cli.js';
import { tmpDir } from '../helpers/wait.js';

function logger() {
  const lines: Record<string, unknown>[] = [];
  return {
    lines,
    log: (_l: string, f: Record<string, unknown>, msg: string) => lines.push({ ...f, msg }),
  };
}

function talk(path: string, line: string): Promise<{ lines: unknown[]; close: () => void }> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    const lines: unknown[] = [];
    let buf = '';
    s.setEncoding('utf8');
    s.on('error', reject);
    s.on('connect', () => {
      s.write(line);
      resolve({ lines, close: () => s.destroy() });
    });
    s.on('data', (c: string) => {
      buf += c;
      for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
        lines.push(JSON.parse(buf.slice(0, nl)));
        buf = buf.slice(nl + 1);
      }
    });
  });
}

const until = async (f: () => boolean) => {
  for (let i = 0; i < 200 && !f(); i++) await new Promise((r) => setTimeout(r, 10));
};

t.test('requests, replies, a closed connection, permissions', async (t) => {
  const dir = tmpDir(t);
  const path = join(dir, 'c.sock');
  const requests: CompactRequest[] = [];
  const gone: number[] = [];
  const log = logger();
  const server = await listenControl(
    path,
    { request: (r) => requests.push(r), gone: (id) => gone.push(id) },
    log,
  );
  t.ok(server);
  t.teardown(() => server?.close());
  t.equal(statSync(path).mode & 0o777, 0o600, 'root-only: mode 0600');

  const a = await talk(path, '{"op":"compact","db":"app.db","dryRun":true}\n');
  await until(() => requests.length === 1);
  t.match(requests[0], { db: 'app.db', dryRun: true, noBackup: false, backupDir: undefined });
  const id = requests[0]!.id;
  server?.reply(id, { kind: 'progress', event: 'compact.begin', msg: 'measuring', fields: {} });
  server?.reply(id, { kind: 'result', code: 0, outcome: 'dry-run', msg: 'done', fields: {} });
  await until(() => a.lines.length === 2);
  t.match(a.lines, [{ kind: 'progress' }, { kind: 'result', code: 0 }]);
  t.same(gone, [], 'a connection that got its result is not "gone"');

  const b = await talk(path, '{"op":"compact","db":"app.db"}\n');
  await until(() => requests.length === 2);
  b.close();
  await until(() => gone.length === 1);
  t.same(gone, [requests[1]!.id], 'closed before its result: gone (the compaction aborts)');

  const bad = await talk(path, '{"op":"drop-tables"}\n');
  await until(() => bad.lines.length === 1);
  t.match(bad.lines, [{ kind: 'result', code: 2, msg: /bad request/ }]);
  t.equal(requests.length, 2, 'nothing else is accepted');
});

t.test('a stale socket is replaced; a live one and other files are left alone', async (t) => {
  const dir = tmpDir(t);
  const path = join(dir, 'c.sock');
  const handlers = { request: () => {}, gone: () => {} };
  const first = await listenControl(path, handlers, logger());
  t.ok(first);
  const log = logger();
  t.equal(await listenControl(path, handlers, log), undefined, 'another supervisor answers there');
  t.match(log.lines, [{ event: 'control.fail', msg: /another supervisor answers/ }]);
  await first?.close();

  const file = join(dir, 'plain');
  writeFileSync(file, 'x');
  const log2 = logger();
  t.equal(await listenControl(file, handlers, log2), undefined);
  t.match(log2.lines, [{ event: 'control.fail', msg: /not a socket/ }]);

  const long = join(dir, 'x'.repeat(120), 'c.sock');
  const log3 = logger();
  t.equal(await listenControl(long, handlers, log3), undefined);
  t.match(log3.lines, [{ event: 'control.fail', msg: /too long for a Unix socket/ }]);
});

t.test('compact: no supervisor is exit 14; a result is its exit code', async (t) => {
  const dir = tmpDir(t);
  const run = (extra: string[] = []) =>
    runCli([
      'compact',
      '--litefs-config',
      'none',
      '--db',
      'app.db',
      '--state-file',
      join(dir, 's.json'),
      ...extra,
    ]);
  const none = await run();
  t.equal(none.code, 14, none.stderr);
  t.match(
    none.stderr,
    /cannot reach the supervisor at .*litefs-supervisor\.sock: no supervisor answers/,
  );

  const server = await listenControl(
    join(dir, 'litefs-supervisor.sock'),
    {
      request: (r) =>
        server?.reply(r.id, {
          kind: 'result',
          code: 12,
          outcome: 'refused',
          msg: 'refused: not enough room',
          fields: { room: ['this volume: needs 10 bytes, has 5 free'] },
        }),
      gone: () => {},
    },
    logger(),
  );
  t.teardown(() => server?.close());
  const refused = await run(['--dry-run']);
  t.equal(refused.code, 12);
  t.match(refused.stdout, /refused: not enough room\n {2}this volume: needs 10 bytes, has 5 free/);
});
