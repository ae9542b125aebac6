// Types for gen-logs.mjs, so the TypeScript tests can import its functions.

import type { LogEventRow } from '../src/log/events.js';

export declare const START: string;
export declare const END: string;
export declare function renderLogs(
  topics: Readonly<Record<string, string>>,
  events: readonly LogEventRow[],
): string;
export declare function replaceLogs(doc: string, generated: string): string;
