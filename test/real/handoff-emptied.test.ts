// S4 never hands the lease to an empty node, on real LiteFS 0.5.11, with the supervisors reading
// each other's /status (as on Fly, where every supervisor answers on the same health port). The
// emptied node's `dbs/app.db` was removed but its state file survived, so its supervisor reports
// a high-water mark with no database: the nemesis campaign (docs/nemesis.md, finding 2) saw a
// fenced history-lost holder hand the lease to such a node, which fenced and handed it back,
// every 3 s until both exited 4. A mark says what the cluster held (S2), not what the node holds.

import t from 'tap';
import {
  breakLikeTheThread,
  healthyThenStopped,
  observeFor,
  ROWS,
  readRows,
} from '../../testkit/real-incident.js';
import { waitFor } from '../helpers/wait.js';
import { infoOrError, skipUnlessReal, withPeerHealth } from './harness.js';

interface StatusDb {
  name: string;
  txid: string | null;
  pageCount: number | null;
  hasData: boolean;
  hwm: string | null;
}

if (!skipUnlessReal(t)) {
  t.setTimeout(240_000);
  t.test(
    'a fenced holder never hands the lease to an emptied node with a state file',
    async (t) => {
      const c = await healthyThenStopped(t);
      const [a, b] = [c.node('node-a'), c.node('node-b')];
      t.equal(readRows(a).count, ROWS, 'the holder has every row');
      // node-a: history lost (S13 fences it); node-b: db removed, state file kept.
      breakLikeTheThread(a, b);
      const opts = { extra: ['--fence-timeout', '5m'] };
      a.configure({ promote: false, exec: [{ cmd: withPeerHealth(c, c.supervisorCmd(a, opts)) }] });
      b.configure({ promote: false, exec: [{ cmd: withPeerHealth(c, c.supervisorCmd(b, opts)) }] });

      a.start();
      await a.waitEvent('fence.enter', 30_000);
      b.start();
      await b.waitEvent('supervisor.start', 30_000);
      // The precondition: node-b's supervisor reports a mark and no data.
      const bDb = await waitFor(
        async () => {
          const body = (await b.health('/status').catch(() => undefined))?.body as
            | { dbs?: StatusDb[] }
            | undefined;
          const db = body?.dbs?.find((d) => d.name === 'app.db');
          return db?.hwm ? db : undefined;
        },
        { timeoutMs: 20_000, message: "node-b's /status shows its high-water mark" },
      );
      t.match(bDb, { hasData: false }, `node-b: no data, high-water mark ${bDb.hwm}`);
      // node-a asks its peers and tries a handoff every 3 s: several tries in this window.
      const since = a.records().length;
      await waitFor(
        () =>
          a
            .records()
            .slice(since)
            .filter((r) => r.event === 'handoff.none' || r.event === 'handoff.request').length >= 3,
        { timeoutMs: 30_000, message: 'three handoff tries by node-a with node-b answering' },
      );
      await observeFor(1_000);

      const requests = a.records().filter((r) => r.event === 'handoff.request');
      t.same(
        requests.map((r) => r.peerTxid),
        [],
        'node-a never handed the lease to the emptied node (S4)',
      );
      t.notOk(b.events().includes('fence.enter'), 'node-b never held the lease');
      t.match(await infoOrError(a), { isPrimary: true }, 'node-a keeps the lease, fenced');
      t.equal(readRows(a).count, ROWS, 'the holder still has every row');
    },
  );
}
