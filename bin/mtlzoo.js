#!/usr/bin/env node
// The CLI runs from TypeScript sources through tsx, so that third-party plugins and configs written in
// TypeScript load the same way as the built-ins, with no build step in between. The project's own
// tsconfig is named explicitly: run from another folder, tsx would not find it, and the decorators the
// kernel's dependency injection uses would not compile.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
