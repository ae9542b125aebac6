// Writes halted across a lease move (docs/design.md section 4) on real LiteFS 0.5.11, judged by
// the rows: two nodes behind LiteFS's proxies, users writing through them every 10 ms (fly-replay
// followed), and the primary restarted again and again, so each stop hands the lease over while
// its app still takes writes. Without the halt, LiteFS lets the old primary commit once more
// after the handoff and then overwrites that commit by a snapshot (docs/litefs-facts.md, "A
// handoff can lose an acknowledged write": 7 writes lost in 20 handoffs,
// bench/results/handoff-loss-2026-12-07-11-23.txt). With it, every acknowledged write is in both
// files, and LiteFS never has to clear a replica that got ahead.

import { join } from 'node:path';
import t from 'tap';
import { startHttpWriter } from '../../testkit/http-writer.js';
import { waitFor } from '../helpers/wait.js';
import {
  createCluster,
  EXAMPLE,
  FIXTURES,
  keysOn,
  type LitefsNode,
  type LogRecord,
  skipUnlessReal,
  withPeerHealth,
} from './harness.js';

const APP = `node ${FIXTURES}app-boot-delay.mjs`;
const MIGRATION = `node ${join(EXAMPLE, 'migrate.mjs')}`;
const HANDOVERS = 10;

if (!skipUnlessReal(t)) {
  t.setTimeout(240_000);

  t.test('handovers on stop under writes every 10 ms lose no acknowledged write', async (t) => {
    const c = await createCluster(t, ['node-a', 'node-b'], { proxy: true });
    for (const n of c.nodes) {
      n.configure({
        // One version: a restarted node does not ask for the lease back (S5 new-version), so
        // every move is a handover on stop of a primary whose app takes writes.
        env: { BOOT_DELAY_MS: '300', FLY_IMAGE_REF: 'v1' },
        exec: [{ cmd: withPeerHealth(c, c.supervisorCmd(n, { app: APP, migrate: [MIGRATION] })) }],
      });
    }
    const [a, b] = c.nodes as [LitefsNode, LitefsNode];
    const healthy = (n: LitefsNode) =>
      waitFor(async () => (await n.health('/health')).status === 200, {
        timeoutMs: 40_000,
        intervalMs: 50,
        message: `${n.name} /health 200`,
      });
    a.start();
    await a.waitLog(/primary lease acquired/, 30_000);
    b.start();
    await healthy(a);
    await healthy(b);

    const writer = startHttpWriter({
      proxies: { [a.name]: a.proxyUrl, [b.name]: b.proxyUrl },
      entries: () => c.nodes.filter((n) => n.running()).map((n) => n.name),
      intervalMs: 10,
      durationMs: 10 * 60_000,
      timeoutMs: 15_000,
    });
    for (let i = 0; i < HANDOVERS; i++) {
      const from = await waitFor(() => c.primary(), {
        timeoutMs: 20_000,
        intervalMs: 50,
        message: 'a primary',
      });
      const to = from === a ? b : a;
      await new Promise((r) => setTimeout(r, 500)); // writes keep coming to the primary
      const stopped = from.stop('SIGINT');
      await to.waitPrimary(15_000);
      t.same(await stopped, { code: 0, signal: null }, `${from.name} stopped cleanly (${i + 1})`);
      from.start();
      await healthy(from);
    }
    await new Promise((r) => setTimeout(r, 500));
    const report = await writer.stop();
    const acked = report.records.filter((r) => r.ok);
    t.ok(acked.length > HANDOVERS * 50, `${acked.length} writes acknowledged`);

    const missing = () => {
      const files = c.nodes.map((n) => keysOn(n));
      return acked.filter((w) => !files.every((f) => f.has(w.key)));
    };
    const gone = await waitFor(() => (missing().length === 0 ? [] : undefined), {
      timeoutMs: 15_000,
      intervalMs: 100,
      message: 'every acknowledged write in both files',
    }).catch(() => missing());
    t.same(
      gone.map((w) => `${w.key} (acknowledged by ${w.servedBy})`),
      [],
      'every acknowledged write is in both nodes’ files',
    );

    const records = c.nodes.flatMap((n) =>
      n.allRecords().map((r): LogRecord => ({ ...r, node: n.name })),
    );
    if (gone.length > 0) {
      // What each node did around the loss, in the order the test read it.
      const t0 = Number(records[0]?.at ?? 0);
      const lines = records
        .filter(
          (r) =>
            /^(halt|handover|handoff|handback|promote|fence|role)\./.test(r.event ?? '') ||
            /lease|primary found|exceeds|snapshot|handoff/.test(r.msg ?? ''),
        )
        .sort((x, y) => Number(x.at) - Number(y.at))
        .map((r) => `${Number(r.at) - t0} ${r.node} ${r.event ?? 'litefs'} ${r.msg ?? ''}`);
      t.comment(lines.join('\n'));
      const first = gone[0]!;
      t.comment(`first lost write sent at ${first.sentAt - t0}, acked at ${first.settledAt - t0}`);
    }
    const held = records.filter((r) => r.event === 'halt.held' && /handoff/.test(r.msg ?? ''));
    t.ok(held.length >= HANDOVERS, `${held.length} handoffs with the writes halted`);
    // S7: the node that got the lease ran its app; it held its own writes during its checks.
    const own = records.filter((r) => r.event === 'halt.held' && r.check === 'S7');
    t.ok(own.length >= HANDOVERS, `${own.length} new primaries held their own writes (S7)`);
    t.comment(
      `S7 own locks (taken in / held ms): ${own.map((r) => `${r.waitedMs}/${r.heldMs}`).join(' ')}`,
    );
    t.same(
      records.filter((r) => r.event === 'halt.skipped').map((r) => r.msg),
      [],
      'no lease move without the halt, and no S7 check without it',
    );
    t.same(
      records.filter((r) => r.event === 'halt.release-fail').map((r) => r.msg),
      [],
      'every lock released',
    );
    t.same(
      records
        .filter((r) => /exceeds primary transaction id|checksum is mismatched/.test(r.msg ?? ''))
        .map((r) => r.msg),
      [],
      'LiteFS never had to clear a replica that got ahead of its new primary',
    );
  });
}
