// The seed incident with LiteFS's own exec block, on real LiteFS 0.5.11. This
// test DOCUMENTS what LiteFS does: it passes when the rows are lost, as they were in the thread.
// (The same sequence with the supervisor keeps them: incident-supervisor.test.ts.)

import t from 'tap';
import {
  askApp,
  breakLikeTheThread,
  healthyThenStopped,
  litefsExecBlock,
  ROWS,
  readRows,
  rowsOf,
  snapshotLines,
} from '../../testkit/real-incident.js';
import { waitFor } from '../helpers/wait.js';
import { infoOrError, skipUnlessReal } from './harness.js';

if (!skipUnlessReal(t)) {
  t.setTimeout(120_000);

  t.test('promote: true, migrations if-candidate: the emptied node wipes the data', async (t) => {
    const c = await healthyThenStopped(t);
    const [a, b] = [c.node('node-a'), c.node('node-b')];
    const before = readRows(a);
    t.equal(before.count, ROWS, `the data holder has ${ROWS} rows before (${before.file})`);

    breakLikeTheThread(a, b);
    for (const n of [a, b]) n.configure({ promote: true, exec: litefsExecBlock() });

    a.start();
    await a.waitLog(/primary lease acquired/);
    await a.waitLog(/starting background subprocess/);
    const held = readRows(a);
    t.equal(
      held.count,
      ROWS,
      `the holder (history lost, TXID 0) still has its rows as primary (${held.file})`,
    );
    t.match(await infoOrError(a), { isPrimary: true }, 'node-a primary');

    b.start();
    await b.waitLog(/database file is zero length|connected to cluster, ready/);
    await b.waitLog(/automatically promoting to primary/);
    await b.waitLog(/primary lease acquired/);
    await waitFor(() => /snapshot received/.test(a.output()), {
      timeoutMs: 20_000,
      message: 'node-a received the TXID 1 snapshot',
    });
    await waitFor(() => rowsOf(a) === 0, { timeoutMs: 10_000, message: 'rows gone on node-a' });

    const lost = readRows(a);
    t.equal(lost.count, 0, `DOCUMENTED: the data holder lost every row (${lost.file})`);
    const onB = readRows(b);
    t.equal(onB.count, 0, `the new primary has the schema, no rows (${onB.file})`);
    const wrote = (n: typeof a) =>
      snapshotLines(n).some((l) =>
        l.includes('starting from txid 0000000000000001, writing snapshot'),
      );
    t.ok(wrote(b), "the emptied node's history starts at TXID 1: streamed as a snapshot");
    t.ok(
      a.records().some((r) => /^snapshot received for "app\.db"/.test(r.msg ?? '')),
      'the data holder applied it',
    );
    t.ok(a.running(), "the holder's LiteFS still runs (it applied the snapshot as a replica)");
    // The final primary, as LiteFS and Consul see it: the emptied node.
    t.match(await infoOrError(b), { isPrimary: true }, 'node-b is the final primary');
    t.match(
      await infoOrError(a),
      { isPrimary: false, primary: { hostname: 'node-b' } },
      'node-a follows',
    );
    t.equal(
      (await c.consul.lease(c.key)).key?.hostname,
      'node-b',
      'Consul: the lease key names node-b',
    );
    // The primary's app (LiteFS's exec block) serves the emptied database: the visit this
    // request records is its only row.
    const res = await askApp(b, '/');
    t.match(res, { status: 200 }, "node-b's app serves");
    t.match(
      'body' in res ? JSON.parse(res.body) : res,
      { visits: 1, recorded: true },
      'DOCUMENTED: the app serves an empty visits table (the one row is its own visit)',
    );
    t.comment(`snapshot lines: ${[...snapshotLines(a), ...snapshotLines(b)].join(' | ')}`);
  });
}
