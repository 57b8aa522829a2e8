/**
 * Reads one config file into plain data, keeping enough of the source to point at lines. YAML and JSON
 * go through the `yaml` parser (JSON is YAML), so both report line numbers; .js/.mjs/.cjs/.ts files are
 * imported and their default export used; package.json contributes its `mtlzoo` key.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { ConfigError } from '../errors.js';
import { importUserModule } from '../util/user-module.js';

export interface ConfigSource {
  /** Absolute path. */
  readonly file: string;
  readonly data: unknown;
  /** 1-based line of the value at `keyPath`, when the format keeps positions. */
  lineOf(keyPath: readonly (string | number)[]): number | undefined;
}

export const PACKAGE_JSON_KEY = 'mtlzoo';
const SCRIPT_EXTENSIONS = new Set(['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts']);

export async function readConfigSource(file: string, displayName: string): Promise<ConfigSource> {
  const extension = path.extname(file).toLowerCase();
  if (SCRIPT_EXTENSIONS.has(extension)) return readScript(file, displayName);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError([
      { file: displayName, path: '', message: `cannot read file: ${(error as Error).message}` },
    ]);
  }
  const lineCounter = new LineCounter();
  const isJson = extension === '.json';
  // JSON is read by the YAML parser (for line numbers) under its JSON schema, which refuses what JSON does.
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    ...(isJson ? { schema: 'json' as const } : {}),
  });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({
        file: displayName,
        path: '',
        message: `invalid ${isJson ? 'JSON' : 'YAML'} at line ${lineCounter.linePos(e.pos[0]).line}: ${firstLine(e.message)}`,
      })),
    );
  }
  if (isJson) checkStrictJson(text, displayName);
  const root: unknown = doc.toJS();
  const isPackageJson = path.basename(file) === 'package.json';
  const data = isPackageJson ? (root as Record<string, unknown> | null)?.[PACKAGE_JSON_KEY] : root;
  const prefix = isPackageJson ? [PACKAGE_JSON_KEY] : [];
  return {
    file,
    data: data ?? {},
    lineOf: (keyPath) => lineOfNode(doc, lineCounter, [...prefix, ...keyPath]),
  };
}

/** Offset of the first comma that closes nothing but a `}` or `]` (outside strings), if any. */
function trailingComma(text: string): number | undefined {
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === ',' && /^\s*[}\]]/.test(text.slice(i + 1))) return i;
  }
  return undefined;
}

/**
 * JSON files are JSON. The YAML parser (used for its line numbers) accepts more (a trailing comma, a
 * comment, single quotes), so once it has read the file, JSON.parse must accept it too.
 */
function checkStrictJson(text: string, displayName: string): void {
  try {
    JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const comma = trailingComma(text);
    const position = /at position (\d+)/.exec(message);
    const offset = comma ?? (position ? Number(position[1]) : undefined);
    const where = offset === undefined ? '' : ` at line ${text.slice(0, offset).split('\n').length}`;
    const what =
      comma !== undefined
        ? 'a trailing comma (JSON allows none)'
        : message.replace(/ in JSON at position \d+.*$/, '').replace(/, ".*" is not valid JSON$/s, '');
    throw new ConfigError([{ file: displayName, path: '', message: `invalid JSON${where}: ${what}` }]);
  }
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

function lineOfNode(
  doc: Document,
  counter: LineCounter,
  keyPath: readonly (string | number)[],
): number | undefined {
  // The deepest existing node on the path: a missing key points at its parent mapping.
  for (let depth = keyPath.length; depth >= 0; depth--) {
    const node = doc.getIn(keyPath.slice(0, depth), true);
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

async function readScript(file: string, displayName: string): Promise<ConfigSource> {
  let moduleExports: Record<string, unknown>;
  try {
    moduleExports = await importUserModule(file);
  } catch (error) {
    throw new ConfigError([
      { file: displayName, path: '', message: `cannot load: ${firstLine((error as Error).message)}` },
    ]);
  }
  if (moduleExports.default === undefined) {
    const names = Object.keys(moduleExports);
    throw new ConfigError([
      {
        file: displayName,
        path: '',
        message:
          'the module has no default export: a script config exports its config as `export default { … }` ' +
          `(or module.exports = { … })${names.length ? `; it exports only: ${names.join(', ')}` : ''}`,
      },
    ]);
  }
  return { file, data: moduleExports.default, lineOf: () => undefined };
}
