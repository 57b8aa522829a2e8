/**
 * Whole-run operations shared by the CLI and the bench: train a config into a run directory (or resume
 * one), and evaluate a finished run from its saved config and checkpoint.
 */
import path from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { MtlzooError } from '../errors.js';
import type { Metric } from '../kinds/evaluator.js';
import type { Experiment, Kernel } from '../kernel/kernel.js';
import { gradientProbeHook } from '../analysis/probe.js';
import { loadCheckpoint } from './checkpoint.js';
import { evaluateSplit, withoutSamples } from './evaluation.js';
import type { TrainerHook } from './hooks.js';
import { loadRunConfig } from './run-config.js';
import { RunDir } from './run-dir.js';
import type { TrainSummary } from './summary.js';
import { Trainer } from './trainer.js';

export interface RunOptions {
  /** Hooks of the caller (e.g. progress). */
  hooks?: readonly TrainerHook[];
  /** Aborting it (reason: a signal's name) stops training after the current step with `last` written. */
  signal?: AbortSignal;
  /** Take the run folder's lock with a lease of this many milliseconds (folders shared between hosts). */
  lease?: number;
}

export interface TrainRunOptions extends RunOptions {
  /** Parent folder of the new run directory (default: the config's output.dir). */
  outputDir?: string;
  /** Name of the run folder inside it (default: time, method and config hash). */
  name?: string;
}

export async function trainRun(
  kernel: Kernel,
  loaded: LoadedConfig,
  options: TrainRunOptions = {},
): Promise<TrainSummary> {
  const run = await RunDir.create(
    options.outputDir ?? loaded.config.output.dir,
    loaded,
    kernel.logger,
    options.name,
    { leaseMs: options.lease },
  );
  let experiment: Experiment;
  try {
    experiment = await kernel.build(loaded);
  } catch (error) {
    // A run that fails to build leaves nothing behind.
    await run.abandon();
    throw error;
  }
  try {
    await run.start(loaded);
    return await trainIn(experiment, run, false, options);
  } finally {
    experiment.dispose();
    run.release();
  }
}

export interface ResumeOptions extends RunOptions {
  /** Refuse the run (finished or not) unless its config hashes to this, saying why it should. */
  expectConfigHash?: { hash: string; reason: string };
}

/**
 * Continues a run from its last checkpoint (from the start when it stopped before writing one), with the
 * config saved in it. A finished run is left as it is: its summary is returned.
 */
export async function resumeRun(
  kernel: Kernel,
  runDir: string,
  options: ResumeOptions = {},
): Promise<TrainSummary> {
  const expectHash = (hash: string) => {
    const expected = options.expectConfigHash;
    if (expected && hash !== expected.hash) {
      throw new MtlzooError(
        'USAGE',
        `${path.resolve(runDir)} was trained under config ${hash}, expected ${expected.hash}: ${expected.reason}`,
        2,
      );
    }
  };
  const finished = await (await RunDir.open(runDir)).readSummary();
  if (finished) {
    expectHash(finished.configHash);
    kernel.logger.info(
      `${finished.runDir} has finished (${finished.steps} steps, tested at step ${finished.testedStep}); nothing to resume`,
    );
    return finished;
  }
  const run = await RunDir.openForWriting(runDir, kernel.logger, { leaseMs: options.lease });
  try {
    const loaded = await loadRunConfig(kernel, run);
    expectHash(loaded.hash);
    // With --trust-plugins the run goes on with the plugin files as they are now.
    await run.recordPlugins(loaded.pluginFiles);
    const experiment = await kernel.build(loaded);
    try {
      return await trainIn(experiment, run, true, options);
    } finally {
      experiment.dispose();
    }
  } finally {
    run.release();
  }
}

async function trainIn(
  experiment: Experiment,
  run: RunDir,
  resume: boolean,
  options: RunOptions,
): Promise<TrainSummary> {
  const trainer = experiment.container.resolve(Trainer);
  const probe = experiment.loaded.config.train.probe.every > 0 ? [gradientProbeHook()] : [];
  return trainer.train({ run, resume, hooks: [...(options.hooks ?? []), ...probe], signal: options.signal });
}

export interface RunEvaluation {
  readonly runDir: string;
  readonly checkpoint: string;
  readonly step: number;
  readonly split: 'val' | 'test';
  readonly metrics: readonly Metric[];
}

/**
 * Evaluates a run's checkpoint on a split: `auto` is the one its result comes from (`best` when it
 * validates, else `last`); a missing one is an error.
 */
export async function evaluateRun(
  kernel: Kernel,
  runDir: string,
  split: 'val' | 'test' = 'test',
  which: 'best' | 'last' | 'auto' = 'auto',
): Promise<RunEvaluation> {
  const run = await RunDir.open(runDir);
  const loaded = await loadRunConfig(kernel, run);
  const checkpoint = run.path(await run.chooseCheckpoint(which, loaded.config.train.evalEvery > 0));
  const experiment = await kernel.build(loaded);
  try {
    const { step } = await loadCheckpoint(checkpoint, experiment.model.parameters(), {
      expect: {
        configHash: loaded.hash,
        configFile: run.path('config'),
        tasks: experiment.dataset.tasks.map((t) => t.name),
      },
    });
    const metrics = withoutSamples(
      await evaluateSplit(experiment.model, experiment.dataset, split, experiment.evaluators),
    );
    return { runDir: run.dir, checkpoint, step, split, metrics };
  } finally {
    experiment.dispose();
  }
}
