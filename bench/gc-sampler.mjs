// Preloaded into the supervisor by bench/soak.mjs (`node --expose-gc --import` this file): every
// GC_SAMPLE_MS (default 60 s) it forces a full GC (twice, so weak references and finalizers are
// done), then appends one JSON line to GC_SAMPLE_FILE: seconds since start, RSS, V8 heap used and
// committed, external memory. The timer is unref()ed and nothing else in the process changes.

import { appendFileSync } from 'node:fs';

const file = process.env.GC_SAMPLE_FILE;
const every = Number(process.env.GC_SAMPLE_MS ?? 60_000);
const gc = globalThis.gc;
if (file && typeof gc === 'function') {
  const t0 = performance.now();
  const sample = () => {
    gc();
    gc();
    const m = process.memoryUsage();
    appendFileSync(
      file,
      `${JSON.stringify({
        t: Math.round((performance.now() - t0) / 1000),
        rssMb: +(m.rss / 2 ** 20).toFixed(2),
        heapUsedMb: +(m.heapUsed / 2 ** 20).toFixed(2),
        heapTotalMb: +(m.heapTotal / 2 ** 20).toFixed(2),
        externalMb: +(m.external / 2 ** 20).toFixed(2),
      })}\n`,
    );
  };
  setTimeout(sample, 5_000).unref(); // one sample once start-up has settled
  setInterval(sample, every).unref();
}
