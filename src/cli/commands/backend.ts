import type { Command } from 'commander';
import { formatBackendChoice, selectBackend } from '../../backend/select.js';
import { AUTO_BACKEND } from '../../kinds/backend.js';
import * as tf from '../../tf.js';
import type { CliContext } from '../context.js';

export function registerBackendCommand(program: Command, cli: CliContext): void {
  program
    .command('backend')
    .description('choose a backend as `backend: auto` would (or check one) and say why')
    .argument('[name]', 'a backend to check instead of auto', AUTO_BACKEND)
    .option('--json', 'print JSON')
    .action(async (name: string, options: { json?: boolean }) => {
      const kernel = cli.createKernel();
      if (name !== AUTO_BACKEND) kernel.registries.of('backend').get(name);
      const choice = await selectBackend({ name, options: {} }, kernel.registries);
      if (options.json) {
        cli.output.write(`${JSON.stringify({ ...choice, tfjsVersion: tf.version.tfjs }, null, 2)}\n`);
        return;
      }
      cli.output.write(`${formatBackendChoice(choice)}\n`);
    });
}
