// Types for check-imports.mjs, so the TypeScript tests can import its functions.

export declare function importSpecifiers(text: string): string[];
export declare function checkImports(
  srcDir: string,
  options?: { devDependencies?: string[] },
): {
  edges: Map<string, Map<string, string>>;
  problems: string[];
};
export declare function checkTestkitNotShipped(root: string): string[];
export declare function checkArchitectureArrows(
  text: string,
  edges: Map<string, Map<string, string>>,
): string[];
