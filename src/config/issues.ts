/**
 * Turns zod issues into short, located messages: `hbr.yaml:12:5: sources[1].port: expected a
 * whole number, got text "x"`.
 * @module
 */
import type { Document, LineCounter } from 'yaml';
import type { z } from 'zod';
import { closest, knownKeysAt } from './known-keys.ts';
import { formatPath, locate, type Position } from './locate.ts';

/** One problem in the config file, with where it is. */
export interface ConfigIssue extends Position {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/**
 * Per-parse zod error map: plain-language messages. Schema-level messages (set where a rule
 * needs explaining) take precedence over these, as zod v4 defines.
 */
export const configErrorMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `expected ${typeName(issue.expected)}, got ${describe(issue.input)}`;
    case 'invalid_value':
      return issue.values.length === 1
        ? `expected ${JSON.stringify(issue.values[0])}, got ${describe(issue.input)}`
        : `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(issue.input)}`;
    case 'too_small':
      if (issue.origin === 'string') return 'must not be empty';
      if (issue.origin === 'array') return `needs at least ${String(issue.minimum)} entries`;
      return `must be at least ${String(issue.minimum)}`;
    case 'too_big':
      if (issue.origin === 'array') return `takes at most ${String(issue.maximum)} entries`;
      return `must be at most ${String(issue.maximum)}`;
    default:
      return undefined;
  }
};

/**
 * Locates every zod issue in the YAML text. An unknown-keys issue becomes one issue per key,
 * each pointing at that key and suggesting the nearest valid key. Sorted by position.
 */
export function locateIssues(
  issues: readonly z.core.$ZodIssue[],
  doc: Document,
  lineCounter: LineCounter,
  schema: z.ZodType,
): ConfigIssue[] {
  const located: ConfigIssue[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, issue.path);
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        located.push({
          ...locate(doc, lineCounter, path, { key: true }),
          path,
          message: unknownKey(key, known),
        });
      }
    } else {
      located.push({
        ...locate(doc, lineCounter, issue.path),
        path: issue.path,
        message: issue.message,
      });
    }
  }
  return located.sort((a, b) => a.line - b.line || a.col - b.col);
}

/** `file:line:col: path: message`, the form editors and terminals turn into links. */
export function formatIssue(file: string, issue: ConfigIssue): string {
  const where = formatPath(issue.path);
  return `${file}:${issue.line}:${issue.col}: ${where ? `${where}: ` : ''}${issue.message}`;
}

// --- internal ---

function unknownKey(key: string, known: readonly string[]): string {
  const guess = closest(key, known);
  if (guess) return `unknown key "${key}" (did you mean "${guess}"?)`;
  return known.length > 0
    ? `unknown key "${key}" (expected one of: ${known.join(', ')})`
    : `unknown key "${key}"`;
}

function typeName(expected: string): string {
  const names: Record<string, string> = {
    int: 'a whole number',
    number: 'a number',
    string: 'text',
    boolean: 'true or false',
    object: 'a mapping (key: value lines)',
    array: 'a list',
  };
  return names[expected] ?? expected;
}

function describe(input: unknown): string {
  if (input === null) return 'an empty value';
  if (Array.isArray(input)) return 'a list';
  switch (typeof input) {
    case 'string':
      return `text ${JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}…` : input)}`;
    case 'number':
      return `${Number.isInteger(input) ? '' : 'the number '}${String(input)}`;
    case 'boolean':
      return String(input);
    case 'object':
      return 'a mapping';
    default:
      return typeof input;
  }
}
