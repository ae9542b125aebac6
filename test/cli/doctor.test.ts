// runDoctor in-process with the volume readers replaced (src/cli/doctor.ts DoctorDeps): a
// measured nearly full volume and a state file reported on another filesystem, which a test
// machine cannot always produce for real. The rest is the real gatherer on a built data dir.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { nodeDoctorDeps, runDoctor } from '../../src/cli/doctor.js';
import { testConfig } from '../helpers/builders.js';
import { buildDataDir } from '../helpers/data-dir.js';

const GiB = 1024 ** 3;

function setup(t: Test) {
  const root = t.testdir();
  const dataDir = join(root, 'litefs');
  mkdirSync(join(root, 'mnt'));
  buildDataDir(dataDir, {
    clusterId: 'LFSC0123456789ABCDEF',
    dbs: { 'app.db': { rows: 4, ltx: [[1, 2]] } },
  });
  return testConfig({
    db: ['app.db'],
    dataDir,
    mountDir: join(root, 'mnt'),
    stateFile: join(root, 'litefs-supervisor.json'),
    // Nothing listens on port 1.
    litefsUrl: 'http://127.0.0.1:1',
  });
}

async function run(config: ReturnType<typeof testConfig>, deps = nodeDoctorDeps) {
  let out = '';
  const code = await runDoctor(
    config,
    { json: true, version: '0.0.0', warnings: [] },
    deps,
    (s) => {
      out += s;
    },
  );
  return {
    code,
    report: JSON.parse(out) as { findings: { id: string; level: string; summary: string }[] },
  };
}

t.test('a measured nearly full volume: 2% free of 10 GiB', async (t) => {
  const config = setup(t);
  const asked: string[] = [];
  const { code, report } = await run(config, {
    ...nodeDoctorDeps,
    diskSpace: async (path) => {
      asked.push(path);
      return { ok: true, path, freeBytes: 0.02 * 10 * GiB, totalBytes: 10 * GiB };
    },
  });
  t.equal(code, 1);
  t.same(asked, [config.dataDir], "the data dir's volume is measured, not the mount");
  const wrong = report.findings.filter((f) => f.level === 'error' || f.level === 'warn');
  t.match(wrong, [{ id: 'disk.low', summary: /only 2\.0% free .* below --min-free-disk 10%/ }]);
  t.equal(wrong.length, 1);

  const fine = await run(config, {
    ...nodeDoctorDeps,
    diskSpace: async (path) => ({
      ok: true,
      path,
      freeBytes: 0.5 * 10 * GiB,
      totalBytes: 10 * GiB,
    }),
  });
  t.equal(fine.code, 0);
});

t.test('the state file reported on another filesystem', async (t) => {
  const config = setup(t);
  const pairs: [string, string][] = [];
  const { code, report } = await run(config, {
    ...nodeDoctorDeps,
    sameFilesystem: async (a, b) => {
      pairs.push([a, b]);
      return false;
    },
  });
  t.equal(code, 1);
  t.same(pairs, [[config.stateFile, config.dataDir]]);
  t.same(
    report.findings.filter((f) => f.level === 'warn' || f.level === 'error').map((f) => f.id),
    ['state-file.other-volume'],
  );
});
