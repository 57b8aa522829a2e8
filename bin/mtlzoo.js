#!/usr/bin/env node
// The CLI runs mtlzoo's build (dist/, made by `npm install` through the `prepare` script), the same modules
// a plugin gets from `import … from 'mtlzoo'`, so one mtlzoo runs in the process. Only a user's own
// TypeScript (configs, plugins) goes through a TypeScript loader, when one is imported.
//
// For development, `node --conditions=mtlzoo-source bin/mtlzoo.js` runs the TypeScript sources instead
// (package.json maps `#cli` and the `mtlzoo` exports to src/ under that condition), through tsx with the
// project's own tsconfig: from another folder tsx would not find it, and the decorators of the kernel's
// dependency injection would not compile.
import { fileURLToPath } from 'node:url';

const entry = import.meta.resolve('#cli');
if (entry.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
}
let cli;
try {
  cli = await import(entry);
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes(fileURLToPath(entry)))
    throw error;
  const root = fileURLToPath(new URL('..', import.meta.url));
  console.error(`mtlzoo: the build is missing (${fileURLToPath(entry)}); run npm run build in ${root}`);
  process.exit(1);
}
process.exitCode = await cli.main(process.argv);
