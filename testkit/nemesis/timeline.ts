// One nemesis run as an SVG timeline (docs/nemesis.md, "A run, drawn"): the operations of the
// schedule, who held the lease (per node, from the run's `leases`), LiteFS or its exec command
// exiting by itself, and the users' writes per half second, acknowledged above the line and
// failed below it, with the stretches of 200 ms or more without an acknowledged write shaded.
// Pure: bench/nemesis-timeline.mjs reads the files and writes the SVG.

import type { NemesisResult } from './runner.js';

/** One request of the run, as the runner stores it in its log dir's writes.json. */
export interface TimelineWrite {
  /** ms since the run's t0. */
  sentMs: number;
  settledMs: number;
  ok: boolean;
  servedBy?: string;
  reason?: string;
}

export type TimelineRun = Pick<
  NemesisResult,
  | 'seed'
  | 'setup'
  | 'acked'
  | 'lostAcked'
  | 'emptied'
  | 'twoWriters'
  | 'failedRequests'
  | 'longestUnavailableMs'
  | 'wallMs'
  | 'leases'
  | 'operations'
  | 'unexpectedExits'
  | 'liveness'
>;

const BIN_MS = 500;
const GAP_MS = 200;

/** Stretches of at least GAP_MS without an acknowledgement, over the writes' window. */
export function unavailable(writes: readonly TimelineWrite[]): { from: number; to: number }[] {
  if (writes.length === 0) return [];
  const from = Math.min(...writes.map((w) => w.sentMs));
  const to = Math.max(...writes.map((w) => w.sentMs));
  const acks = writes
    .filter((w) => w.ok)
    .map((w) => w.settledMs)
    .sort((a, b) => a - b);
  const out: { from: number; to: number }[] = [];
  let last = from;
  for (const at of [...acks.filter((a) => a <= to), to]) {
    if (at - last >= GAP_MS) out.push({ from: last, to: at });
    last = Math.max(last, at);
  }
  return out;
}

/** Acknowledged and failed writes per BIN_MS, by the time each settled. */
export function bins(
  writes: readonly TimelineWrite[],
  endMs: number,
): { ok: number[]; failed: number[] } {
  const n = Math.max(1, Math.ceil(endMs / BIN_MS));
  const ok: number[] = new Array(n).fill(0);
  const failed: number[] = new Array(n).fill(0);
  for (const w of writes) {
    const i = Math.floor(w.settledMs / BIN_MS);
    if (i < 0 || i >= n) continue;
    const row = w.ok ? ok : failed;
    row[i] = (row[i] ?? 0) + 1;
  }
  return { ok, failed };
}

const esc = (s: string | number): string =>
  String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * `lostAtMs`: when each lost acknowledged write was acknowledged (ms since t0; from the run's
 * history.json, the acknowledgements missing from the final reference), drawn as their own row.
 */
export function timelineSvg(
  result: TimelineRun,
  writes: readonly TimelineWrite[],
  lostAtMs: readonly number[] = [],
): string {
  const nodes = [
    ...new Set([
      ...result.leases.map((l) => l.node),
      ...result.operations.flatMap((o) => (o.node ? [o.node] : [])),
      ...result.liveness.nodes.map((n) => n.node),
      ...result.unexpectedExits.map((e) => e.node),
    ]),
  ].sort();
  const endMs = Math.max(
    result.wallMs,
    ...result.operations.map((o) => o.endMs),
    ...writes.map((w) => w.settledMs),
  );
  const W = 960;
  const L = 70;
  const R = 20;
  const opsTop = 40;
  const opRow = 16;
  const opLanes = 3;
  const nodesTop = opsTop + opLanes * opRow + 16;
  const nodeRow = 22;
  const writesTop = nodesTop + nodes.length * nodeRow + 20;
  const writesH = 90;
  const lostTop = writesTop + writesH + 8;
  const lostH = 24;
  const axisY = lostTop + lostH + 12;
  const H = axisY + 26;
  const x = (ms: number): number =>
    +(L + ((W - L - R) * Math.max(0, Math.min(ms, endMs))) / endMs).toFixed(1);
  const out: string[] = [];

  // Time grid, every 10 s.
  for (let s = 0; s * 1000 <= endMs; s += 10) {
    out.push(
      `<line x1="${x(s * 1000)}" x2="${x(s * 1000)}" y1="${opsTop - 4}" y2="${axisY - 8}" stroke="#eee"/>`,
      `<text x="${x(s * 1000)}" y="${axisY + 4}" text-anchor="middle">${s}</text>`,
    );
  }
  out.push(
    `<text x="${(L + W - R) / 2}" y="${axisY + 18}" text-anchor="middle">seconds since the first write</text>`,
  );

  // Operations, in lanes so that labels do not overlap.
  out.push(`<text x="${L - 6}" y="${opsTop + 11}" text-anchor="end">faults</text>`);
  const laneEnd: number[] = new Array(opLanes).fill(-Infinity);
  for (const o of result.operations) {
    const label = `${o.index}. ${o.kind}${o.node ? ` ${o.node}` : ''}`;
    const x0 = x(o.startMs);
    const width = Math.max(2, x(o.endMs) - x0);
    const labelEnd = x0 + label.length * 5.6;
    let lane = laneEnd.findIndex((e) => e + 4 < x0);
    if (lane < 0) lane = laneEnd.indexOf(Math.min(...laneEnd));
    laneEnd[lane] = Math.max(x0 + width, labelEnd);
    const y = opsTop + lane * opRow;
    out.push(
      `<rect x="${x0}" y="${y}" width="${width.toFixed(1)}" height="${opRow - 3}" fill="#f6e3b4"><title>${esc(
        [label, ...(o.detail ?? [])].join('\n'),
      )}</title></rect>`,
      `<text x="${x0 + 2}" y="${y + 10}" font-size="9">${esc(label)}</text>`,
    );
  }

  // The lease, per node, and exits LiteFS or the exec command made by themselves.
  nodes.forEach((node, i) => {
    const y = nodesTop + i * nodeRow;
    out.push(
      `<text x="${L - 6}" y="${y + 14}" text-anchor="end">${esc(node)}</text>`,
      `<line x1="${L}" x2="${W - R}" y1="${y + 10}" y2="${y + 10}" stroke="#ccc"/>`,
    );
    for (const l of result.leases.filter((l) => l.node === node)) {
      const x0 = x(l.fromMs);
      out.push(
        `<rect x="${x0}" y="${y + 3}" width="${Math.max(2, x(l.toMs) - x0).toFixed(1)}" height="14" fill="#2c7bb6"><title>${esc(
          `${node} holds the lease ${l.fromMs}-${l.toMs} ms`,
        )}</title></rect>`,
      );
    }
    for (const e of result.unexpectedExits.filter((e) => e.node === node)) {
      out.push(
        `<text x="${x(e.atMs)}" y="${y + 15}" text-anchor="middle" fill="#c0392b" font-weight="bold">×<title>${esc(
          `${node} exited by itself (${e.code}) at ${e.atMs} ms`,
        )}</title></text>`,
      );
    }
  });

  // Writes per half second: acknowledged up, failed down, time without an ack shaded.
  const mid = writesTop + writesH / 2;
  const { ok, failed } = bins(writes, endMs);
  const peak = Math.max(1, ...ok, ...failed);
  const h = (n: number): number => +(((writesH / 2 - 2) * n) / peak).toFixed(1);
  const bw = Math.max(1, x(BIN_MS) - x(0) - 0.5).toFixed(1);
  for (const s of unavailable(writes)) {
    out.push(
      `<rect x="${x(s.from)}" y="${writesTop}" width="${Math.max(1, x(s.to) - x(s.from)).toFixed(1)}" height="${writesH}" fill="#fbe3e1"/>`,
    );
  }
  out.push(
    `<text x="${L - 6}" y="${mid - 10}" text-anchor="end">writes</text>`,
    `<text x="${L - 6}" y="${mid + 4}" text-anchor="end" font-size="9">ok ↑</text>`,
    `<text x="${L - 6}" y="${mid + 16}" text-anchor="end" font-size="9">failed ↓</text>`,
    `<line x1="${L}" x2="${W - R}" y1="${mid}" y2="${mid}" stroke="#9a9a9a"/>`,
  );
  ok.forEach((n, i) => {
    if (n)
      out.push(
        `<rect x="${x(i * BIN_MS)}" y="${mid - h(n)}" width="${bw}" height="${h(n)}" fill="#27ae60"/>`,
      );
  });
  failed.forEach((n, i) => {
    if (n)
      out.push(
        `<rect x="${x(i * BIN_MS)}" y="${mid}" width="${bw}" height="${h(n)}" fill="#c0392b"/>`,
      );
  });

  // Acknowledged writes that no node kept: when they were acknowledged, per 500 ms.
  const lostBins = bins(
    lostAtMs.map((at) => ({ sentMs: at, settledMs: at, ok: true })),
    endMs,
  ).ok;
  const lostPeak = Math.max(1, ...lostBins);
  out.push(
    `<text x="${L - 6}" y="${lostTop + 15}" text-anchor="end">lost ${lostAtMs.length}</text>`,
    `<line x1="${L}" x2="${W - R}" y1="${lostTop + lostH}" y2="${lostTop + lostH}" stroke="#ccc"/>`,
  );
  lostBins.forEach((n, i) => {
    if (!n) return;
    const hh = Math.max(2, +(((lostH - 2) * n) / lostPeak).toFixed(1));
    out.push(
      `<rect x="${x(i * BIN_MS)}" y="${lostTop + lostH - hh}" width="${bw}" height="${hh}" fill="#6c1a12"><title>${n} lost, acknowledged at ${i * BIN_MS}-${(i + 1) * BIN_MS} ms</title></rect>`,
    );
  });

  const title = `nemesis seed ${result.seed}, ${result.setup}: acked ${result.acked}, lost ${result.lostAcked}, emptied ${result.emptied}, two writers ${result.twoWriters}, failed ${result.failedRequests}, longest without a write ${result.longestUnavailableMs} ms`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">
<title>${esc(title)}</title>
<rect width="${W}" height="${H}" fill="#fff"/>
<text x="${L}" y="18" font-size="12">${esc(title)}</text>
<text x="8" y="32" font-size="9" fill="#5a5a5a">blue: holds the lease · ×: LiteFS or its exec command exited by itself · green/red: writes acknowledged/failed per ${BIN_MS} ms · dark red: acknowledged, then lost · shaded: ≥ ${GAP_MS} ms without an acknowledgement</text>
${out.join('\n')}
</svg>
`;
}
