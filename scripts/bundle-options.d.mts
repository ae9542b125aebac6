// Types for bundle-options.mjs, so the TypeScript tests can read what the bundle keeps.

/** The CommonJS module the bundle puts in place of `undici` (its Pool and Client only). */
export declare const UNDICI_SUBSET: string;
