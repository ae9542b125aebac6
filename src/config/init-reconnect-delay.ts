// `litefs-supervisor init`'s edit of `lease.reconnect-delay` (docs/design.md section 1, "init").
// On a Consul lease the running nodes look for a free lease only every reconnect-delay (LiteFS's
// default 1s): after the primary's session expires, a machine that has just started with an older
// database can take the lease first, and LiteFS then replaces the others' newer databases with its
// copy (docs/litefs-facts.md, "A free lease goes to the first candidate"). The supervisor runs
// only after LiteFS took the lease, so the file is the fix: "100ms", as litefs.yml.example has.
// Pure: the text as written in, one edit by the ranges the `yaml` package gives out.

import { type Document, isMap, isScalar, type Node, type Pair, parseDocument } from 'yaml';
import { isRecord } from '../core/values.js';
import { goDurationOf, LITEFS_DEFAULT_RECONNECT_DELAY_MS } from './litefs-yml.js';

/** The value init writes (README and litefs.yml.example recommend it). */
export const RECOMMENDED_RECONNECT_DELAY = '100ms';

export interface TextEdit {
  start: number;
  end: number;
  text: string;
}

export type ReconnectDelayChange =
  | { kind: 'none' }
  | { kind: 'edit'; edit: TextEdit; note: string }
  | { kind: 'problem'; problem: string };

const WHY =
  'the running nodes look for a free lease within 100 ms, before a machine that has just started with an older database can take it';

function pairOf(map: { items: Pair[] }, key: string): Pair | undefined {
  return map.items.find((p) => isScalar(p.key) && p.key.value === key);
}

function lineStart(text: string, at: number): number {
  return text.lastIndexOf('\n', at - 1) + 1;
}

/**
 * The edit that gives a Consul lease `reconnect-delay: "100ms"`: added when absent or empty,
 * changed when 1s or more; none for another lease type, a value below 1s, or one that comes
 * from the environment (`${...}`: only the machine knows it). A value LiteFS refuses is a problem.
 */
export function reconnectDelayChange(doc: Document, text: string): ReconnectDelayChange {
  const lease = doc.get('lease', true);
  if (!isMap(lease)) return { kind: 'none' };
  const type = pairOf(lease, 'type');
  if (!type || !isScalar(type.value) || type.value.value !== 'consul') return { kind: 'none' };
  const quoted = `"${RECOMMENDED_RECONNECT_DELAY}"`;
  const pair = pairOf(lease, 'reconnect-delay');
  const value = (pair?.value ?? null) as Node | null;

  if (!pair) {
    const key = type.key as Node;
    const keyStart = key.range?.[0] ?? 0;
    if (lease.flow) {
      return {
        kind: 'edit',
        edit: { start: keyStart, end: keyStart, text: `reconnect-delay: ${quoted}, ` },
        note: `lease.reconnect-delay: not set (LiteFS's default 1s) -> ${quoted}: ${WHY}`,
      };
    }
    // A line of its own right after `type: consul`, at its indentation.
    const indent = text.slice(lineStart(text, keyStart), keyStart);
    const eol = text.includes('\r\n') ? '\r\n' : '\n';
    const typeEnd = (type.value as Node).range?.[1] ?? keyStart;
    const nl = text.indexOf('\n', typeEnd);
    const line = `${indent}reconnect-delay: ${quoted}`;
    const edit =
      nl === -1
        ? { start: text.length, end: text.length, text: `${eol}${line}` }
        : { start: nl + 1, end: nl + 1, text: `${line}${eol}` };
    return {
      kind: 'edit',
      edit,
      note: `lease.reconnect-delay: not set (LiteFS's default 1s) -> ${quoted}: ${WHY}`,
    };
  }

  if (value !== null && !isScalar(value)) {
    return {
      kind: 'problem',
      problem: `lease.reconnect-delay is not a duration (LiteFS refuses it); write for example reconnect-delay: ${quoted}`,
    };
  }
  const v = value?.value ?? null;
  if (typeof v === 'string' && v.includes('$')) return { kind: 'none' };
  const read = goDurationOf(v, 'lease.reconnect-delay');
  if (!read.ok) {
    return { kind: 'problem', problem: `${read.error} (LiteFS refuses it)` };
  }
  if (read.value !== undefined && read.value.ms < LITEFS_DEFAULT_RECONNECT_DELAY_MS) {
    return { kind: 'none' };
  }
  const range = value?.range;
  const at = range?.[0] ?? ((pair.key as Node).range?.[1] ?? 0) + 1;
  const end = range?.[1] ?? at;
  // An empty value (`reconnect-delay:`) sits where the next token would: keep a space each side.
  const before = end === at && text[at - 1] === ':' ? ' ' : '';
  const after = end === at && text[at] === '#' ? ' ' : '';
  const old = read.value === undefined ? "empty (LiteFS's default 1s)" : read.value.text;
  return {
    kind: 'edit',
    edit: { start: at, end, text: `${before}${quoted}${after}` },
    note: `lease.reconnect-delay: ${old} -> ${quoted}: ${WHY}`,
  };
}

/** undefined when `newText`'s lease reads reconnect-delay "100ms" as YAML; else what is wrong. */
export function checkReconnectDelay(newText: string): string | undefined {
  const doc = parseDocument(newText, { prettyErrors: false });
  if (doc.errors.length > 0) return `the new file is not valid YAML: ${doc.errors[0]?.message}`;
  const root: unknown = doc.toJS();
  const lease = isRecord(root) ? root.lease : undefined;
  const got = isRecord(lease) ? lease['reconnect-delay'] : undefined;
  return got === RECOMMENDED_RECONNECT_DELAY
    ? undefined
    : `lease.reconnect-delay would be ${JSON.stringify(got)}, not "${RECOMMENDED_RECONNECT_DELAY}"`;
}
