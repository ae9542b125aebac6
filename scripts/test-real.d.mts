// Types for test-real.mjs, so the TypeScript tests can import its parser.

export declare function tapSkips(text: string): { count: number; lines: string[] };
