// Types for gen-config-reference.mjs, so the TypeScript tests can import its functions.

import type { OptionSpec } from '../src/config/option.js';

export declare const START: string;
export declare const END: string;
export declare function renderConfigReference(options: readonly OptionSpec[]): string;
export declare function replaceBetween(
  doc: string,
  start: string,
  end: string,
  generated: string,
): string;
export declare function replaceReference(doc: string, generated: string): string;
