/** Turns zod's issues into messages that say what was expected and what the file holds instead. */
import type { z } from 'zod';
import { closestMatch } from '../errors.js';
import { describe, isPlainObject, type KeyPath } from './resolve.js';

export interface PathIssue {
  path: KeyPath;
  message: string;
}

export function valueAt(data: unknown, keyPath: KeyPath): unknown {
  let node = data;
  for (const key of keyPath) {
    if (isPlainObject(node) || Array.isArray(node)) node = (node as Record<string | number, unknown>)[key];
    else return undefined;
  }
  return node;
}

interface SchemaDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
}

/** Keys a strict object schema accepts at `keyPath`, looking through defaults, optionals and arrays. */
function knownKeysAt(schema: z.ZodType, keyPath: KeyPath): string[] {
  let node: z.ZodType | undefined = schema;
  const unwrap = (s: z.ZodType): z.ZodType => {
    let current = s;
    for (;;) {
      const def = (current as unknown as { def: { type: string; innerType?: z.ZodType } }).def;
      if ((def.type === 'default' || def.type === 'optional' || def.type === 'prefault') && def.innerType) {
        current = def.innerType;
      } else return current;
    }
  };
  for (const key of keyPath) {
    if (!node) return [];
    const def: SchemaDef = (unwrap(node) as unknown as { def: SchemaDef }).def;
    node = typeof key === 'number' ? def.element : def.shape?.[key];
  }
  if (!node) return [];
  const shape = (unwrap(node) as unknown as { def: { shape?: Record<string, z.ZodType> } }).def.shape;
  return shape ? Object.keys(shape) : [];
}

const EXPECTED_TEXT: Record<string, string> = {
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
  int: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
};

function expectedText(expected: string): string {
  return EXPECTED_TEXT[expected] ?? expected;
}

export function zodIssues(
  schema: z.ZodType,
  error: z.ZodError,
  data: unknown,
  base: KeyPath = [],
): PathIssue[] {
  const out: PathIssue[] = [];
  for (const issue of error.issues) {
    const at = issue.path.filter((k): k is string | number => typeof k !== 'symbol');
    const value = valueAt(data, at);
    switch (issue.code) {
      case 'unrecognized_keys': {
        const known = knownKeysAt(schema, at);
        for (const key of issue.keys) {
          const hint = closestMatch(key, known);
          out.push({
            path: [...base, ...at, key],
            message:
              `unknown key` +
              (hint ? ` (did you mean "${hint}"?)` : '') +
              (known.length ? `; expected one of: ${known.join(', ')}` : ''),
          });
        }
        break;
      }
      case 'invalid_type':
        out.push({
          path: [...base, ...at],
          message:
            value === undefined
              ? `required: expected ${expectedText(issue.expected)}`
              : `expected ${expectedText(issue.expected)}, got ${describe(value)}`,
        });
        break;
      default:
        out.push({
          path: [...base, ...at],
          message: value === undefined ? issue.message : `${issue.message}, got ${describe(value)}`,
        });
    }
  }
  return out;
}
