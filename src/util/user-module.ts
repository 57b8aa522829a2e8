/**
 * Imports a user's module: a config script or a plugin. mtlzoo itself runs as built JavaScript; only a
 * user's TypeScript goes through a TypeScript loader (tsx), registered once per process the first time
 * such a file is imported. Registered for the whole process (not tsx's scoped `tsImport`, which would give
 * the user's file its own copy of every module it imports, mtlzoo included), it leaves modules already
 * loaded as they are: there stays one mtlzoo in the process, the one running.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const TYPESCRIPT_FILE = /\.(?:[cm]?ts|tsx)$/i;

let typeScriptLoader: Promise<void> | undefined;

async function enableTypeScript(): Promise<void> {
  // Running from its TypeScript sources (development, mtlzoo's own tests), mtlzoo already has a loader.
  if (import.meta.url.endsWith('.ts')) return;
  typeScriptLoader ??= import('tsx/esm/api').then(({ register }) => void register());
  await typeScriptLoader;
}

/** The nearest package.json from `dir` up, and whether it declares `"type": "module"`. */
async function packageType(dir: string): Promise<{ file?: string; module: boolean }> {
  for (let current = dir; ; current = path.dirname(current)) {
    const file = path.join(current, 'package.json');
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) {
      try {
        return { file, module: (JSON.parse(text) as { type?: unknown }).type === 'module' };
      } catch {
        return { file, module: false };
      }
    }
    if (path.dirname(current) === current) return { module: false };
  }
}

const ESM_SYNTAX = /^\s*(?:export\s+(?:default|const|let|var|function|class|\{|\*)|import\s+[\w*{'"])/m;

/**
 * Why a module failed to load, in its author's terms, when the cause is the common one: ES module syntax in
 * a `.js` or `.ts` file that Node (and tsx) load as CommonJS, because no package.json above it says
 * `"type": "module"`. Node's own message ("Cannot require() ES Module … in a cycle") names neither fix.
 */
async function moduleFormatProblem(file: string): Promise<string | undefined> {
  const extension = path.extname(file).toLowerCase();
  if (extension !== '.js' && extension !== '.ts') return undefined;
  const source = await readFile(file, 'utf8').catch(() => '');
  const pkg = await packageType(path.dirname(file));
  if (!ESM_SYNTAX.test(source) || pkg.module) return undefined;
  const where = pkg.file ? `to ${pkg.file}` : 'to a package.json in its folder';
  const rename = extension === '.js' ? '.mjs' : '.mts';
  return (
    `it uses ES module syntax (export/import), but Node loads a ${extension} file as CommonJS unless the ` +
    `nearest package.json says "type": "module"; add "type": "module" ${where}, or rename the file to ${rename}`
  );
}

/** The module at `file` (absolute path), TypeScript included; errors explain a module-format mismatch. */
export async function importUserModule(file: string): Promise<Record<string, unknown>> {
  if (TYPESCRIPT_FILE.test(file)) await enableTypeScript();
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    const problem = await moduleFormatProblem(file);
    if (problem) throw new Error(problem, { cause: error });
    throw error;
  }
}
