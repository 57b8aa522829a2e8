/**
 * `retrieve`, the one-call convenience: rank a gallery folder by similarity to one query image under one
 * task. It keeps an index inside the run (built on first use; reused while it checks out; rebuilt, with
 * a notice saying why, when it fails its checks, the gallery changed or the model differs) and searches it.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Kernel } from '../kernel/kernel.js';
import type { Logger } from '../plugin/types.js';
import { buildIndex, defaultIndexDir, type AnnOptions } from './build.js';
import { IndexFolder } from './index-folder.js';
import { MANIFEST_FILE, readManifest } from './manifest.js';
import { RunModel, type CheckpointName } from './model.js';
import { searchImageFiles } from './query.js';
import type { SearchHit } from './search.js';

export interface RetrieveOptions {
  runDir: string;
  task: string;
  query: string;
  gallery: string;
  k: number;
  /** Default: best when the run validates, else last. */
  checkpoint?: CheckpointName;
  /** A backend plugin name or `auto`; default: the run's configured backend. */
  backend?: string;
  log: Logger;
}

export interface RetrievalResult {
  readonly task: string;
  readonly query: string;
  readonly gallerySize: number;
  /** Whether the run's index for this gallery was used as it was. */
  readonly indexReused: boolean;
  readonly indexDir: string;
  readonly hits: readonly SearchHit[];
}

/** The index in `dir` if it holds `tasks` and checks out for `model`; why not otherwise; undefined if none. */
async function reusable(
  dir: string,
  tasks: readonly string[],
  model: RunModel,
): Promise<IndexFolder | undefined | string> {
  if (!(await fs.stat(path.join(dir, MANIFEST_FILE)).catch(() => undefined))) return undefined;
  let index: IndexFolder | undefined;
  try {
    index = await IndexFolder.open(dir);
    index.assertSameRun(model.identity);
    const missing = tasks.filter((t) => !index!.tasks.includes(t));
    if (missing.length > 0) throw new Error(`it does not hold task ${missing.join(', ')}`);
    return index;
  } catch (error) {
    index?.dispose();
    return (error as Error).message;
  }
}

/**
 * The index the run keeps for `gallery` (`defaultIndexDir`), holding at least `tasks`: reused when it
 * checks out for `model`, otherwise built (again, with a notice saying why) with the tasks it held too.
 */
export async function openRunIndex(
  model: RunModel,
  gallery: string,
  tasks: readonly string[],
  options: { log: Logger; ann?: AnnOptions },
): Promise<{ index: IndexFolder; reused: boolean }> {
  for (const task of tasks) model.taskIndex(task);
  const dir = defaultIndexDir(model.identity.dir, gallery);
  const found = await reusable(dir, tasks, model);
  if (found instanceof IndexFolder) return { index: found, reused: true };
  if (found !== undefined) options.log.info(`rebuilding the index in ${dir}: ${found}`);
  // Keep the tasks an earlier index held, so alternating tasks do not rebuild each time.
  const earlier = await readManifest(dir).then(
    (m) => m.tasks.map((t) => t.name).filter((t) => model.identity.tasks.includes(t)),
    () => [] as string[],
  );
  await buildIndex(model, {
    gallery,
    out: dir,
    tasks: [...new Set([...earlier, ...tasks])],
    ann: options.ann ?? {},
    log: options.log,
  });
  return { index: await IndexFolder.open(dir), reused: false };
}

export async function retrieve(kernel: Kernel, options: RetrieveOptions): Promise<RetrievalResult> {
  const model = await RunModel.open(kernel, options.runDir, {
    ...(options.checkpoint ? { checkpoint: options.checkpoint } : {}),
    ...(options.backend ? { backend: options.backend } : {}),
  });
  try {
    const { index, reused } = await openRunIndex(model, options.gallery, [options.task], {
      log: options.log,
    });
    try {
      const [result] = await searchImageFiles(
        index,
        model,
        [options.query],
        [options.task],
        options.k,
        'exact',
      );
      return {
        task: options.task,
        query: path.resolve(options.query),
        gallerySize: index.files.length,
        indexReused: reused,
        indexDir: index.dir,
        hits: result!.hits,
      };
    } finally {
      index.dispose();
    }
  } finally {
    model.dispose();
  }
}
