/**
 * `mtlzoo new plugin KIND NAME`: writes a working plugin of any kind, with its contract test, into a plugin
 * project (an npm package of TypeScript plugins), creating the project first when the folder holds none.
 * The plugin and test are the templates in templates/plugin/ (typechecked, linted and tested with mtlzoo
 * itself) with the example's name replaced; the layout is the one docs/plugins.md describes.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MtlzooError } from '../errors.js';
import { AUTO_BACKEND } from '../kinds/backend.js';
import { PLUGIN_NAME_PATTERN } from '../plugin/registry.js';
import { PLUGIN_KINDS, type PluginKind } from '../plugin/types.js';
import { MTLZOO_VERSION, PACKAGE_ROOT } from '../util/package.js';

const TEMPLATES = path.join(PACKAGE_ROOT, 'templates', 'plugin');

export interface ScaffoldResult {
  /** The project folder (absolute). */
  readonly dir: string;
  /** Whether the project itself was created (false: the plugin joined an existing one). */
  readonly createdProject: boolean;
  /** Files written, relative to `dir`. */
  readonly written: readonly string[];
  /** The identifier the plugin is exported as. */
  readonly exportName: string;
}

/** `soft-margin` + `loss` → `softMarginLoss`. */
function exportName(name: string, kind: PluginKind): string {
  const camel = name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  return `${camel}${kind[0]!.toUpperCase()}${kind.slice(1)}`;
}

/** A template with the example's names replaced by the plugin's. */
function fromTemplate(file: string, kind: PluginKind, name: string): string {
  const text = readFileSync(path.join(TEMPLATES, file), 'utf8');
  return text
    .replaceAll(`example-${kind}`, name)
    .replaceAll(exportName('example', kind), exportName(name, kind))
    .replaceAll(`'../src/${kind}.js'`, `'../src/${name}.js'`);
}

/** The versions mtlzoo itself is developed with, so that a plugin project resolves the same tools. */
function toolVersions(): Record<string, string> {
  const own = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  const all = { ...own.dependencies, ...own.devDependencies };
  const pick = (name: string, fallback: string) => all[name] ?? fallback;
  return {
    '@types/mocha': pick('@types/mocha', '^10.0.10'),
    '@types/node': pick('@types/node', '^20.19.0'),
    mocha: pick('mocha', '^11.0.0'),
    tsx: pick('tsx', '^4.20.0'),
    typescript: pick('typescript', '~5.9.0'),
  };
}

/** The files of a new project, before any plugin joins it. */
function projectFiles(packageName: string): Record<string, string> {
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  return {
    'package.json': json({
      name: packageName,
      version: '0.1.0',
      description: 'mtlzoo plugins',
      type: 'module',
      // mtlzoo imports TypeScript plugins as they are (through tsx): no build step.
      main: 'src/index.ts',
      exports: './src/index.ts',
      files: ['src'],
      scripts: { test: 'mocha', typecheck: 'tsc --noEmit' },
      peerDependencies: { mtlzoo: `>=${MTLZOO_VERSION}` },
      devDependencies: toolVersions(),
    }),
    'tsconfig.json': json({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        verbatimModuleSyntax: true,
        types: ['node', 'mocha'],
      },
      include: ['src', 'test'],
    }),
    '.mocharc.json': json({ 'node-option': ['import=tsx'], spec: ['test/**/*.test.ts'], timeout: 120000 }),
    '.gitignore': 'node_modules/\nruns/\n.cache/\n',
    'src/index.ts':
      '/** The plugins of this package: mtlzoo loads the default export. */\n\nexport default [];\n',
  };
}

/** A config that trains a few steps with the plugin in its slot and small built-ins elsewhere. */
function tryConfig(kind: PluginKind, name: string): string {
  const slots: Record<string, string> = {
    backend: 'backend: cpu',
    backbone: 'backbone:\n  name: tiny\n  options: { inputSize: 16, channels: [4, 8], embeddingDim: 8 }',
    method: 'method: shared',
    loss: 'loss: triplet',
    dataset:
      'dataset:\n  name: shapes\n  options: { counts: { train: 60, val: 20, test: 20 }, tasks: [colour, shape] }',
    evaluators: 'evaluators: [triplet-accuracy]',
  };
  // A weighting strategy's slot is inside `train:`; every other kind has a top-level one.
  const own: Record<Exclude<PluginKind, 'weighting'>, string> = {
    backend: `backend: ${name}`,
    backbone: `backbone:\n  name: ${name}\n  options: { inputSize: 16 }`,
    method: `method: ${name}`,
    loss: `loss: ${name}`,
    dataset: `dataset:\n  name: ${name}\n  options: { counts: { train: 60, val: 20, test: 20 } }`,
    evaluator: `evaluators: [triplet-accuracy, ${name}]`,
  };
  if (kind !== 'weighting') slots[kind === 'evaluator' ? 'evaluators' : kind] = own[kind];
  const weighting = kind === 'weighting' ? `, weighting: ${name}` : '';
  return [
    `# A few training steps with ${kind} ${name}: npx mtlzoo train -c configs/try-${name}.yaml`,
    'plugins: [..] # this package, relative to this file',
    'seed: 1',
    ...Object.values(slots),
    `train: { steps: 3, batch: { tripletsPerTask: 2 }${weighting} }`,
    '',
  ].join('\n');
}

/** src/index.ts with one more plugin imported and listed in the default export. */
function withPlugin(index: string, exported: string, module: string, indexFile: string): string {
  const list = /export default \[([^\]]*)\];/.exec(index);
  if (!list) {
    throw new MtlzooError(
      'USAGE',
      `${indexFile} does not end in \`export default [...]\`: add ${exported} from ./${module}.js to its plugins yourself, or choose another --dir`,
      2,
    );
  }
  const entries = list[1]!.trim() ? `${list[1]!.trim()}, ${exported}` : exported;
  const importLine = `import { ${exported} } from './${module}.js';\n`;
  const imports = [...index.matchAll(/^import .*;\n/gm)];
  const last = imports.at(-1);
  // After the last import, or (the first) before the export, a blank line apart.
  const added = last
    ? index.slice(0, last.index + last[0].length) + importLine + index.slice(last.index + last[0].length)
    : index.slice(0, list.index) + importLine + '\n' + index.slice(list.index);
  return added.replace(list[0], `export default [${entries}];`);
}

/**
 * Writes plugin `name` of `kind` into the project at `dir` (created with its package.json, tsconfig,
 * mocha set-up and src/index.ts when `dir` holds no package.json). Existing files are never overwritten.
 */
export function scaffoldPlugin(kind: string, name: string, dir: string): ScaffoldResult {
  if (!PLUGIN_KINDS.includes(kind as PluginKind)) {
    throw new MtlzooError('USAGE', `KIND: expected one of ${PLUGIN_KINDS.join(', ')}, got "${kind}"`, 2);
  }
  const pluginKind = kind as PluginKind;
  if (!PLUGIN_NAME_PATTERN.test(name)) {
    throw new MtlzooError('USAGE', `NAME: expected lower-case letters, digits and dashes, got "${name}"`, 2);
  }
  if (pluginKind === 'backend' && name === AUTO_BACKEND) {
    throw new MtlzooError('USAGE', `NAME: "${AUTO_BACKEND}" is reserved for backend selection`, 2);
  }
  const root = path.resolve(dir);
  const createdProject = !existsSync(path.join(root, 'package.json'));
  const indexFile = path.join(root, 'src', 'index.ts');
  if (!createdProject && !existsSync(indexFile)) {
    throw new MtlzooError(
      'USAGE',
      `${root} holds a package.json but no src/index.ts listing its plugins: it is not a plugin project made by mtlzoo new plugin; choose another --dir`,
      2,
    );
  }
  const files: Record<string, string> = createdProject
    ? projectFiles(
        path
          .basename(root)
          .toLowerCase()
          .replace(/[^a-z0-9._-]+/g, '-'),
      )
    : {};
  files[`src/${name}.ts`] = fromTemplate(`src/${kind}.ts`, pluginKind, name);
  files[`test/${name}.test.ts`] = fromTemplate(`test/${kind}.test.ts`, pluginKind, name);
  files[`configs/try-${name}.yaml`] = tryConfig(pluginKind, name);
  for (const file of Object.keys(files)) {
    if (existsSync(path.join(root, file))) {
      throw new MtlzooError('USAGE', `${path.join(root, file)} exists; choose another NAME or --dir`, 2);
    }
  }
  const exported = exportName(name, pluginKind);
  const index = files['src/index.ts'] ?? readFileSync(indexFile, 'utf8');
  const updatedIndex = withPlugin(index, exported, name, indexFile);
  for (const [file, text] of Object.entries(files)) {
    if (file === 'src/index.ts') continue;
    const target = path.join(root, file);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, text, { flag: 'wx' });
  }
  mkdirSync(path.dirname(indexFile), { recursive: true });
  writeFileSync(indexFile, updatedIndex);
  return {
    dir: root,
    createdProject,
    written: [...Object.keys(files), ...(createdProject ? [] : ['src/index.ts'])],
    exportName: exported,
  };
}
