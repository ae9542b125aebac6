// Types for check-imports.mjs, so the TypeScript tests can import its functions.

export declare function importSpecifiers(text: string): string[];
export declare function checkImports(srcDir: string): {
  edges: Map<string, Map<string, string>>;
  problems: string[];
};
