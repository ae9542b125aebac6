// `node bench/nemesis-timeline.mjs <result.json> <run-dir> <out.svg>` (after
// `npm run build:testkit`): one nemesis run as an SVG timeline (testkit/nemesis/timeline.ts says
// what it draws). The result is what `npm run nemesis` stored in bench/results/; the run dir is
// its log dir, of which this reads `writes.json` (every request) and `history.json` (what the
// checker saw: the acknowledgements the final reference lacks are the lost ones). For the runs
// docs/nemesis.md draws, those two files are in bench/results/nemesis-evidence/<run>-data.tgz.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { timelineSvg } from '../dist-testkit/testkit/nemesis/timeline.js';

const [resultFile, runDir, outFile] = process.argv.slice(2);
if (!resultFile || !runDir || !outFile) {
  console.error('usage: node bench/nemesis-timeline.mjs <result.json> <run-dir> <out.svg>');
  process.exit(2);
}
const result = JSON.parse(readFileSync(resultFile, 'utf8'));
const { writes } = JSON.parse(readFileSync(join(runDir, 'writes.json'), 'utf8'));
const history = JSON.parse(readFileSync(join(runDir, 'history.json'), 'utf8'));
const kept = new Set(history.finalKeys);
const lostAtMs = history.acks.flatMap((a, i) => (kept.has(i) ? [] : [a.at - history.t0]));
if (lostAtMs.length !== result.lostAcked) {
  console.error(
    `history.json has ${lostAtMs.length} lost acknowledgements, the result ${result.lostAcked}: not the same run?`,
  );
  process.exit(1);
}
writeFileSync(outFile, timelineSvg(result, writes, lostAtMs));
