// Types for real-preflight.mjs, so testkit/real-litefs.ts and the TypeScript tests can use it.

export declare const SHARED_LITEFS: string;
export declare function onPath(name: string, env?: NodeJS.ProcessEnv): string | undefined;
export declare function findLitefs(env?: NodeJS.ProcessEnv): { bin: string } | { missing: string };
export declare function findConsulStandin(
  env?: NodeJS.ProcessEnv,
): { script: string } | { missing: string };
export declare function realPreflight(env?: NodeJS.ProcessEnv): {
  found: string[];
  missing: string[];
};
