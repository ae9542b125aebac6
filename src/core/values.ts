// How a received value is examined and quoted in a message: one home for the helpers every
// parser needs (core parsers, the state file, the config loader). Pure.

/** A plain object (a JSON/YAML mapping): not null, not an array. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What JSON calls a value's type: `null`, `array`, or its typeof. */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** The longest quote of a value in a message, so a huge input cannot flood a log line. */
const MAX_SHOWN = 80;

/**
 * Quote a received value for a message: JSON (a string keeps its quotes), `12n` for a bigint,
 * `undefined` for nothing, cut to 80 characters.
 */
export function showValue(value: unknown): string {
  let text: string;
  if (typeof value === 'bigint') text = `${value}n`;
  else if (value === undefined) text = 'undefined';
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value); // a cycle
    }
  }
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 3)}...` : text;
}
