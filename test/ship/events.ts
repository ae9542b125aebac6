// The log event names the supervisor can emit, read from src/ with the TypeScript parser, so
// docs/deploying.md can be checked for completeness. Two forms carry an event name:
// - a property `event: 'name'` (or a template) in an object, as the adapters pass to the logger;
// - a string argument of decide's helpers `d.log/enter/waitIn/exit(...)` (src/core/decide/,
//   the Draft is `d` in every step; `this.` inside the Draft itself).
// Templates like `${cmd.kind}.done` stand for one event per command kind (`migrate`, `before`).
// The fakes and the simulated cluster live in testkit/, outside src/, so none is read here.

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

export const EVENT_NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*\.[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const HELPERS = new Set(['log', 'enter', 'waitIn', 'exit']);

export interface EmittedEvent {
  /** `migrate.done`; for a template, `<kind>.done`. */
  name: string;
  /** True when the name came from a `${...kind}.x` template. */
  perKind: boolean;
  where: string;
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return files(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

function fromExpression(e: ts.Expression): { name: string; perKind: boolean } | undefined {
  if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) {
    return EVENT_NAME.test(e.text) ? { name: e.text, perKind: false } : undefined;
  }
  if (ts.isTemplateExpression(e) && e.head.text === '' && e.templateSpans.length === 1) {
    const span = e.templateSpans[0] as ts.TemplateSpan;
    const expr = span.expression.getText();
    const suffix = span.literal.text;
    if (/(^|\.)kind$/.test(expr) && /^\.[a-z-]+$/.test(suffix)) {
      return { name: `<kind>${suffix}`, perKind: true };
    }
  }
  return undefined;
}

export function emittedEvents(srcDir: string): EmittedEvent[] {
  const found: EmittedEvent[] = [];
  for (const file of files(srcDir)) {
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    const add = (e: ts.Expression) => {
      const r = fromExpression(e);
      if (!r) return;
      const { line } = sf.getLineAndCharacterOfPosition(e.getStart());
      found.push({ ...r, where: `${relative(srcDir, file)}:${line + 1}` });
    };
    const visit = (node: ts.Node): void => {
      if (
        ts.isPropertyAssignment(node) &&
        (ts.isIdentifier(node.name) || ts.isStringLiteral(node.name)) &&
        node.name.text === 'event'
      ) {
        add(node.initializer);
      }
      if (
        ts.isCallExpression(node) &&
        ts.isPropertyAccessExpression(node.expression) &&
        (node.expression.expression.kind === ts.SyntaxKind.ThisKeyword ||
          (ts.isIdentifier(node.expression.expression) &&
            node.expression.expression.text === 'd')) &&
        HELPERS.has(node.expression.name.text)
      ) {
        for (const arg of node.arguments) add(arg);
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return found;
}
