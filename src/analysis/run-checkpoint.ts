/** Rebuilds a run's experiment from its saved config and loads one of its checkpoints, for analyses. */
import type { CheckpointMetadata } from '../engine/checkpoint.js';
import { loadCheckpoint } from '../engine/checkpoint.js';
import { loadRunConfig } from '../engine/run-config.js';
import { RunDir } from '../engine/run-dir.js';
import type { Experiment, Kernel } from '../kernel/kernel.js';

export type CheckpointChoice = 'best' | 'last' | 'auto';

/**
 * Runs `use` on the run's experiment with checkpoint `which` loaded ('auto': the run's result's, see RunDir).
 * `built` sees the experiment before the checkpoint is loaded, so a caller learns what the model offers
 * (e.g. `explain`) and its initial values even when the checkpoint then cannot be read.
 */
export async function withRunCheckpoint<T>(
  kernel: Kernel,
  runDir: string,
  which: CheckpointChoice,
  use: (experiment: Experiment, metadata: CheckpointMetadata & { checkpoint: string }) => Promise<T>,
  built?: (experiment: Experiment) => void | Promise<void>,
): Promise<T> {
  const run = await RunDir.open(runDir);
  const loaded = await loadRunConfig(kernel, run);
  const chosen = await run.chooseCheckpoint(which, loaded.config.train.evalEvery > 0);
  const experiment = await kernel.build(loaded);
  try {
    await built?.(experiment);
    const checkpoint = run.path(chosen);
    const metadata = await loadCheckpoint(checkpoint, experiment.model.parameters());
    return await use(experiment, { ...metadata, checkpoint });
  } finally {
    experiment.dispose();
  }
}
