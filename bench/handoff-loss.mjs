// Does a LiteFS handoff keep every acknowledged write? LiteFS alone (no supervisor): two
// candidates on real LiteFS 0.5.11, each with LiteFS's proxy in front of
// test/fixtures/app-boot-delay.mjs (the app is the exec command), testkit/http-writer.ts sending
// a keyed write every 10 ms to both proxies in turn (fly-replay followed), and BENCH_HANDOFFS
// (default 20) handoffs back and forth (`POST /handoff?nodeID=` on the primary, retried while the
// target is not connected yet), 700 ms apart. Then every acknowledged key is looked up in the final
// primary's database. A write committed between the handoff and the old primary clearing its
// lease is on the old primary alone and is overwritten by a snapshot when it reconnects
// (docs/litefs-facts.md, LiteFS's proxy and writes).
//
// Also measured first: one write through the primary's proxy while its app is still booting
// (BOOT_DELAY_MS 3000): LiteFS's proxy holds it until the app listens.
//
// Needs root, /dev/fuse, fusermount3 and ../shared/litefs. `npm run bench:handoff-loss`; prints
// and stores bench/results/handoff-loss-<UTC date-time>.txt.

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startHttpWriter } from '../dist-testkit/testkit/http-writer.js';
import {
  createCluster,
  FIXTURES,
  ROOT,
  realSkipReason,
  waitFor,
} from '../dist-testkit/testkit/real-litefs.js';

const HANDOFFS = Number(process.env.BENCH_HANDOFFS ?? 20);
// BENCH_HALT=1: hold the old primary's write lock across each handoff, as the supervisor does
// (`POST /halt?name=` on its LiteFS, the handoff, then `DELETE /halt` once it is no longer
// primary): the commit LiteFS lets through after the handoff cannot happen.
const HALT = process.env.BENCH_HALT === '1';
const APP = `node ${join(FIXTURES, 'app-boot-delay.mjs')}`;

const skip = realSkipReason();
if (skip) {
  console.error(`bench:handoff-loss needs real LiteFS: ${skip}`);
  process.exit(2);
}

const fns = [];
const owner = { teardown: (fn) => fns.push(fn), passing: () => true };
const started = new Date();
const loadStart = loadavg()[0];
const out = [];
try {
  const c = await createCluster(owner, ['node-a', 'node-b'], { proxy: true });
  const [a, b] = c.nodes;
  for (const n of c.nodes) n.configure({ env: { BOOT_DELAY_MS: '3000' }, exec: [{ cmd: APP }] });
  a.start();
  await a.waitLog(/proxy server listening/, 30_000);
  const t0 = Date.now();
  const res = await fetch(`${a.proxyUrl}/write?key=during-boot`, { method: 'POST' });
  out.push(
    `a write through the proxy while the app boots (3000 ms): ${res.status} ${(await res.text()).trim()} after ${Date.now() - t0} ms`,
  );
  b.start();
  await waitFor(async () => (await fetch(`${b.proxyUrl}/healthz`)).status === 200, {
    timeoutMs: 30_000,
    message: 'node-b app healthy',
  });

  const writer = startHttpWriter({
    proxies: { 'node-a': a.proxyUrl, 'node-b': b.proxyUrl },
    durationMs: 10 * 60_000,
  });
  let refused = 0;
  const haltFailures = [];
  for (let i = 0; i < HANDOFFS; i++) {
    await new Promise((r) => setTimeout(r, 700));
    const from = (await a.info()).isPrimary ? a : b;
    const to = from === a ? b : a;
    // The old primary reconnects as a replica about a second after a handoff; until then LiteFS
    // answers `target node is not currently connected`.
    await waitFor(
      async () => {
        if ((await to.info()).isPrimary) return true;
        const lockId = String(1 + Math.floor(Math.random() * 2 ** 40));
        if (HALT) {
          const r = await fetch(`${from.url}/halt?name=app.db&id=${lockId}`, { method: 'POST' });
          const body = await r.text();
          if (r.status !== 200) haltFailures.push(`${r.status} ${body.trim()}`);
        }
        const h = await fetch(`${from.url}/handoff?nodeID=${await to.nodeId()}`, {
          method: 'POST',
        });
        await h.arrayBuffer();
        if (h.status !== 200) refused += 1;
        if (HALT) {
          if (h.status === 200) {
            const until = Date.now() + 2000;
            while (Date.now() < until && (await from.info()).isPrimary) {
              await new Promise((r) => setTimeout(r, 10));
            }
          }
          const r = await fetch(`${from.url}/halt?name=app.db&id=${lockId}`, { method: 'DELETE' });
          await r.arrayBuffer();
        }
        await new Promise((r) => setTimeout(r, 300));
        return (await to.info()).isPrimary;
      },
      { timeoutMs: 20_000, intervalMs: 200, message: `handoff ${i + 1} to ${to.name}` },
    );
  }
  await new Promise((r) => setTimeout(r, 1500));
  const report = await writer.stop();
  // Let the old primary reconnect and take its snapshot before reading.
  await new Promise((r) => setTimeout(r, 1500));
  const final = (await a.info()).isPrimary ? a : b;
  const db = new Database(join(final.mountDir, 'app.db'), { readonly: true, timeout: 5000 });
  const have = new Set(db.prepare('SELECT key FROM writes').pluck().all());
  db.close();
  const missing = report.ackedKeys.filter((k) => !have.has(k));
  const all = c.nodes.map((n) => n.allOutput()).join('\n');
  out.push(
    `${HANDOFFS} handoffs (${refused} refused while the target reconnected) under a write every 10 ms${HALT ? `, the old primary's writes halted across each (halt refused ${haltFailures.length} times${haltFailures.length ? `: ${haltFailures[0]}` : ''})` : ''}`,
    `writes sent ${report.attempts}, acknowledged ${report.acked}, failed ${report.failed}`,
    `acknowledged but missing on the final primary: ${missing.length}`,
    `LiteFS cleared an ahead replica's position (snapshot): ${(all.match(/exceeds primary transaction id/g) ?? []).length} times`,
    `failed writes: ${Object.entries(report.failures)
      .map(([k, v]) => `${v}x ${k}`)
      .join('; ')}`,
  );
} finally {
  for (const fn of fns.reverse()) await fn();
}
const cpu = cpus();
const text = [
  `handoffs on real LiteFS 0.5.11, LiteFS alone${HALT ? ' with POST /halt around each handoff' : ''}, 2 nodes (${started.toISOString()})`,
  `machine: ${cpu.length} x ${cpu[0]?.model ?? 'unknown CPU'}; load average 1m ${loadStart.toFixed(1)} at start, ${loadavg()[0].toFixed(1)} at end`,
  ...out,
  '',
].join('\n');
console.log(text);
const p = (n) => String(n).padStart(2, '0');
const stamp = `${started.getUTCFullYear()}-${p(started.getUTCMonth() + 1)}-${p(started.getUTCDate())}-${p(started.getUTCHours())}-${p(started.getUTCMinutes())}`;
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(ROOT, `bench/results/handoff-loss-${stamp}${HALT ? '-halt' : ''}.txt`), text);
