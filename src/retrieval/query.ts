/** Image queries: decode like gallery images, embed under each task in one batch, search the index. */
import path from 'node:path';
import { MtlzooError } from '../errors.js';
import type { IndexFolder } from './index-folder.js';
import type { RunModel } from './model.js';
import { searchIndex, type SearchHit, type SearchMode } from './search.js';

export interface QueryResult {
  readonly query: string;
  readonly task: string;
  readonly mode: 'exact' | 'hnsw';
  readonly hits: readonly SearchHit[];
}

/** Decoded query images back to back; a file that cannot be read fails with its name. */
export async function decodeQueryFiles(model: RunModel, files: readonly string[]): Promise<Uint8Array> {
  const decoded = await Promise.all(
    files.map((file) =>
      model.decode(file).catch((error: unknown) => {
        throw new MtlzooError(
          'DATA_INVALID',
          `${file}: cannot read the query image: ${(error as Error).message.split('\n')[0]}`,
        );
      }),
    ),
  );
  const pixels = new Uint8Array(decoded.length * model.imageBytes);
  decoded.forEach((image, i) => pixels.set(image, i * model.imageBytes));
  return pixels;
}

/** Searches `index` with query image files under each of `tasks`. */
export async function searchImageFiles(
  index: IndexFolder,
  model: RunModel,
  files: readonly string[],
  tasks: readonly string[],
  k: number,
  mode: SearchMode,
): Promise<QueryResult[]> {
  index.assertSameRun(model.identity);
  for (const task of tasks) index.task(task);
  const pixels = await decodeQueryFiles(model, files);
  const embeddings = model.embedUnderTasks(
    pixels,
    tasks.map((task) => model.taskIndex(task)),
  );
  const results: QueryResult[] = [];
  for (const [t, task] of tasks.entries()) {
    const found = await searchIndex(index, task, embeddings[t]!, k, mode);
    files.forEach((file, q) =>
      results.push({ query: path.resolve(file), task, mode: found.mode, hits: found.hits[q]! }),
    );
  }
  return results;
}
