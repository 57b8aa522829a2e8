import { Kernel, type KernelOptions } from '../kernel/kernel.js';
import type { Logger } from '../plugin/types.js';
import { createConsoleLogger } from '../util/logger.js';
import { stdoutOutput, type CliOutput } from './output.js';

/** What every command gets: where to write and how to make a kernel. Tests substitute both. */
export interface CliContext {
  readonly output: CliOutput;
  readonly logger: Logger;
  createKernel(options?: Pick<KernelOptions, 'trustRunPlugins'>): Kernel;
}

export function defaultCliContext(): CliContext {
  const logger = createConsoleLogger();
  return { output: stdoutOutput, logger, createKernel: (options) => new Kernel({ ...options, logger }) };
}

/** The option of every command that loads a run folder's config. */
export const TRUST_PLUGINS_FLAG = [
  '--trust-plugins',
  "load the plugins a run folder's config names even if they are not the files the run used",
] as const;
