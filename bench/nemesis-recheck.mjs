// `node bench/nemesis-recheck.mjs bench/results/nemesis-*.json` (after `npm run build:testkit`):
// checks stored nemesis runs again with the current checker, from the history.json each run
// kept in its log dir (testkit/nemesis/judge.ts), and rewrites the checker's figures in each
// result (the run's other fields stay), noting the commit it was checked with. A result whose
// history is gone is left as it is and named. Prints each run's summary line.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseClear } from '../dist-testkit/testkit/nemesis/checker.js';
import { judge } from '../dist-testkit/testkit/nemesis/judge.js';
import { summaryLine } from '../dist-testkit/testkit/nemesis/runner.js';

/** LiteFS's clearing lines in a run's node logs (`<ms since t0> <record as JSON>` per line). */
function clearsFromLogs(dir) {
  return readdirSync(dir)
    .filter((f) => /^node-[a-z]\.log$/.test(f))
    .flatMap((f) =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .flatMap((line) => {
          const json = line.slice(line.indexOf(' ') + 1);
          if (!json.includes('exceeds primary')) return [];
          const r = JSON.parse(json);
          const c = parseClear(r.msg ?? '');
          return c ? [{ node: f.slice(0, -4), at: Number(r.at), ...c }] : [];
        }),
    );
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node bench/nemesis-recheck.mjs bench/results/nemesis-*.json');
  process.exit(2);
}
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
let missing = 0;
for (const file of files) {
  const result = JSON.parse(readFileSync(file, 'utf8'));
  const historyFile = result.logDir && join(result.logDir, 'history.json');
  if (!historyFile || !existsSync(historyFile)) {
    console.error(`${file}: no history (${historyFile ?? 'no logDir'}), left as it is`);
    missing += 1;
    continue;
  }
  const history = JSON.parse(readFileSync(historyFile, 'utf8'));
  // Histories from before `until` was kept: observation ended when the run's wall time did.
  history.until ??= history.t0 + result.wallMs;
  // Histories from before LiteFS's clearing lines were kept: from the node logs beside them.
  history.clears ??= clearsFromLogs(result.logDir);
  const updated = { ...result, ...judge(history), checkedWith: commit };
  writeFileSync(file, `${JSON.stringify(updated, null, 2)}\n`);
  console.log(summaryLine(updated));
}
process.exit(missing === 0 ? 0 : 1);
