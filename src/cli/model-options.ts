/** The options of every command that loads a run's model for retrieval, and opening the model from them. */
import type { Command } from 'commander';
import { RunModel, type CheckpointName } from '../retrieval/model.js';
import { oneOf } from './arguments.js';
import { TRUST_PLUGINS_FLAG, type CliContext } from './context.js';

const CHECKPOINT_NAMES: readonly CheckpointName[] = ['best', 'last'];

export interface ModelFlags {
  checkpoint?: CheckpointName;
  backend?: string;
  trustPlugins?: boolean;
}

/**
 * `--checkpoint`, `--backend` and `--trust-plugins`. `checkpointDefault` says what an absent
 * `--checkpoint` means for this command (a run's own choice, or the index's checkpoint).
 */
export function modelOptions(
  command: Command,
  checkpointDefault = 'best when the run validates, else last',
): Command {
  return command
    .option(
      '--checkpoint <which>',
      `best or last (default: ${checkpointDefault})`,
      oneOf('--checkpoint', CHECKPOINT_NAMES),
    )
    .option('--backend <name>', "backend plugin or auto (default: the run's configured backend)")
    .option(...TRUST_PLUGINS_FLAG);
}

/** The run's model as the flags ask, `checkpoint` standing in for an absent `--checkpoint`. */
export function openRunModel(
  cli: CliContext,
  runDir: string,
  flags: ModelFlags,
  checkpoint?: CheckpointName,
): Promise<RunModel> {
  const which = flags.checkpoint ?? checkpoint;
  return RunModel.open(cli.createKernel({ trustRunPlugins: flags.trustPlugins }), runDir, {
    ...(which ? { checkpoint: which } : {}),
    ...(flags.backend ? { backend: flags.backend } : {}),
  });
}
