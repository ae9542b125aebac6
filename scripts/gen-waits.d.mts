// Types for gen-waits.mjs, so the TypeScript tests can import its functions.

import type { WaitSpec } from '../src/core/decide/deadlines.js';

export declare const START: string;
export declare const END: string;
export declare function renderWaits(waits: Readonly<Record<string, WaitSpec>>): string;
export declare function replaceWaits(doc: string, generated: string): string;
