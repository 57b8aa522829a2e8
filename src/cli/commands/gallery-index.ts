/** `mtlzoo index build|add|remove|info`: persistent per-task gallery indexes. */
import type { Command } from 'commander';
import {
  addToIndex,
  buildIndex,
  defaultIndexDir,
  removeFromIndex,
  type AnnChoice,
  type AnnOptions,
  type ChangeReport,
} from '../../retrieval/build.js';
import { inspectIndex, type IndexInfo } from '../../retrieval/info.js';
import { indexError, readManifest, type IndexManifest } from '../../retrieval/manifest.js';
import { formatDuration } from '../../util/eta.js';
import { collect, fraction, oneOf, positiveInt } from '../arguments.js';
import { modelOptions, openRunModel, type ModelFlags } from '../model-options.js';
import type { CliContext } from '../context.js';
import { formatTable } from '../../util/table.js';

const ANN_CHOICES: readonly AnnChoice[] = ['auto', 'hnsw', 'none'];

interface AnnFlags {
  ann?: AnnChoice;
  annThreshold?: number;
  recall?: number;
  hnswM?: number;
  hnswEfConstruction?: number;
}

function annOptions(command: Command): Command {
  return command
    .option(
      '--ann <choice>',
      'HNSW graphs: auto (from --ann-threshold images), hnsw or none',
      oneOf('--ann', ANN_CHOICES),
    )
    .option(
      '--ann-threshold <n>',
      'gallery size from which auto builds HNSW graphs (default 200000)',
      positiveInt('--ann-threshold'),
    )
    .option('--recall <r>', 'recall@10 that efSearch is tuned to reach (default 0.95)', fraction('--recall'))
    .option('--hnsw-m <n>', 'HNSW connectivity M (default 16)', positiveInt('--hnsw-m'))
    .option(
      '--hnsw-ef-construction <n>',
      'HNSW efConstruction (default 128)',
      positiveInt('--hnsw-ef-construction'),
    );
}

function annFrom(flags: AnnFlags): AnnOptions {
  return {
    ...(flags.ann ? { choice: flags.ann } : {}),
    ...(flags.annThreshold ? { threshold: flags.annThreshold } : {}),
    ...(flags.recall ? { targetRecall: flags.recall } : {}),
    ...(flags.hnswM ? { connectivity: flags.hnswM } : {}),
    ...(flags.hnswEfConstruction ? { expansionAdd: flags.hnswEfConstruction } : {}),
  };
}

function describeTasks(manifest: IndexManifest): string {
  return formatTable(
    ['TASK', 'VECTORS', 'SEARCH', 'RECALL@10'],
    manifest.tasks.map((t) => [
      t.name,
      `${manifest.gallery.files.length} × ${manifest.model.embeddingDim}`,
      t.hnsw
        ? `hnsw (M ${t.hnsw.connectivity}, efC ${t.hnsw.expansionAdd}, ef ${t.hnsw.expansionSearch})`
        : 'exact',
      t.hnsw ? t.hnsw.recallAt10.toFixed(3) : '1 (exact)',
    ]),
  );
}

function writeChange(cli: CliContext, dir: string, report: ChangeReport, json: boolean | undefined): void {
  const { manifest, ...lists } = report;
  if (json) {
    cli.output.write(
      `${JSON.stringify({ index: dir, files: manifest.gallery.files.length, ...lists }, null, 2)}\n`,
    );
    return;
  }
  const parts = (['added', 'replaced', 'unchanged', 'removed'] as const)
    .filter((key) => lists[key].length > 0)
    .map((key) => `${lists[key].length} ${key}`);
  cli.output.write(
    `${dir}: ${parts.join(', ') || 'nothing to do'}; ${manifest.gallery.files.length} files indexed\n`,
  );
}

function formatInfo(info: IndexInfo): string {
  const { manifest: m } = info;
  const lines = [
    `index    ${info.dir} (${m.format}, built ${m.createdAt}, updated ${m.updatedAt})`,
    `run      ${m.run.dir} (${m.run.checkpoint} checkpoint, weights ${m.run.weightsSha256.slice(0, 16)}, config ${m.run.configHash}, ${m.run.method} on ${m.run.backbone})`,
    `model    input ${m.model.inputShape.join('×')}, embedding ${m.model.embeddingDim}, distance squared L2 of L2-normalised embeddings`,
    `gallery  ${m.gallery.root}: ${m.gallery.files.length} files indexed, ${m.gallery.skipped.length} skipped, ${info.notIndexed} not indexed`,
    `build    backend ${m.build.backend}, ${m.build.sharedStages > 0 ? `shared prefix of ${m.build.sharedStages} stage(s) run once per image` : 'one full pass per task'}, ${formatDuration(m.build.seconds * 1000)} of embedding`,
    `size     ${(info.bytes / 2 ** 20).toFixed(2)} MiB of vectors and graphs`,
    `check    ${info.integrityProblem ?? 'manifest, vectors and graphs match their sha256'}`,
    `gallery  ${
      info.drift.changed.length + info.drift.missing.length === 0
        ? 'unchanged since indexed'
        : `${info.drift.changed.length} changed (${info.drift.changed.slice(0, 5).join(', ')}), ${info.drift.missing.length} missing (${info.drift.missing.slice(0, 5).join(', ')})`
    }`,
  ];
  return `${lines.join('\n')}\n\n${describeTasks(m)}`;
}

export function registerIndexCommand(program: Command, cli: CliContext): void {
  const index = program.command('index').description('build, change and describe persistent gallery indexes');

  modelOptions(
    annOptions(
      index
        .command('build')
        .description('embed a folder of gallery images under tasks of a run into an index folder')
        .argument('<runDir>', 'a trained run directory')
        .requiredOption('--gallery <dir>', 'folder of gallery images (searched recursively)')
        .option('--task <name>', 'a task to index (repeatable; default: every task)', collect)
        .option('--all-tasks', 'index every task of the run (the default)')
        .option('--out <dir>', 'index folder (default: <runDir>/index/<gallery name>-<hash>)')
        .option(
          '--no-shared-prefix',
          'run every task from the input (to measure what the shared prefix saves)',
        )
        .option('--batch <n>', 'images per forward pass (default 64)', positiveInt('--batch'))
        .option('--json', 'print JSON'),
    ),
  ).action(
    async (
      runDir: string,
      flags: ModelFlags &
        AnnFlags & {
          gallery: string;
          task?: string[];
          allTasks?: boolean;
          out?: string;
          sharedPrefix: boolean;
          batch?: number;
          json?: boolean;
        },
    ) => {
      const model = await openRunModel(cli, runDir, flags);
      try {
        const out = flags.out ?? defaultIndexDir(model.identity.dir, flags.gallery);
        const manifest = await buildIndex(model, {
          gallery: flags.gallery,
          out,
          ...(flags.task && !flags.allTasks ? { tasks: flags.task } : {}),
          sharedPrefix: flags.sharedPrefix,
          ...(flags.batch ? { batch: flags.batch } : {}),
          ann: annFrom(flags),
          log: cli.logger,
        });
        if (flags.json) {
          cli.output.write(`${JSON.stringify({ index: out, ...summaryOf(manifest) }, null, 2)}\n`);
        } else {
          cli.output.write(
            `${out}: ${manifest.gallery.files.length} files under ${manifest.tasks.length} task(s)\n${describeTasks(manifest)}`,
          );
        }
      } finally {
        model.dispose();
      }
    },
  );

  modelOptions(
    annOptions(
      index
        .command('add')
        .description('add gallery files or folders to an index (changed files are embedded again)')
        .argument('<indexDir>', 'an index folder')
        .argument('<files...>', 'image files or folders inside the gallery folder')
        .option('--run <dir>', "the run to embed with (default: the index's own)")
        .option('--batch <n>', 'images per forward pass (default 64)', positiveInt('--batch'))
        .option('--json', 'print JSON'),
    ),
    "the index's",
  ).action(
    async (
      indexDir: string,
      files: string[],
      flags: ModelFlags & AnnFlags & { run?: string; batch?: number; json?: boolean },
    ) => {
      const manifest = await readManifest(indexDir);
      const model = await openRunModel(cli, flags.run ?? manifest.run.dir, flags, manifest.run.checkpoint);
      try {
        const report = await addToIndex(model, indexDir, files, {
          log: cli.logger,
          ann: annFrom(flags),
          ...(flags.batch ? { batch: flags.batch } : {}),
        });
        writeChange(cli, indexDir, report, flags.json);
      } finally {
        model.dispose();
      }
    },
  );

  index
    .command('remove')
    .description('remove gallery files or folders from an index (they need not exist any more)')
    .argument('<indexDir>', 'an index folder')
    .argument('<files...>', 'image files or folders inside the gallery folder')
    .option(
      '--recall <r>',
      'recall@10 that efSearch is re-tuned to reach (default 0.95)',
      fraction('--recall'),
    )
    .option('--json', 'print JSON')
    .action(async (indexDir: string, files: string[], flags: { recall?: number; json?: boolean }) => {
      const report = await removeFromIndex(indexDir, files, {
        log: cli.logger,
        ann: flags.recall ? { targetRecall: flags.recall } : {},
      });
      writeChange(cli, indexDir, report, flags.json);
    });

  index
    .command('info')
    .description('describe an index and check it (exit 1 when it fails its checks or its gallery changed)')
    .argument('<indexDir>', 'an index folder')
    .option('--json', 'print JSON')
    .action(async (indexDir: string, flags: { json?: boolean }) => {
      const info = await inspectIndex(indexDir);
      if (flags.json) {
        const { manifest, ...rest } = info;
        cli.output.write(`${JSON.stringify({ ...rest, ...summaryOf(manifest), manifest }, null, 2)}\n`);
      } else {
        cli.output.write(formatInfo(info));
      }
      const { changed, missing } = info.drift;
      if (info.integrityProblem) throw indexError(info.dir, 'fails its checks (see above)');
      if (changed.length + missing.length > 0) {
        throw indexError(
          info.dir,
          `its gallery changed: ${changed.length} file(s) changed, ${missing.length} missing`,
        );
      }
    });
}

function summaryOf(manifest: IndexManifest) {
  return {
    files: manifest.gallery.files.length,
    skipped: manifest.gallery.skipped,
    tasks: manifest.tasks.map((t) => ({
      name: t.name,
      search: t.hnsw ? 'hnsw' : 'exact',
      ...(t.hnsw
        ? {
            recallAt10: t.hnsw.recallAt10,
            expansionSearch: t.hnsw.expansionSearch,
            connectivity: t.hnsw.connectivity,
          }
        : {}),
    })),
    sharedStages: manifest.build.sharedStages,
    seconds: manifest.build.seconds,
  };
}
