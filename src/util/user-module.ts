/**
 * Imports a user's module: a config script or a plugin. mtlzoo itself runs as built JavaScript; only a
 * user's TypeScript goes through a TypeScript loader (tsx), registered once per process the first time
 * such a file is imported. Registered for the whole process (not tsx's scoped `tsImport`, which would give
 * the user's file its own copy of every module it imports, mtlzoo included), it leaves modules already
 * loaded as they are: there stays one mtlzoo in the process, the one running.
 */
import { existsSync, readFileSync } from 'node:fs';
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

/** Node's codes for ES-module syntax reached through `require`, i.e. a file it took for CommonJS. */
const LOADED_AS_COMMONJS = new Set([
  'ERR_REQUIRE_CYCLE_MODULE',
  'ERR_REQUIRE_ESM',
  'ERR_REQUIRE_ASYNC_MODULE',
]);

/** The package.json whose `type` decides how Node reads `file`, if any. */
function packageScope(file: string): string | undefined {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) return manifest;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * Why a module that uses `import`/`export` failed as CommonJS, and the two fixes: Node (and tsx) read a
 * `.ts`/`.js` file as CommonJS unless its package says `"type": "module"`, and its own message ("Cannot
 * require() ES Module … in a cycle") names neither.
 */
function commonJsHint(file: string, error: unknown): string | undefined {
  const { code, message } = error as { code?: string; message?: string };
  const commonJs =
    LOADED_AS_COMMONJS.has(code ?? '') ||
    (error instanceof SyntaxError && /outside a module|import statement/.test(message ?? ''));
  const extension = path.extname(file);
  if (!commonJs || !['.ts', '.js', '.tsx'].includes(extension)) return undefined;
  const scope = packageScope(file);
  let type: unknown;
  try {
    type = scope ? (JSON.parse(readFileSync(scope, 'utf8')) as { type?: unknown }).type : undefined;
  } catch {
    type = undefined;
  }
  if (type === 'module') return undefined;
  const moduleName = `${path.basename(file, extension)}${extension.startsWith('.t') ? '.mts' : '.mjs'}`;
  const where = scope
    ? `${scope} does not say "type": "module"`
    : 'no package.json above it says "type": "module"';
  return `it uses import/export but Node loads it as CommonJS (${where}); rename it ${moduleName} or add "type": "module" to ${scope ?? 'a package.json in its folder'}`;
}

/** The module at `file` (absolute path), TypeScript included; errors explain a module-format mismatch. */
export async function importUserModule(file: string): Promise<Record<string, unknown>> {
  if (TYPESCRIPT_FILE.test(file)) await enableTypeScript();
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    const hint = commonJsHint(file, error);
    if (hint) throw new Error(hint, { cause: error });
    throw error;
  }
}
