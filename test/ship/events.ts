// The log events the supervisor can emit, read from src/ with the TypeScript parser, so the
// registry (src/log/events.ts) and docs/logs.md can be checked against the code. An event name is
// a string (or a `${...kind}.x` template) passed to a logger in one of these forms:
// - a call whose argument before it is a level: `d.log('warn', 'x.y', ...)`,
//   `d.exit(code, 'error', 'x.y', ...)`, a step's own helper `endHandover(d, 'warn', 'x.y', ...)`;
// - decide's phase helpers `d.enter/waitIn/waitFor(..., 'x.y', { level })` (`this.` inside the
//   Draft): the level is the fields' `level`, `info` when there is none;
// - a property `event: 'x.y'` in an object, as the adapters pass to the logger
//   (`logger.log('info', { event: 'x.y' }, msg)`): the level is the call's argument before it,
//   or the object's own `level`.
// A level is a string literal or a conditional between two; anything else is `undefined`.
// Templates like `${cmd.kind}.done` stand for one event per command kind (setup, migrate, before).
// The fakes and the simulated cluster live in testkit/, outside src/, so none is read here.

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import type { LogLevel } from '../../src/core/state.js';

export const EVENT_NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*\.[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
export const COMMAND_KINDS = ['setup', 'migrate', 'before'] as const;
const LEVELS = new Set<string>(['debug', 'info', 'warn', 'error']);
const PHASE_HELPERS = new Set(['enter', 'waitIn', 'waitFor']);

export interface EmittedEvent {
  /** `migrate.done`; for a template, `<kind>.done`. */
  name: string;
  /** True when the name came from a `${...kind}.x` template. */
  perKind: boolean;
  /** The levels it is logged at here; undefined when the level is not a literal. */
  levels: LogLevel[] | undefined;
  where: string;
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return files(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

function nameOf(e: ts.Expression): { name: string; perKind: boolean } | undefined {
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

function levelsOf(e: ts.Expression | undefined): LogLevel[] | undefined {
  if (e === undefined) return undefined;
  if (ts.isStringLiteral(e)) return LEVELS.has(e.text) ? [e.text as LogLevel] : undefined;
  if (ts.isParenthesizedExpression(e)) return levelsOf(e.expression);
  if (ts.isConditionalExpression(e)) {
    const a = levelsOf(e.whenTrue);
    const b = levelsOf(e.whenFalse);
    return a && b ? [...new Set([...a, ...b])] : undefined;
  }
  return undefined;
}

function property(o: ts.ObjectLiteralExpression, key: string): ts.Expression | undefined {
  for (const p of o.properties) {
    if (
      ts.isPropertyAssignment(p) &&
      (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name)) &&
      p.name.text === key
    ) {
      return p.initializer;
    }
  }
  return undefined;
}

function calleeName(call: ts.CallExpression): string {
  const e = call.expression;
  if (ts.isPropertyAccessExpression(e)) return e.name.text;
  return ts.isIdentifier(e) ? e.text : '';
}

/** `d.x(...)` or `this.x(...)`: decide's Draft helpers. */
function onDraft(call: ts.CallExpression): boolean {
  const e = call.expression;
  return (
    ts.isPropertyAccessExpression(e) &&
    (e.expression.kind === ts.SyntaxKind.ThisKeyword ||
      (ts.isIdentifier(e.expression) && e.expression.text === 'd'))
  );
}

/** The levels of an event argument at `index` of `call`, or undefined when not a log call. */
function callLevels(call: ts.CallExpression, index: number): LogLevel[] | 'not-a-log' | undefined {
  const before = levelsOf(call.arguments[index - 1]);
  if (before) return before;
  const name = calleeName(call);
  if (onDraft(call) && PHASE_HELPERS.has(name)) {
    const fields = call.arguments[index + 1];
    if (fields === undefined || !ts.isObjectLiteralExpression(fields)) return ['info'];
    const level = property(fields, 'level');
    return level === undefined ? ['info'] : levelsOf(level);
  }
  if (onDraft(call) && (name === 'log' || name === 'exit')) return undefined;
  return 'not-a-log';
}

export function emittedEvents(srcDir: string): EmittedEvent[] {
  const found: EmittedEvent[] = [];
  for (const file of files(srcDir)) {
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    const add = (e: ts.Expression, levels: LogLevel[] | undefined) => {
      const r = nameOf(e);
      if (!r) return;
      const { line } = sf.getLineAndCharacterOfPosition(e.getStart());
      found.push({ ...r, levels, where: `src/${relative(srcDir, file)}:${line + 1}` });
    };
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node)) {
        node.arguments.forEach((arg, i) => {
          if (ts.isObjectLiteralExpression(arg)) return;
          const levels = callLevels(node, i);
          if (levels !== 'not-a-log') add(arg, levels);
        });
      }
      if (ts.isObjectLiteralExpression(node)) {
        const event = property(node, 'event');
        if (event !== undefined) {
          const call = node.parent;
          const fromCall =
            ts.isCallExpression(call) && call.arguments.includes(node)
              ? levelsOf(call.arguments[call.arguments.indexOf(node) - 1])
              : undefined;
          add(event, fromCall ?? levelsOf(property(node, 'level')));
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return found;
}

/** One event per name: the per-kind templates expanded, the levels of all sites together. */
export interface LoggedEvent {
  name: string;
  /** Every literal level it is logged at; `unknown` when some site's level is not a literal. */
  levels: Set<LogLevel>;
  unknownLevel: boolean;
  where: string[];
}

export function loggedEvents(srcDir: string): Map<string, LoggedEvent> {
  const out = new Map<string, LoggedEvent>();
  for (const e of emittedEvents(srcDir)) {
    const names = e.perKind ? COMMAND_KINDS.map((k) => e.name.replace('<kind>', k)) : [e.name];
    for (const name of names) {
      const entry = out.get(name) ?? { name, levels: new Set(), unknownLevel: false, where: [] };
      for (const l of e.levels ?? []) entry.levels.add(l);
      if (e.levels === undefined) entry.unknownLevel = true;
      entry.where.push(e.where);
      out.set(name, entry);
    }
  }
  return out;
}
