import { Kernel } from '../kernel/kernel.js';
import type { Logger } from '../plugin/types.js';
import { createConsoleLogger } from '../util/logger.js';
import { stdoutOutput, type CliOutput } from './output.js';

/** What every command gets: where to write and how to make a kernel. Tests substitute both. */
export interface CliContext {
  readonly output: CliOutput;
  readonly logger: Logger;
  createKernel(): Kernel;
}

export function defaultCliContext(): CliContext {
  const logger = createConsoleLogger();
  return { output: stdoutOutput, logger, createKernel: () => new Kernel({ logger }) };
}
