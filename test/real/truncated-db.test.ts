// A database file truncated to zero bytes with its LTX files kept, on real LiteFS 0.5.11 (the
// nemesis's `truncate-db`, docs/nemesis.md): LiteFS refuses to open its store at every start, so
// no exec command (no supervisor) runs to say why; `doctor` names it (`db.truncated`) with the
// way out, and the way out it names (the db's directory moved aside while another node holds
// the data) brings the node back as a replica with every row, the holder untouched.

import { spawnSync } from 'node:child_process';
import { existsSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { healthyThenStopped, ROWS, readRows } from '../../testkit/real-incident.js';
import { waitFor } from '../helpers/wait.js';
import { CLI, type LitefsNode, skipUnlessReal } from './harness.js';

interface Finding {
  id: string;
  level: string;
  summary: string;
  means: string;
  wayOut?: string;
}

function doctor(n: LitefsNode, peers: string): { status: number | null; findings: Finding[] } {
  const r = spawnSync(
    process.execPath,
    [
      CLI,
      'doctor',
      '--litefs-config',
      n.configPath,
      '--db',
      'app.db',
      '--state-file',
      n.stateFile,
      '--peers',
      peers,
      '--json',
    ],
    { encoding: 'utf8', timeout: 30_000, env: { ...process.env, NODE_OPTIONS: '' } },
  );
  const report = JSON.parse(r.stdout) as { findings: Finding[] };
  return { status: r.status, findings: report.findings };
}

if (!skipUnlessReal(t)) {
  t.setTimeout(240_000);
  t.test('a truncated db: LiteFS refuses, doctor names it, its way out works', async (t) => {
    const c = await healthyThenStopped(t);
    const [a, b] = [c.node('node-a'), c.node('node-b')];
    a.start();
    await a.waitEvent('app.start', 30_000);
    t.equal(readRows(a).count, ROWS, 'node-a, primary, has every row');

    const peers = `${a.url}#health=${a.healthPort},${b.url}#health=${b.healthPort}`;
    const wrong = (r: { findings: Finding[] }) =>
      r.findings.filter((f) => f.level === 'error' || f.level === 'warn').map((f) => f.id);
    // node-b stopped, healthy: its file matches its newest LTX file (LiteFS's checksum, computed
    // by doctor as LiteFS does).
    const healthy = doctor(b, peers);
    t.same(wrong(healthy), [], 'node-b stopped and healthy: nothing wrong (allows)');
    t.equal(healthy.status, 0);

    // Its database file truncated to zero bytes, its LTX files kept.
    const dbDir = join(b.dataDir, 'dbs', 'app.db');
    const file = join(dbDir, 'database');
    const size = statSync(file).size;
    truncateSync(file, 0);
    const nodeA = await a.nodeId();
    const aside = join(b.dataDir, 'app.db.truncated');
    const named = (r: { status: number | null; findings: Finding[] }, what: string) => {
      t.equal(r.status, 1, `${what}: doctor exits 1`);
      t.same(wrong(r), ['db.truncated'], `${what}: doctor names it, and nothing else`);
      const found = r.findings.find((f) => f.id === 'db.truncated');
      t.match(found, { level: 'error', means: /refuses to start/ });
      t.ok(
        found?.wayOut?.includes(`(node ${nodeA}) holds app.db at TXID`),
        `${what}: node-a holds it`,
      );
      t.ok(found?.wayOut?.includes(`\`mv ${dbDir} ${aside}\``), `${what}: the command to run`);
      return found;
    };
    const before = named(doctor(b, peers), 'truncated');
    t.match(before?.summary, /dbs\/app\.db\/database is 0 bytes but its newest LTX file/);

    b.start();
    const exit = await b.exited();
    t.equal(exit.code, 1, "node-b's LiteFS exits 1");
    t.match(
      b.output(),
      /cannot open store: open databases: open database\("app\.db"\): recover ltx: database checksum [0-9a-f]{16} on TXID [0-9a-f]{16} does not match LTX post-apply checksum [0-9a-f]{16}/,
      'LiteFS refuses to open the store',
    );
    t.notMatch(b.output(), /event=supervisor\.start/, 'before any exec command: no supervisor ran');
    t.equal(statSync(file).size, size, 'the failed start left the file at its full size');
    const after = named(doctor(b, peers), 'after the failed start');
    t.match(
      after?.summary,
      /has LiteFS checksum [0-9a-f]{16} but its newest LTX file .* leaves it at checksum/,
    );

    // The way out, as doctor says it: LiteFS stays stopped on node-b, the directory moves.
    const mv = spawnSync('mv', [dbDir, aside]);
    t.equal(mv.status, 0, 'mv');
    b.start();
    await waitFor(() => b.mounted() && b.rows('visits') === ROWS, {
      timeoutMs: 30_000,
      message: 'node-b receives app.db from node-a',
    });
    t.equal(b.rows('visits'), ROWS, 'node-b, a replica again, has every row');
    t.equal(readRows(a).count, ROWS, 'node-a still has every row');
    t.match(await a.info(), { isPrimary: true }, 'node-a is still primary');
    t.ok(existsSync(join(aside, 'ltx')), 'the moved directory keeps its LTX files');
  });
}
