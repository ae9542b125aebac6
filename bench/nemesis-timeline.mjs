// `node bench/nemesis-timeline.mjs <result.json> <writes.json> <out.svg>` (after
// `npm run build:testkit`): one nemesis run as an SVG timeline (testkit/nemesis/timeline.ts says
// what it draws). The result is what `npm run nemesis` stored in bench/results/, the writes are
// `writes.json` of its log dir (stored beside the result for the run docs/nemesis.md draws).

import { readFileSync, writeFileSync } from 'node:fs';
import { timelineSvg } from '../dist-testkit/testkit/nemesis/timeline.js';

const [resultFile, writesFile, outFile] = process.argv.slice(2);
if (!resultFile || !writesFile || !outFile) {
  console.error('usage: node bench/nemesis-timeline.mjs <result.json> <writes.json> <out.svg>');
  process.exit(2);
}
const result = JSON.parse(readFileSync(resultFile, 'utf8'));
const { writes } = JSON.parse(readFileSync(writesFile, 'utf8'));
writeFileSync(outFile, timelineSvg(result, writes));
