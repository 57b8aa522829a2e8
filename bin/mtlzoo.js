#!/usr/bin/env node
// The CLI runs from TypeScript sources through tsx, so that third-party plugins and configs written in
// TypeScript load the same way as the built-ins, with no build step in between.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
