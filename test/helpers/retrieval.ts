import { mkdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { trainRun } from '../../src/engine/run.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { Logger } from '../../src/plugin/types.js';
import { buildIndex } from '../../src/retrieval/build.js';
import { IndexFolder } from '../../src/retrieval/index-folder.js';
import { RunModel } from '../../src/retrieval/model.js';
import { loadSmall, smallConfig } from './experiment.js';

/**
 * A few steps of the small shapes experiment (cpu, tiny backbone at 16 px, modulation over three tasks)
 * and a gallery of `count` real PNG files of its test images, half of them in a subfolder.
 */
export async function trainedRunWithGallery(
  dir: string,
  options: { name?: string; seed?: number; count?: number; method?: string } = {},
): Promise<{ runDir: string; gallery: string; files: string[] }> {
  const config = smallConfig({ steps: 3, ...(options.method ? { method: options.method } : {}) }).replace(
    'seed: 5',
    `seed: ${options.seed ?? 5}`,
  );
  const name = options.name ?? 'run';
  const { kernel, loaded } = await loadSmall(dir, config, `${name}.yaml`);
  const runDir = (await trainRun(kernel, loaded, { outputDir: dir, name })).runDir;
  const dataset = await kernel.createDataset(loaded.config, await kernel.createBackbone(loaded.config));
  const gallery = path.join(dir, `${name}-gallery`);
  mkdirSync(path.join(gallery, 'nested'), { recursive: true });
  const count = options.count ?? 24;
  const pixels = await dataset.splits.test.pixels([...Array(count).keys()]);
  const size = 16 * 16 * 3;
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const file = path.join(gallery, i % 2 ? 'nested' : '', `img-${String(i).padStart(2, '0')}.png`);
    await sharp(Buffer.from(pixels.subarray(i * size, (i + 1) * size)), {
      raw: { width: 16, height: 16, channels: 3 },
    })
      .png()
      .toFile(file);
    files.push(file);
  }
  return { runDir, gallery, files };
}

/** `trainedRunWithGallery`, its model loaded and an exact index of every task built and opened. */
export async function indexedRun(dir: string, log: Logger) {
  const { runDir, gallery, files } = await trainedRunWithGallery(dir);
  const model = await RunModel.open(new Kernel({ logger: log }), runDir, { checkpoint: 'last' });
  const out = path.join(dir, 'index');
  await buildIndex(model, { gallery, out, log, ann: { choice: 'none' } });
  const index = await IndexFolder.open(out);
  return {
    runDir,
    gallery,
    files,
    model,
    index,
    dispose() {
      index.dispose();
      model.dispose();
    },
  };
}
