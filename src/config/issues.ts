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

export interface SchemaDef {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  options?: z.ZodType[];
  discriminator?: string;
  values?: unknown[];
}

/** The definition zod keeps on every schema (its internal shape, typed as far as we read it). */
export const defOf = (schema: z.ZodType): SchemaDef => (schema as unknown as { def: SchemaDef }).def;

/**
 * The schema that checks `value`: looks through defaults, optionals, nullables and transforms, and picks a
 * discriminated union's option by the discriminator in `value`. Stops early at a schema `stop` accepts.
 */
export function resolveSchema(
  schema: z.ZodType,
  value: unknown,
  stop: (schema: z.ZodType) => boolean = () => false,
): z.ZodType {
  let current = schema;
  for (;;) {
    if (stop(current)) return current;
    const def = defOf(current);
    if (def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.in) current = def.in;
    else if (def.type === 'union' && def.discriminator && isPlainObject(value)) {
      const tag = value[def.discriminator];
      const option = def.options?.find((o) =>
        defOf(defOf(o).shape?.[def.discriminator!] ?? o).values?.includes(tag),
      );
      if (!option) return current;
      current = option;
    } else return current;
  }
}

/** The schema that checks the value at `keyPath` of `data`, or undefined where it cannot be followed. */
function schemaAt(schema: z.ZodType, data: unknown, keyPath: KeyPath): z.ZodType | undefined {
  let node: z.ZodType | undefined = schema;
  for (let depth = 0; depth < keyPath.length; depth++) {
    if (!node) return undefined;
    const def = defOf(resolveSchema(node, valueAt(data, keyPath.slice(0, depth))));
    const key = keyPath[depth]!;
    node = typeof key === 'number' ? def.element : def.shape?.[key];
  }
  return node && resolveSchema(node, valueAt(data, keyPath));
}

/** Keys a strict object schema accepts at `keyPath` (an optimiser's keys follow its `type`). */
function knownKeysAt(schema: z.ZodType, data: unknown, keyPath: KeyPath): string[] {
  const node = schemaAt(schema, data, keyPath);
  const shape = node && defOf(node).shape;
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

function alternatives(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((i) =>
    i.code === 'invalid_value'
      ? i.values.map((v) => JSON.stringify(v))
      : i.code === 'invalid_type'
        ? [expectedText(i.expected)]
        : [],
  );
}

function oneOf(options: readonly string[]): string {
  const unique = [...new Set(options)];
  return unique.length > 1
    ? `${unique.slice(0, -1).join(', ')} or ${unique.at(-1)}`
    : (unique[0] ?? 'another value');
}

/** `, got …` for scalars; a list or mapping is not worth describing in a message about its contents. */
function got(value: unknown): string {
  return value !== null && typeof value === 'object' ? '' : `, got ${describe(value)}`;
}

/**
 * Turns zod's issues into path issues. `owner` (e.g. `method "separate"`) names whose options `schema`
 * checks, for messages about the options as a whole.
 */
export function zodIssues(
  schema: z.ZodType,
  error: { issues: readonly z.core.$ZodIssue[] },
  data: unknown,
  base: KeyPath = [],
  owner?: string,
): PathIssue[] {
  const out: PathIssue[] = [];
  for (const issue of error.issues) {
    const at = issue.path.filter((k): k is string | number => typeof k !== 'symbol');
    const value = valueAt(data, at);
    switch (issue.code) {
      case 'unrecognized_keys': {
        const known = knownKeysAt(schema, data, at);
        for (const key of issue.keys) {
          const hint = closestMatch(key, known);
          const none = known.length === 0 && at.length === 0 && owner ? `: ${owner} takes no options` : '';
          out.push({
            path: [...base, ...at, key],
            message:
              `unknown key${none}` +
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
      case 'invalid_union': {
        const branches = issue.errors;
        // A discriminated union whose tag matched no option lists the tags.
        const tags = (issue as { options?: unknown[] }).options;
        if (branches.length === 0) {
          const expected = tags ? oneOf(tags.map((t) => JSON.stringify(t))) : issue.message;
          out.push({ path: [...base, ...at], message: `expected ${expected}, got ${describe(value)}` });
          break;
        }
        // The branch whose type the value has explains what is wrong inside it; otherwise list the forms.
        const index = branches.findIndex((b) =>
          b.some((i) => i.path.length > 0 || (i.code !== 'invalid_type' && i.code !== 'invalid_value')),
        );
        if (index >= 0) {
          const union = schemaAt(schema, data, at);
          const branch = (union && defOf(union).options?.[index]) ?? schema;
          out.push(...zodIssues(branch, { issues: branches[index]! }, value, [...base, ...at], owner));
        } else {
          out.push({
            path: [...base, ...at],
            message: `expected ${oneOf(branches.flatMap(alternatives))}, got ${describe(value)}`,
          });
        }
        break;
      }
      default:
        out.push({
          path: [...base, ...at],
          message: value === undefined ? issue.message : `${issue.message}${got(value)}`,
        });
    }
  }
  return out;
}
