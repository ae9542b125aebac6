// `litefs-supervisor before-mount` end to end (docs/design.md section 1, "Before the mount"): the
// built CLI against the fake Consul (testkit/fake-consul.ts), which keeps the lease key as LiteFS
// 0.5.11 does (held by a session; released with no session; deleted by an expired session while
// `<key>/clusterid` stays). It goes at once when a session holds the lease, on a new cluster and
// when Consul fails; it waits while the lease is free and returns as soon as a session takes it,
// or at its bound; a stop signal during the wait exits 130/143; bad options exit 2. The Consul
// token in the URL never shows in what it prints.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { FakeConsul } from '../../testkit/fake-consul.js';
import { freePort } from '../../testkit/wait.js';
import { type LogRecord, runCli, startCli } from '../helpers/cli.js';
import { tmpDir } from '../helpers/wait.js';

const TOKEN = 'tok-3f9a1c-secret';
const LEASE = 'app-lease';

async function consul(t: Test): Promise<FakeConsul> {
  const c = await FakeConsul.start({ prefix: 'litefs/prod', token: TOKEN });
  t.teardown(() => c.close());
  return c;
}

/** A litefs.yml with a Consul lease; `lease`/`consul` lines replace the defaults given here. */
function litefsYml(t: Test, url: string, o: { lease?: string[]; consul?: string[] } = {}): string {
  const path = join(tmpDir(t), 'litefs.yml');
  const text = [
    'lease:',
    '  type: consul',
    ...(o.lease ?? ['  candidate: true', '  reconnect-delay: 100ms']),
    '  consul:',
    `    url: "${url}"`,
    `    key: ${LEASE}`,
    ...(o.consul ?? []),
  ].join('\n');
  writeFileSync(path, `${text}\n`);
  return path;
}

async function gate(t: Test, path: string, extra: string[] = []) {
  const cli = startCli(t, ['before-mount', '--litefs-config', path, ...extra]);
  return cli;
}

function noToken(t: Test, text: string): void {
  t.notOk(text.includes(TOKEN), 'the Consul token never shows');
}

const info = (hostname: string) => ({
  hostname,
  advertiseUrl: `http://${hostname}:20202`,
});

t.test(
  'a session holds the lease: exit 0 at once, as a replica; the token is sent, not shown',
  async (t) => {
    const c = await consul(t);
    c.setLease(c.keyOf(LEASE), info('node-a'));
    const cli = await gate(t, litefsYml(t, c.url));
    const end = await cli.exited;
    t.equal(end.code, 0);
    const held = cli.records.find((r) => r.event === 'before-mount.held');
    t.equal(held?.holder, 'node-a');
    t.equal(held?.key, c.keyOf(LEASE));
    t.notOk(cli.events().includes('before-mount.wait'), 'no wait');
    const gets = c.requestsFor(c.keyOf(LEASE));
    t.equal(gets.length, 1, 'one read of the lease');
    t.equal(gets[0]?.tokenHeader, TOKEN, 'the token goes in the header');
    noToken(t, cli.stderr() + cli.stdout());
  },
);

t.test('no lease and no cluster ID: a new cluster, exit 0 at once', async (t) => {
  const c = await consul(t);
  const cli = await gate(t, litefsYml(t, c.url));
  t.equal((await cli.exited).code, 0);
  t.ok(cli.events().includes('before-mount.new'));
  t.notOk(cli.events().includes('before-mount.wait'));
  t.equal(c.requestsFor(c.keyOf(`${LEASE}/clusterid`)).length, 1, 'the cluster ID was asked');
});

t.test('a released lease: waits, and returns as soon as a running node takes it', async (t) => {
  const c = await consul(t);
  const key = c.keyOf(LEASE);
  c.setLease(key, info('node-a'));
  c.put(c.keyOf(`${LEASE}/clusterid`), 'LFSC0123456789ABCDEF');
  c.releaseLease(key);
  // reconnect-delay 10s: a bound of 20.5 s, far beyond the take below.
  const cli = await gate(t, litefsYml(t, c.url, { lease: ['  reconnect-delay: 10s'] }));
  const wait = await cli.waitEvent('before-mount.wait');
  t.equal(wait.reason, 'released');
  t.equal(wait.boundMs, '20500');
  c.setLease(key, info('node-b'));
  t.equal((await cli.exited).code, 0);
  const taken = cli.records.find((r) => r.event === 'before-mount.taken');
  t.equal(taken?.holder, 'node-b');
  t.notOk(cli.events().includes('before-mount.free'), 'not waited out');
  noToken(t, cli.stderr());
});

t.test('a released lease nobody takes: polled until the bound, then exit 0', async (t) => {
  const c = await consul(t);
  const key = c.keyOf(LEASE);
  c.setLease(key, info('node-a'));
  c.releaseLease(key);
  const cli = await gate(t, litefsYml(t, c.url));
  t.equal((await cli.exited).code, 0);
  const wait = cli.records.find((r) => r.event === 'before-mount.wait');
  t.equal(wait?.boundMs, '700', '2 x 100ms + 500ms');
  const free = cli.records.find((r) => r.event === 'before-mount.free');
  t.match(free?.msg, /no running node took the free lease in 700 ms: this node may take it/);
  t.ok(c.requestsFor(key).length > 1, 'the key was read again while waiting');
});

t.test(
  'an expired lease: the bound adds TTL/2 and lock-delay from litefs.yml; --max-wait caps it',
  async (t) => {
    const c = await consul(t);
    const key = c.keyOf(LEASE);
    c.setLease(key, info('node-a'));
    c.put(c.keyOf(`${LEASE}/clusterid`), 'LFSC0123456789ABCDEF');
    c.expireLease(key);
    const path = litefsYml(t, c.url, {
      lease: ['  reconnect-delay: 200ms'],
      consul: ['    ttl: 4s', '    lock-delay: 1500ms'],
    });
    const cli = await gate(t, path, ['--max-wait', '300ms']);
    t.equal((await cli.exited).code, 0);
    const wait = cli.records.find((r) => r.event === 'before-mount.wait') as LogRecord;
    t.equal(wait.reason, 'expired');
    t.equal(wait.computedMs, String(2000 + 1500 + 400 + 500));
    t.equal(wait.boundMs, '300');
    t.ok(cli.events().includes('before-mount.free'));

    // LiteFS's defaults where litefs.yml says nothing: TTL 10s, lock-delay 1s, reconnect-delay 1s.
    const defaults = await gate(t, litefsYml(t, c.url, { lease: [] }), ['--max-wait', '0']);
    t.equal((await defaults.exited).code, 0);
    const w = defaults.records.find((r) => r.event === 'before-mount.wait') as LogRecord;
    t.equal(w.computedMs, String(5000 + 1000 + 2000 + 500));
    t.equal(w.boundMs, '0');
    t.match(w.msg, /--max-wait 0: not waiting/);
    t.notOk(defaults.events().includes('before-mount.free'));
  },
);

t.test('Consul unreachable or failing: a warning and exit 0; the token never shows', async (t) => {
  const port = await freePort();
  const down = await gate(t, litefsYml(t, `http://:${TOKEN}@127.0.0.1:${port}/litefs`));
  t.equal((await down.exited).code, 0);
  const fail = down.records.find((r) => r.event === 'before-mount.consul-fail');
  t.match(fail?.level, /^warn$/i);
  noToken(t, down.stderr());

  const c = await consul(t);
  c.failKv('litefs/');
  const failing = await gate(t, litefsYml(t, c.url));
  t.equal((await failing.exited).code, 0);
  t.match(failing.records.find((r) => r.event === 'before-mount.consul-fail')?.error, /HTTP 500/);
  noToken(t, failing.stderr());
});

t.test('nothing to wait for: not a candidate, not a Consul lease, no Consul URL', async (t) => {
  const c = await consul(t);
  c.setLease(c.keyOf(LEASE), info('node-a'));
  c.releaseLease(c.keyOf(LEASE));
  const cases: [string, RegExp][] = [
    [litefsYml(t, c.url, { lease: ['  candidate: false'] }), /lease.candidate false/],
    [litefsYml(t, '', {}), /empty lease.consul.url/],
  ];
  const staticYml = join(tmpDir(t), 'litefs.yml');
  writeFileSync(staticYml, 'lease:\n  type: static\n  candidate: true\n');
  cases.push([staticYml, /lease.type static, not consul/]);
  for (const [path, msg] of cases) {
    const cli = await gate(t, path);
    t.equal((await cli.exited).code, 0);
    const skip = cli.records.find((r) => r.event === 'before-mount.skip');
    t.match(skip?.msg, msg);
  }
  t.equal(c.requestsFor(c.keyOf(LEASE)).length, 0, 'Consul was never asked');
});

for (const [signal, code] of [
  ['SIGTERM', 143],
  ['SIGINT', 130],
] as const) {
  t.test(
    `${signal} during the wait: exit ${code} at once (so LiteFS does not start)`,
    async (t) => {
      const c = await consul(t);
      c.setLease(c.keyOf(LEASE), info('node-a'));
      c.releaseLease(c.keyOf(LEASE));
      const cli = await gate(t, litefsYml(t, c.url, { lease: ['  reconnect-delay: 30s'] }));
      await cli.waitEvent('before-mount.wait');
      cli.child.kill(signal);
      const end = await cli.exited;
      t.equal(end.code, code);
      const r = cli.records.find((x) => x.event === 'before-mount.signal');
      t.equal(r?.signal, signal);
    },
  );
}

t.test('bad options exit 2 naming the option, the value and what is accepted', async (t) => {
  const bad = await runCli(['before-mount', '--litefs-config', 'none', '--max-wait', 'soon']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--max-wait: "soon" is not a duration; use Go-style durations like 500ms/);
  const cmd = await runCli(['before-mount', '--litefs-config', 'none', '--', 'litefs', 'mount']);
  t.equal(cmd.code, 2);
  t.match(cmd.stderr, /--: before-mount takes no command/);
  const elsewhere = await runCli(['doctor', '--max-wait', '1s']);
  t.equal(elsewhere.code, 2);
  t.match(elsewhere.stderr, /--max-wait: is an option of `litefs-supervisor before-mount`/);
  const none = await runCli(['before-mount', '--litefs-config', 'none']);
  t.equal(none.code, 0, '--litefs-config none: nothing to wait for');
  t.match(none.stderr, /event=before-mount.skip/);
});
