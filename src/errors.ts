/**
 * Errors are codes plus message factories (rollup's logs.ts): code that throws picks a factory, the CLI
 * renders once. Config problems carry `file: dotted.path: what was expected`.
 */

/** Every code an `MtlzooError` may carry; the CLI recognises mtlzoo's errors by these. */
export const ERROR_CODES = [
  'CONFIG_INVALID',
  'CONFIG_NOT_FOUND',
  'PLUGIN_UNKNOWN',
  'PLUGIN_DUPLICATE',
  'PLUGIN_LOAD',
  'PLUGIN_INVALID',
  'PLUGIN_FAILED',
  'PLUGIN_UNTRUSTED',
  'BACKEND_UNAVAILABLE',
  'DATA_INVALID',
  'CHECKPOINT_INVALID',
  'INDEX_INVALID',
  'TRAINING_DIVERGED',
  'FILE_IO',
  'LOCKED',
  'QUEUE_UNAVAILABLE',
  'INTERRUPTED',
  'USAGE',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class MtlzooError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Process exit code the CLI uses for this error. */
    readonly exitCode = 1,
    /** `cause`: the error this one reports (shown with `--debug`). */
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'MtlzooError';
  }
}

/**
 * Whether `value` is an mtlzoo error, recognised by its code rather than its class: a plugin may throw
 * the `MtlzooError` of another copy of mtlzoo (one installed in its own node_modules, say).
 */
export function isMtlzooError(value: unknown): value is MtlzooError {
  if (!(value instanceof Error)) return false;
  const { code, exitCode } = value as Partial<MtlzooError>;
  return (ERROR_CODES as readonly unknown[]).includes(code) && Number.isInteger(exitCode);
}

/** One problem in a config file, located by file and dotted key path. */
export interface ConfigIssue {
  file: string;
  /** Dotted path with list indices in brackets, e.g. `method.options.stages[1]`; '' for the whole file. */
  path: string;
  message: string;
}

export function formatIssue(issue: ConfigIssue): string {
  const where = issue.path ? `${issue.file}: ${issue.path}` : issue.file;
  return `${where}: ${issue.message}`;
}

export class ConfigError extends MtlzooError {
  constructor(readonly issues: readonly ConfigIssue[]) {
    super('CONFIG_INVALID', issues.map(formatIssue).join('\n'), 2);
    this.name = 'ConfigError';
  }
}

/** Renders a key path the way users write it in YAML: `a.b[2].c`. */
export function dottedPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

/** Levenshtein distance, for "did you mean" hints on unknown names. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

export function closestMatch(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  // A hint that needs more edits than half the name is noise.
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 2)) ? best : undefined;
}

/** `loss` → `losses`, `method` → `methods`. */
function plural(noun: string): string {
  return /(?:s|x|ch|sh)$/.test(noun) ? `${noun}es` : `${noun}s`;
}

/** Message factories: one place that words each error. */
export const errors = {
  unknownPlugin(kind: string, name: string, known: readonly string[]): string {
    const hint = closestMatch(name, known);
    return (
      `unknown ${kind} "${name}"` +
      (hint ? ` (did you mean "${hint}"?)` : '') +
      `; known ${plural(kind)}: ${known.length ? known.join(', ') : '(none registered)'}`
    );
  },
  duplicatePlugin(kind: string, name: string, firstSource: string, secondSource: string): string {
    return `${kind} "${name}" is registered twice: by ${firstSource} and by ${secondSource}`;
  },
};
