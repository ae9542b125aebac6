// A unified diff of two texts, line by line, as `init` prints the change it makes to litefs.yml
// (the files are small: a longest common subsequence over their lines is plenty).

/** `--- a/<name>` / `+++ b/<name>` and hunks with `context` lines around each change. */
export function unifiedDiff(name: string, before: string, after: string, context = 3): string {
  if (before === after) return '';
  const a = splitLines(before);
  const b = splitLines(after);
  // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  const lcs: Uint32Array[] = Array.from(
    { length: a.length + 1 },
    () => new Uint32Array(b.length + 1),
  );
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      const row = lcs[i] as Uint32Array;
      row[j] =
        a[i] === b[j]
          ? (lcs[i + 1]?.[j + 1] ?? 0) + 1
          : Math.max(lcs[i + 1]?.[j] ?? 0, row[j + 1] ?? 0);
    }
  }
  type Op = { kind: ' ' | '-' | '+'; line: string; ai: number; bi: number };
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push({ kind: ' ', line: a[i] as string, ai: i++, bi: j++ });
    } else if (
      i < a.length &&
      (j >= b.length || (lcs[i + 1]?.[j] ?? 0) >= (lcs[i]?.[j + 1] ?? 0))
    ) {
      ops.push({ kind: '-', line: a[i] as string, ai: i++, bi: j });
    } else {
      ops.push({ kind: '+', line: b[j] as string, ai: i, bi: j++ });
    }
  }
  const out = [`--- a/${name}`, `+++ b/${name}`];
  const changed = ops.flatMap((o, n) => (o.kind === ' ' ? [] : [n]));
  let c = 0;
  while (c < changed.length) {
    // One hunk: changes less than 2 * context unchanged lines apart, with context around them.
    let last = c;
    while (
      last + 1 < changed.length &&
      (changed[last + 1] as number) - (changed[last] as number) - 1 <= 2 * context
    ) {
      last++;
    }
    const from = Math.max(0, (changed[c] as number) - context);
    const to = Math.min(ops.length, (changed[last] as number) + 1 + context);
    const hunk = ops.slice(from, to);
    const first = hunk[0] as Op;
    const aCount = hunk.filter((o) => o.kind !== '+').length;
    const bCount = hunk.filter((o) => o.kind !== '-').length;
    out.push(
      `@@ -${aCount === 0 ? first.ai : first.ai + 1},${aCount} +${bCount === 0 ? first.bi : first.bi + 1},${bCount} @@`,
    );
    for (const o of hunk) out.push(`${o.kind}${o.line}`);
    c = last + 1;
  }
  return `${out.join('\n')}\n`;
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}
