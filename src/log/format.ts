// Turns one pino JSON record into the line we print. logfmt is the default because it reads
// like LiteFS's own lines in the same `fly logs` stream (docs/design.md section 8):
//   level=INFO msg="primary with synced database, running migrations" event=migrate.start db=sqlite.db

import type { LogFormat } from '../config/types.js';

const FIRST_KEYS = ['level', 'msg', 'event'];
const DROPPED = new Set(['time', 'hostname', 'v']);

function logfmtValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  let text: string;
  if (typeof value === 'string') text = value;
  else if (value && typeof value === 'object' && 'message' in value && 'type' in value) {
    // a pino-serialised error: its message is what a reader of fly logs needs
    text = String((value as { message: unknown }).message);
  } else text = JSON.stringify(value);
  return text === '' || /[\s"=\\]/.test(text) || /[\x00-\x1f]/.test(text)
    ? JSON.stringify(text)
    : text;
}

function orderedEntries(record: Record<string, unknown>): [string, unknown][] {
  const first = FIRST_KEYS.filter((k) => k in record).map((k): [string, unknown] => [k, record[k]]);
  const rest = Object.entries(record).filter(([k]) => !FIRST_KEYS.includes(k) && !DROPPED.has(k));
  return [...first, ...rest];
}

export function formatLogfmt(record: Record<string, unknown>): string {
  return orderedEntries(record)
    .map(([k, v]) => `${k}=${k === 'level' ? String(v).toUpperCase() : logfmtValue(v)}`)
    .join(' ');
}

export function formatPretty(record: Record<string, unknown>, at: Date): string {
  const time = at.toISOString().slice(11, 23);
  const level = String(record.level ?? '')
    .toUpperCase()
    .padEnd(5);
  const rest = orderedEntries(record)
    .filter(([k]) => k !== 'level' && k !== 'msg')
    .map(([k, v]) => `${k}=${logfmtValue(v)}`)
    .join(' ');
  return `${time} ${level} ${String(record.msg ?? '')}${rest ? `  ${rest}` : ''}`;
}

/** One output line (with its newline) for a pino JSON line. */
export function formatRecord(json: string, format: LogFormat, at: Date): string {
  if (format === 'json') return json.endsWith('\n') ? json : `${json}\n`;
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  return `${format === 'pretty' ? formatPretty(record, at) : formatLogfmt(record)}\n`;
}

/** Read one logfmt line back (values bare or JSON-quoted); undefined when it is not one. */
export function parseLogfmt(line: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  const re = /([A-Za-z_][\w.]*)=("(?:[^"\\]|\\.)*"|\S*)/g;
  let m: RegExpExecArray | null = re.exec(line);
  if (m?.index !== 0) return undefined;
  while (m) {
    const raw = m[2] ?? '';
    out[m[1]!] = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    m = re.exec(line);
  }
  return out.level && out.event ? out : undefined;
}
