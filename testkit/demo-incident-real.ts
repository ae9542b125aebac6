// `npm run demo:incident -- --real`: the seed incident replayed on real LiteFS (the binary of
// LITEFS_BIN, PATH or ../shared/litefs, with the Consul stand-in), twice from the same start:
// with LiteFS's own exec block (`promote: true`, migrations `if-candidate`) the data holder's
// rows are lost; with litefs-supervisor as the exec command they are kept. Needs root, /dev/fuse
// and fusermount3; otherwise it says why and exits 2. Development only (testkit is not shipped).

import {
  breakLikeTheThread,
  healthyThenStopped,
  litefsExecBlock,
  ROWS,
  rowsOf,
} from './real-incident.js';
import { type Cluster, type Owner, realSkipReason, waitFor } from './real-litefs.js';

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const heading = (s: string) => console.log(`\n${bold(`== ${s}`)}`);

/** The demo's own teardown list, run at the end of each run and on Ctrl-C. */
class DemoOwner implements Owner {
  private fns: (() => unknown)[] = [];
  teardown(fn: () => unknown): void {
    this.fns.push(fn);
  }
  async close(): Promise<void> {
    for (const fn of this.fns.splice(0).reverse()) {
      try {
        await fn();
      } catch {}
    }
  }
}

function show(c: Cluster, when: string): void {
  const counts = c.nodes.map((n) => `${n.name} ${rowsOf(n) ?? 'no database'}`).join(', ');
  console.log(`  ${when}: rows in visits: ${counts}`);
}

async function withExecBlock(owner: Owner): Promise<number | undefined> {
  heading("1. LiteFS's own exec block (promote: true, migrations if-candidate)");
  const c = await healthyThenStopped(owner);
  const [a, b] = [c.node('node-a'), c.node('node-b')];
  show(c, 'healthy cluster, both stopped');
  breakLikeTheThread(a, b);
  console.log(
    '  rm node-a/data/dbs/app.db/ltx/*, rm -rf node-b/data/dbs/app.db (as in the thread)',
  );
  for (const n of [a, b]) n.configure({ promote: true, exec: litefsExecBlock() });
  a.start();
  await a.waitLog(/starting background subprocess/);
  show(c, 'node-a back (TXID 0, pages kept) as primary');
  b.start();
  console.log('  node-b (empty) joins: LiteFS promotes it, its migration writes TXID 1 ...');
  await waitFor(() => /snapshot received/.test(a.output()), { timeoutMs: 20_000 }).catch(() => {});
  await waitFor(() => rowsOf(a) === 0, { timeoutMs: 5_000 }).catch(() => {});
  show(c, 'after node-b took the lease and migrated');
  return rowsOf(a);
}

async function withSupervisor(owner: Owner): Promise<number | undefined> {
  heading('2. litefs-supervisor as the exec command (promote: false, --promote)');
  const c = await healthyThenStopped(owner);
  const [a, b] = [c.node('node-a'), c.node('node-b')];
  show(c, 'healthy cluster, both stopped');
  breakLikeTheThread(a, b);
  console.log('  the same rm on both nodes; each keeps its state file (high-water mark)');
  for (const n of [a, b]) {
    n.configure({
      promote: false,
      exec: [{ cmd: c.supervisorCmd(n, { extra: ['--fence-timeout', '5m'] }) }],
    });
  }
  a.start();
  await a.waitLog(/primary lease acquired/);
  b.start();
  console.log('  node-b (empty) joins; both supervisors decide ...');
  await waitFor(() => b.events().includes('sync.wait') || b.events().includes('fence.enter'), {
    timeoutMs: 30_000,
  }).catch(() => {});
  await new Promise((r) => setTimeout(r, 6_000));
  for (const n of [a, b]) {
    const said = n.records().filter((r) => r.event === 'fence.enter' || r.event === 'sync.wait');
    for (const r of said.slice(0, 1)) console.log(`  ${n.name}: ${r.event}: ${r.msg}`);
  }
  show(c, 'after both decided');
  return rowsOf(a);
}

export async function runRealDemo(): Promise<number> {
  const reason = realSkipReason();
  if (reason !== undefined) {
    console.error(`Real LiteFS is not available here: ${reason}`);
    console.error('Run `npm run demo:incident` (without --real) for the simulated replay.');
    return 2;
  }
  console.log(
    bold('The seed incident on real LiteFS: two nodes, a Consul lease, the same start twice.'),
  );
  const owner = new DemoOwner();
  const onSignal = () => void owner.close().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  let lost: number | undefined;
  let kept: number | undefined;
  try {
    lost = await withExecBlock(owner);
    await owner.close();
    kept = await withSupervisor(owner);
  } finally {
    await owner.close();
    process.off('SIGINT', onSignal);
  }
  heading('Result');
  console.log(`  exec block:        node-a ends with ${lost ?? 'no database'} of ${ROWS} rows.`);
  console.log(`  litefs-supervisor: node-a ends with ${kept ?? 'no database'} of ${ROWS} rows.`);
  return lost === 0 && kept === ROWS ? 0 : 1;
}
