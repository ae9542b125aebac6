// The soak's curve as a small SVG (docs/reliability.md, "Soak"): RSS and V8 heap used after a forced
// full GC, per sample of bench/soak.mjs. `node bench/soak-plot.mjs <samples.jsonl> <out.svg>
// [title]` regenerates it from the committed data.

import { readFileSync, writeFileSync } from 'node:fs';

export function soakSvg(samples, title) {
  const W = 640;
  const H = 260;
  const L = 48;
  const R = 110;
  const T = 28;
  const B = 36;
  const tMax = Math.max(60, ...samples.map((s) => s.t));
  const yMax = Math.ceil(Math.max(...samples.map((s) => s.rssMb)) / 10) * 10 + 10;
  const x = (t) => L + ((W - L - R) * t) / tMax;
  const y = (mb) => +(T + (H - T - B) * (1 - mb / yMax)).toFixed(1);
  const line = (key) =>
    samples.map((s, i) => `${i ? 'L' : 'M'}${x(s.t).toFixed(1)},${y(s[key]).toFixed(1)}`).join('');
  const grid = [];
  for (let mb = 0; mb <= yMax; mb += 10) {
    grid.push(
      `<line x1="${L}" x2="${W - R}" y1="${y(mb)}" y2="${y(mb)}" stroke="#ddd"/>`,
      `<text x="${L - 6}" y="${y(mb) + 4}" text-anchor="end">${mb}</text>`,
    );
  }
  const stepMin = tMax > 1800 ? 10 : tMax > 600 ? 5 : 1;
  for (let m = 0; m * 60 <= tMax; m += stepMin) {
    grid.push(`<text x="${x(m * 60)}" y="${H - B + 16}" text-anchor="middle">${m}</text>`);
  }
  const last = samples.at(-1);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">
<title>${title}</title>
<rect width="${W}" height="${H}" fill="#fff"/>
<text x="${L}" y="16" font-size="12">${title}</text>
${grid.join('\n')}
<text x="${(L + W - R) / 2}" y="${H - 4}" text-anchor="middle">minutes</text>
<text x="12" y="${T + (H - T - B) / 2}" transform="rotate(-90 12 ${T + (H - T - B) / 2})" text-anchor="middle">MB</text>
<path d="${line('rssMb')}" fill="none" stroke="#c0392b" stroke-width="2"/>
<path d="${line('heapUsedMb')}" fill="none" stroke="#2c7bb6" stroke-width="2"/>
<text x="${W - R + 6}" y="${y(last.rssMb) + 4}" fill="#c0392b">RSS ${last.rssMb.toFixed(1)}</text>
<text x="${W - R + 6}" y="${y(last.heapUsedMb) + 4}" fill="#2c7bb6">heap ${last.heapUsedMb.toFixed(1)}</text>
</svg>
`;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop())) {
  const [file, out, title = 'RSS and heap used after a full GC'] = process.argv.slice(2);
  if (!file || !out) {
    console.error('usage: node bench/soak-plot.mjs <samples.jsonl> <out.svg> [title]');
    process.exit(2);
  }
  const samples = readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  writeFileSync(out, soakSvg(samples, title));
}
