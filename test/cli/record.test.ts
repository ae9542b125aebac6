// `litefs-supervisor record` and `record reset --yes` (src/cli/record.ts) against the Consul
// stand-in the real-LiteFS suite uses: what it shows, that a reset needs --yes, deletes with
// check-and-set and prints what it deleted, and that the URL's token is never printed.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { runRecord } from '../../src/cli/record.js';
import { loadConfig, nodeReadFile } from '../../src/config/load.js';
import { findConsulStandin, startConsul } from '../../testkit/real-litefs.js';

const TOKEN = 'tok-3f9a1c55-never-shown';

/** The configuration `litefs-supervisor record --litefs-config FILE --db app.db` loads. */
function loadRecordConfig(litefsConfig: string, cwd: string) {
  return loadConfig({
    mode: 'record',
    options: { 'litefs-config': litefsConfig, db: ['app.db'] },
    command: [],
    env: {},
    cwd,
    home: undefined,
    readFile: nodeReadFile,
  });
}

if (!findConsulStandin()) {
  t.plan(0, 'no Consul stand-in (../shared/litefs/consul-standin.mjs or CONSUL_STANDIN)');
} else {
  t.test('record shows, refuses a reset without --yes, resets with it', async (t) => {
    const consul = await startConsul(t);
    const dir = mkdtempSync(join(tmpdir(), 'record-cli-'));
    const yml = join(dir, 'litefs.yml');
    const url = new URL(consul.url);
    writeFileSync(
      yml,
      `lease:\n  type: consul\n  consul:\n    url: "http://:${TOKEN}@${url.host}/app-prefix/"\n    key: "litefs/app"\n`,
    );
    const loaded = loadRecordConfig(yml, dir);
    t.ok(loaded.ok);
    if (!loaded.ok) return;
    t.equal(
      loaded.config.clusterRecord,
      'litefs-supervisor/litefs/app',
      'keyed by the lease key off Fly',
    );
    const run = async (opts: Parameters<typeof runRecord>[1]) => {
      let out = '';
      let err = '';
      const code = await runRecord(
        loaded.config,
        opts,
        (s) => (out += s),
        (s) => (err += s),
      );
      t.notMatch(out + err, TOKEN, 'the token is never printed');
      return { code, out, err };
    };
    const key = 'app-prefix/litefs-supervisor/litefs/app';
    let r = await run({ json: false, reset: undefined });
    t.equal(r.code, 0);
    t.match(r.out, `cluster record ${key} in Consul at http://${url.host}: absent`);

    const value = JSON.stringify({
      version: 1,
      clusterId: 'LFSC0000000000000001',
      dbs: { 'app.db': { since: '2026-12-07T00:00:00.000Z', node: 'node-a' } },
    });
    const put = await fetch(`${consul.url}/v1/kv/${key}?cas=0`, { method: 'PUT', body: value });
    t.equal(await put.text(), 'true');
    r = await run({ json: true, reset: undefined });
    t.equal(r.code, 0);
    t.match(JSON.parse(r.out), {
      key,
      state: 'present',
      record: { dbs: { 'app.db': { node: 'node-a' } } },
    });

    r = await run({ json: false, reset: { yes: false } });
    t.equal(r.code, 2, 'no reset without --yes');
    t.match(r.err, /refusing without --yes/);
    t.equal((await fetch(`${consul.url}/v1/kv/${key}`)).status, 200, 'still there');

    r = await run({ json: false, reset: { yes: true } });
    t.equal(r.code, 0);
    t.match(r.out, /deleted the cluster record/);
    t.match(r.out, value, 'prints what it deleted');
    t.equal((await fetch(`${consul.url}/v1/kv/${key}`)).status, 404, 'gone');

    r = await run({ json: false, reset: { yes: true } });
    t.equal(r.code, 0);
    t.match(r.out, /absent; nothing to reset/);

    await fetch(`${consul.url}/_fake/fail-kv/start?prefix=app-prefix/litefs-supervisor`, {
      method: 'POST',
    });
    r = await run({ json: false, reset: undefined });
    t.equal(r.code, 1, 'Consul failing: exit 1');
    t.match(r.out, /unreadable: .*HTTP 500/);
  });

  t.test('record is off without a Consul lease: exit 2 with the reason', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'record-cli-'));
    const loaded = loadRecordConfig('none', dir);
    t.ok(loaded.ok);
    if (!loaded.ok) return;
    let err = '';
    const code = await runRecord(
      loaded.config,
      { json: false, reset: undefined },
      () => {},
      (s) => (err += s),
    );
    t.equal(code, 2);
    t.match(err, /the cluster record is off here/);
  });
}
