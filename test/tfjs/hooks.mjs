/**
 * Module hooks that load tfjs's ES2017 module trees (`dist/**\/*.js` of tfjs-core, -backend-cpu and
 * -backend-wasm) as one tfjs instance: the shipped op tests import `../index`, and the project's kernels,
 * which import `@tensorflow/tfjs`, must register into that same engine. The trees are ES modules written
 * for a bundler: extensionless relative imports, bare imports of each other, and a `require` here and there.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../../node_modules/@tensorflow/', import.meta.url);
const TREES = {
  'tfjs-core': 'tfjs-core',
  'tfjs-backend-cpu': 'tfjs-backend-cpu',
  'tfjs-backend-wasm': 'tfjs-backend-wasm',
};
/** `@tensorflow/tfjs` (what the project imports) is tfjs-core with the cpu backend registered. */
const UMBRELLA = new URL('./tfjs-umbrella.mjs', import.meta.url).href;

function inTree(url) {
  return (
    url !== undefined &&
    url.startsWith(root.href) &&
    /^[^/]+\/dist\//.test(url.slice(root.href.length)) &&
    !url.includes('/wasm-out/')
  );
}

/** A file of a tree, as the bundler would find it: `x` → `x.js`, or `x/index.js`. */
function completed(url) {
  const path = fileURLToPath(url);
  if (path.endsWith('.js') && existsSync(path)) return url;
  if (existsSync(`${path}.js`)) return `${url}.js`;
  if (existsSync(`${path}/index.js`)) return `${url}/index.js`;
  return url;
}

export async function resolve(specifier, context, next) {
  if (specifier === '@tensorflow/tfjs') return { url: UMBRELLA, shortCircuit: true, format: 'module' };
  const bare = /^@tensorflow\/([^/]+)(\/.*)?$/.exec(specifier);
  if (bare && TREES[bare[1]] !== undefined) {
    const url = new URL(`${TREES[bare[1]]}${bare[2] ?? '/dist/index'}`, root).href;
    return { url: completed(url), shortCircuit: true, format: 'module' };
  }
  if (inTree(context.parentURL) && specifier.startsWith('.')) {
    const url = completed(new URL(specifier, context.parentURL).href);
    if (inTree(url)) return { url, shortCircuit: true, format: 'module' };
    return next(url, context);
  }
  return next(specifier, context);
}

/** The trees call `require` (jasmine-core, worker_threads) from module code, as their bundler allowed. */
const REQUIRE_SHIM =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);\n";

/**
 * `import * as x from 'seedrandom'` of a CommonJS package: a bundler binds x to `module.exports`, Node to a
 * namespace that may lack its properties; the default import is what the bundler meant.
 */
const NAMESPACE_OF_PACKAGE = /import \* as (\w+) from '([^.@][^']*)'/g;

export async function load(url, context, next) {
  if (!inTree(url)) return next(url, context);
  const result = await next(url, { ...context, format: 'module' });
  let source = String(result.source).replace(NAMESPACE_OF_PACKAGE, "import $1 from '$2'");
  if (/\brequire\s*[(.]/.test(source)) source = REQUIRE_SHIM + source;
  return { format: 'module', source, shortCircuit: true };
}
