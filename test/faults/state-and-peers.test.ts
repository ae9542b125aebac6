// Faults around the guards' inputs: a corrupt or unwritable state file (S10) and
// peers answering garbage (S2/S3/S4/S11). The supervisor never crashes on them: a damaged
// file is kept aside and read as "no high-water mark"; a garbage peer is a peer that did not
// answer, which lets a primary with data carry on and keeps an empty one from bootstrapping.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import {
  appReady,
  appStarts,
  assertLive,
  eventCount,
  fakePeer,
  lines,
  liveProbe,
  nodeRun,
  type PeerBehaviour,
  readyPid,
  reportProbes,
  status,
  stopWith,
  waitState,
} from './helpers.js';

reportProbes(t);

t.test('a corrupt state file is kept aside and read as no high-water mark', async (t) => {
  const variants = [
    ['garbage bytes', Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x22])],
    ['truncated JSON', Buffer.from('{"version":1,"clusterId":"LFSC00000000000000AA","dbs":{"sq')],
    [
      'a TXID as a number',
      Buffer.from('{"version":1,"clusterId":"","dbs":{"sqlite.db":{"txid":5}}}'),
    ],
  ] as const;
  for (const [name, bytes] of variants) {
    await t.test(name, async (t) => {
      const run = await nodeRun(t, { role: 'primary' });
      writeFileSync(run.stateFile, bytes);
      const cli = run.start();
      const url = await cli.healthUrl();
      const probe = liveProbe(url, `state file: ${name}`);
      const corrupt = await cli.waitEvent('hwm.corrupt');
      t.equal(corrupt.movedTo, `${run.stateFile}.corrupt`);
      const pid = await appReady(cli, run.readyFile);
      await waitState(url, 'running');
      assertLive(t, await probe.stop(), `state file: ${name}`);
      t.same(readFileSync(`${run.stateFile}.corrupt`), bytes, 'the damaged file is kept as is');
      t.equal(cli.child.exitCode, null, 'alive');
      t.equal(lines(run.migrateLog).length, 1, 'one migration');
      t.equal(appStarts(cli), 1, 'one app start');
      t.equal(readyPid(run.readyFile), pid);
      t.equal(await stopWith(cli, 'SIGTERM'), 'SIGTERM');
      t.match(
        JSON.parse(readFileSync(run.stateFile, 'utf8')),
        { version: 1, dbs: { 'sqlite.db': { txid: '0000000000000005' } } },
        'a good state file was written in its place',
      );
    });
  }
});

t.test('an unreadable and unwritable state file never stops the supervisor', async (t) => {
  const variants = [
    // A regular file where its directory should be: ENOTDIR on read, mkdir and open.
    [
      'its directory is a file',
      (dir: string) => {
        writeFileSync(join(dir, 'blocker'), 'x');
        return join(dir, 'blocker', 'state.json');
      },
    ],
    // EISDIR on read; the atomic rename over a non-empty directory fails.
    [
      'it is a directory',
      (dir: string) => {
        const path = join(dir, 'state-dir.json');
        mkdirSync(join(path, 'inside'), { recursive: true });
        return path;
      },
    ],
  ] as const;
  for (const [name, make] of variants) {
    await t.test(name, async (t) => {
      const run = await nodeRun(t, { role: 'primary', stateFile: make });
      const cli = run.start();
      const url = await cli.healthUrl();
      const probe = liveProbe(url, `state file: ${name}`);
      await cli.waitEvent('hwm.unreadable');
      await cli.waitEvent('hwm.write-fail');
      const pid = await appReady(cli, run.readyFile);
      await waitState(url, 'running');
      assertLive(t, await probe.stop(), `state file: ${name}`);
      t.equal(cli.child.exitCode, null, 'alive');
      t.equal(lines(run.migrateLog).length, 1, 'one migration');
      t.equal(appStarts(cli), 1, 'one app start');
      t.equal(readyPid(run.readyFile), pid);
      t.equal(await stopWith(cli, 'SIGTERM'), 'SIGTERM', 'ended by the signal, not 70');
      t.equal(eventCount(cli, 'supervisor.crash'), 0, 'no internal error');
    });
  }
});

/** Peers that answer, but nothing a LiteFS node would say. */
const GARBAGE: [string, PeerBehaviour][] = [
  ['html', (_q, s) => s.writeHead(200, { 'content-type': 'text/html' }).end('<html>hi</html>')],
  ['truncated JSON', (_q, s) => s.end('{"clusterID": "LFSC')],
  [
    'wrong shape, bad Litefs-Id',
    (_q, s) => s.writeHead(200, { 'litefs-id': 'not-hex' }).end('{"isPrimary":"yes","store":[]}'),
  ],
  ['connection reset', (q) => q.socket.destroy()],
  ['no answer', () => {}],
  ['1 MiB of zeros', (_q, s) => s.end(Buffer.alloc(1 << 20))],
];

async function garbagePeers(t: Test): Promise<string> {
  const urls = await Promise.all(GARBAGE.map(([, b]) => fakePeer(t, b)));
  return urls.join(',');
}

t.test('peers answering garbage', async (t) => {
  await t.test('a primary with data: none counts as ahead; migrates once, runs', async (t) => {
    const run = await nodeRun(t, { role: 'primary' });
    const cli = run.start(['--peers', await garbagePeers(t)]);
    const url = await cli.healthUrl();
    const probe = liveProbe(url, 'garbage peers, primary');
    const report = await cli.waitEvent('peers.report');
    t.match(report.msg, `0 peer(s) answered, ${GARBAGE.length} did not`);
    const pid = await appReady(cli, run.readyFile);
    await waitState(url, 'running');
    assertLive(t, await probe.stop(), 'garbage peers, primary');
    t.equal(cli.child.exitCode, null, 'alive');
    t.equal(lines(run.migrateLog).length, 1, 'one migration');
    t.equal(appStarts(cli), 1);
    t.equal(readyPid(run.readyFile), pid);
    t.equal(await stopWith(cli, 'SIGTERM'), 'SIGTERM');
  });

  await t.test(
    'an empty primary: waits --peer-wait, fences, exits 4; nothing written',
    async (t) => {
      const run = await nodeRun(t, { role: 'primary', empty: true });
      const cli = run.start([
        '--peers',
        await garbagePeers(t),
        '--peer-wait',
        '1s',
        '--fence-timeout',
        '2s',
      ]);
      const url = await cli.healthUrl();
      const probe = liveProbe(url, 'garbage peers, empty primary');
      // The silent peer takes the whole per-peer timeout (2 s), longer than --peer-wait.
      const fence = await cli.waitEvent('fence.enter', undefined, 15_000);
      t.match(fence.msg, /not every peer answered within --peer-wait/);
      t.equal((await status(url)).state, 'fenced');
      assertLive(t, await probe.stop(), 'garbage peers, empty primary');
      const code = (await cli.exited).code;
      t.equal(code, 4, 'fenced and nobody to hand off to');
      t.same(lines(run.migrateLog), [], 'no migration');
      t.equal(appStarts(cli), 0, 'no app');
      t.notOk(existsSync(run.readyFile));
      t.same(
        run.fake.requests.filter((r) => r.method !== 'GET'),
        [],
        'no handoff asked for: no peer could take the lease',
      );
    },
  );

  await t.test('a replica seeing a new primary: the rewind check shrugs them off', async (t) => {
    const run = await nodeRun(t, { role: 'replica' });
    const cli = run.start(['--peers', await garbagePeers(t)]);
    const pid = await appReady(cli, run.readyFile);
    const url = await cli.healthUrl();
    const probe = liveProbe(url, 'garbage peers, replica');
    const reports = eventCount(cli, 'peers.report');
    run.fake.becomeReplica('node-b'); // S11: a new primary; the peers are asked
    run.fake.setLag(0);
    await cli.waitEvent('peers.report', () => eventCount(cli, 'peers.report') > reports, 10_000);
    await waitState(url, 'running');
    assertLive(t, await probe.stop(), 'garbage peers, replica');
    t.equal(eventCount(cli, 'rewind.alarm'), 0, 'no alarm from garbage');
    t.equal(cli.child.exitCode, null, 'alive');
    t.same(lines(run.migrateLog), []);
    t.equal(appStarts(cli), 1);
    t.equal(readyPid(run.readyFile), pid);
    t.equal(await stopWith(cli, 'SIGINT'), 'SIGINT');
  });
});
