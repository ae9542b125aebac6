// `npm run nemesis -- [--seed N] [--steps K] [--nodes 3] [--setup supervisor|litefs-exec]
//   [--schedule random|incident] [--json FILE] [--log-dir DIR] [--fence-timeout 20s]
//   [--reconnect-delay 100ms|default]
//   [--write-interval-ms 20] [--boot-delay-ms 1500]`
//
// One run of the nemesis on real LiteFS 0.5.11 (testkit/nemesis/runner.ts says what it does):
// faults drawn from the seed hit a cluster while users' writes go through LiteFS's proxies, then
// the checker says what was lost and how. Prints progress on stderr, one summary line on stdout,
// and stores the result JSON (with the machine and its load) in
// bench/results/nemesis-<UTC yyyy-mm-dd-hh-mm>-<setup>-seed<N>.json (`incident` instead of
// seed<N> for the incident schedule), or in --json FILE. Each node's whole output goes to
// --log-dir (default /tmp/nemesis-logs/<the same name>), to find a mechanism afterwards.
//
// Needs root, /dev/fuse, fusermount3 and ../shared/litefs (testkit/real-litefs.ts says what is
// missing). Exit code: 0 when the run completed (whatever it found), 2 on bad options or when
// real LiteFS cannot run, 1 when the run itself failed.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { runNemesis, summaryLine } from '../dist-testkit/testkit/nemesis/runner.js';
import { ROOT, realSkipReason } from '../dist-testkit/testkit/real-litefs.js';

function usage(message) {
  console.error(`nemesis: ${message}`);
  console.error(
    'usage: npm run nemesis -- [--seed N] [--steps K] [--nodes 3] [--setup supervisor|litefs-exec] [--schedule random|incident] [--json FILE] [--log-dir DIR]',
  );
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      seed: { type: 'string', default: '1' },
      steps: { type: 'string', default: '10' },
      nodes: { type: 'string', default: '3' },
      setup: { type: 'string', default: 'supervisor' },
      schedule: { type: 'string', default: 'random' },
      json: { type: 'string' },
      'log-dir': { type: 'string' },
      'fence-timeout': { type: 'string', default: '20s' },
      // Unset: 100ms with the supervisor (what its README recommends), LiteFS's default with
      // the exec block (the seed thread's config).
      'reconnect-delay': { type: 'string' },
      'write-interval-ms': { type: 'string', default: '20' },
      'boot-delay-ms': { type: 'string', default: '1500' },
    },
    strict: true,
  }));
} catch (err) {
  usage(err.message);
}

const int = (name, min) => {
  const v = Number(values[name]);
  if (!Number.isInteger(v) || v < min)
    usage(`--${name} must be an integer >= ${min} (got ${values[name]})`);
  return v;
};
const seed = int('seed', 0);
const steps = int('steps', 1);
const nodes = int('nodes', 2);
if (!['supervisor', 'litefs-exec'].includes(values.setup)) {
  usage(`--setup must be supervisor or litefs-exec (got ${values.setup})`);
}
if (!['random', 'incident'].includes(values.schedule)) {
  usage(`--schedule must be random or incident (got ${values.schedule})`);
}
if (!/^\d+s$/.test(values['fence-timeout']))
  usage('--fence-timeout must be whole seconds, e.g. 20s');
const reconnectDelay = values['reconnect-delay'];
if (reconnectDelay !== undefined && !/^(\d+(ms|s)|default)$/.test(reconnectDelay))
  usage(
    `--reconnect-delay must be a duration like 100ms or 1s, or default (got ${reconnectDelay})`,
  );

const skip = realSkipReason();
if (skip) {
  console.error(`nemesis needs real LiteFS: ${skip}`);
  process.exit(2);
}

function stamp(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}-${p(d.getUTCHours())}-${p(d.getUTCMinutes())}`;
}

const started = new Date();
const name = `nemesis-${stamp(started)}-${values.setup}-${values.schedule === 'incident' ? 'incident' : `seed${seed}`}`;
const logDir = values['log-dir'] ?? join('/tmp/nemesis-logs', name);
try {
  const result = await runNemesis({
    seed,
    steps,
    nodes,
    setup: values.setup,
    schedule: values.schedule,
    fenceTimeout: values['fence-timeout'],
    ...(reconnectDelay === undefined ? {} : { reconnectDelay }),
    writeIntervalMs: int('write-interval-ms', 1),
    bootDelayMs: int('boot-delay-ms', 0),
    logDir,
    log: (line) => console.error(line),
  });
  const file = values.json ?? join(ROOT, 'bench/results', `${name}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(summaryLine(result));
  console.error(`stored in ${file}; node logs in ${logDir}`);
} catch (err) {
  console.error(`nemesis: the run failed: ${err.stack ?? err}`);
  process.exit(1);
}
