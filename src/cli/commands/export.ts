/** `mtlzoo export`: a run's model under a task as a standalone TensorFlow.js graph model. */
import path from 'node:path';
import type { Command } from 'commander';
import { exportModel } from '../../retrieval/export.js';
import { collect, positiveInt } from '../arguments.js';
import type { CliContext } from '../context.js';
import { modelOptions, openRunModel, type ModelFlags } from '../model-options.js';

export function registerExportCommand(program: Command, cli: CliContext): void {
  modelOptions(
    program
      .command('export')
      .description(
        'write a run’s model under a task as a TensorFlow.js graph model (model.json + weight shards)',
      )
      .argument('<runDir>', 'a trained run directory')
      .requiredOption('--out <dir>', 'output folder (one subfolder per task when several are exported)')
      .option('--task <name>', 'task to embed under (repeatable; default: every task)', collect)
      .option('--batch <n>', 'images per call of the exported model (default 1)', positiveInt('--batch'))
      .option('--json', 'print JSON'),
  ).action(
    async (
      runDir: string,
      flags: {
        out: string;
        task?: string[];
        batch?: number;
        json?: boolean;
      } & ModelFlags,
    ) => {
      const model = await openRunModel(cli, runDir, flags);
      try {
        const tasks = flags.task ?? [...model.identity.tasks];
        for (const task of tasks) model.taskIndex(task);
        const written: { task: string; dir: string; files: string[] }[] = [];
        for (const task of tasks) {
          const dir = tasks.length === 1 ? path.resolve(flags.out) : path.resolve(flags.out, task);
          const files = await exportModel(model, dir, {
            task,
            ...(flags.batch ? { batch: flags.batch } : {}),
          });
          written.push({ task, dir, files });
        }
        if (flags.json) {
          cli.output.write(`${JSON.stringify({ run: model.identity.dir, models: written }, null, 2)}\n`);
          return;
        }
        for (const w of written)
          cli.output.write(
            `${w.task}: ${path.join(w.dir, 'model.json')} (${w.files.length - 1} weight shard(s))\n`,
          );
        const [h, wd] = model.inputShape;
        cli.logger.info(
          `load with tf.loadGraphModel(url); input float32 RGB pixels [${flags.batch ?? 1}, ${h}, ${wd}, 3] in 0–255 (centre-cropped to size), output the L2-normalised embedding`,
        );
      } finally {
        model.dispose();
      }
    },
  );
}
