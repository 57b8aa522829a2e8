/**
 * Whole-run operations shared by the CLI and the bench: train a config into a run directory (or resume
 * one), and evaluate a finished run from its saved config and checkpoint.
 */
import type { LoadedConfig } from '../config/load.js';
import type { Metric } from '../kinds/evaluator.js';
import type { Kernel } from '../kernel/kernel.js';
import { gradientProbeHook } from '../analysis/probe.js';
import { assertSameConfig, loadCheckpoint } from './checkpoint.js';
import { evaluateSplit, withoutSamples } from './evaluation.js';
import { RunDir } from './run-dir.js';
import { Trainer, type TrainerHooks, type TrainSummary } from './trainer.js';

export interface TrainRunOptions {
  /** Parent folder of the new run directory (default: the config's output.dir). */
  outputDir?: string;
  /** Name of the run folder inside it (default: time, method and config hash). */
  name?: string;
  hooks?: readonly TrainerHooks[];
}

export async function trainRun(
  kernel: Kernel,
  loaded: LoadedConfig,
  options: TrainRunOptions = {},
): Promise<TrainSummary> {
  const run = await RunDir.plan(options.outputDir ?? loaded.config.output.dir, loaded, options.name);
  return trainIn(kernel, loaded, run, false, options.hooks);
}

/** Continues a run from its last checkpoint, with the config saved in it. */
export async function resumeRun(
  kernel: Kernel,
  runDir: string,
  hooks?: readonly TrainerHooks[],
): Promise<TrainSummary> {
  const run = await RunDir.open(runDir);
  const loaded = await kernel.loadConfig(run.path('config'));
  return trainIn(kernel, loaded, run, true, hooks);
}

async function trainIn(
  kernel: Kernel,
  loaded: LoadedConfig,
  run: RunDir,
  resume: boolean,
  hooks: readonly TrainerHooks[] = [],
): Promise<TrainSummary> {
  const experiment = await kernel.build(loaded);
  try {
    if (!resume) await run.start(loaded);
    const trainer = experiment.container.resolve(Trainer);
    const probe = loaded.config.train.probe.every > 0 ? [gradientProbeHook(run)] : [];
    return await trainer.train({ run, resume, hooks: [...hooks, ...probe] });
  } finally {
    experiment.dispose();
  }
}

export interface RunEvaluation {
  readonly runDir: string;
  readonly checkpoint: string;
  readonly step: number;
  readonly split: 'val' | 'test';
  readonly metrics: readonly Metric[];
}

/** Evaluates a run's best checkpoint (or last, when it has no best) on a split. */
export async function evaluateRun(
  kernel: Kernel,
  runDir: string,
  split: 'val' | 'test' = 'test',
  which: 'best' | 'last' | 'auto' = 'auto',
): Promise<RunEvaluation> {
  const run = await RunDir.open(runDir);
  const loaded = await kernel.loadConfig(run.path('config'));
  const experiment = await kernel.build(loaded);
  try {
    const checkpoint =
      which === 'auto'
        ? (await run.hasCheckpoint('best'))
          ? run.path('best')
          : run.path('last')
        : run.path(which);
    const metadata = await loadCheckpoint(checkpoint, experiment.model.parameters());
    assertSameConfig(checkpoint, metadata, loaded.hash, run.path('config'));
    const { step } = metadata;
    const metrics = withoutSamples(
      await evaluateSplit(experiment.model, experiment.dataset, split, experiment.evaluators),
    );
    return { runDir: run.dir, checkpoint, step, split, metrics };
  } finally {
    experiment.dispose();
  }
}
