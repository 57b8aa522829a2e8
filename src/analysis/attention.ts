/**
 * `mtlzoo analyze attention`: where each task looks. For a method that exposes spatial attention
 * (`MtlModel.explain`, e.g. ASEN's attribute-aware spatial attention), embeds a few evenly spaced images of
 * a split under every task, and writes each map drawn over its image as PNG (sharp), a grid of all of them,
 * one strip per task, and a JSON manifest with the raw maps and every file's caption. `attentionMaps` makes
 * the maps and PNGs of a loaded checkpoint without writing anything: the CLI writes them, the HTML report
 * (src/report/data.ts) inlines them.
 */
import path from 'node:path';
import sharp, { type OverlayOptions } from 'sharp';
import { writeFileAtomic } from '../util/write.js';
import { pixelsToTensor } from '../engine/pixels.js';
import { MtlzooError } from '../errors.js';
import type { SplitName } from '../kinds/dataset.js';
import type { Experiment, Kernel } from '../kernel/kernel.js';
import { withRunCheckpoint, type CheckpointChoice } from './run-checkpoint.js';

export interface AttentionOptions {
  /** Images shown (fewer when the split is smaller). */
  readonly images?: number;
  readonly split?: SplitName;
  /** Side of one drawn image, in pixels. */
  readonly cellSize?: number;
  /**
   * Encode every PNG with a palette of as few colours as reach this quality (libimagequant, 0–100), for a
   * page that inlines them; absent: lossless RGB.
   */
  readonly paletteQuality?: number;
}

export interface WriteAttentionOptions extends AttentionOptions {
  readonly outDir: string;
  readonly checkpoint?: CheckpointChoice;
}

/** One map of one task on one image. */
export interface AttentionOverlay {
  readonly task: string;
  /** Split-local image index. */
  readonly image: number;
  /** The map drawn over the image, relative to the output folder. */
  readonly file: string;
  readonly caption: string;
  /** The attention weights, `[h][w]`, summing to 1. */
  readonly map: readonly (readonly number[])[];
  /** The largest weight as a multiple of the uniform one (1: looks everywhere alike). */
  readonly peakOverUniform: number;
}

/** A picture for a report: a file relative to the output folder and what it shows. */
export interface AttentionPanel {
  readonly file: string;
  readonly title: string;
  readonly caption: string;
}

export interface AttentionResult {
  readonly runDir: string;
  readonly method: string;
  /** The checkpoint folder the maps come from. */
  readonly checkpoint: string;
  readonly step: number;
  readonly split: SplitName;
  readonly tasks: readonly string[];
  readonly images: readonly { readonly index: number; readonly source: string }[];
  /** `[h, w]` of the maps (the attended stage's grid) and `[height, width]` of the images. */
  readonly grid: readonly [number, number];
  readonly imageSize: readonly [number, number];
  /** The full grid first (images in the first row, one row per task), then one strip per task. */
  readonly panels: readonly AttentionPanel[];
  readonly overlays: readonly AttentionOverlay[];
}

/** Weight of the image in the overlay (the rest is the heat map), as ASEN's released plot blends. */
export const IMAGE_WEIGHT = 0.5;
const GAP = 4;

/** Viridis at five stops, interpolated: dark blue (no attention) to yellow (the peak). */
export const ATTENTION_COLOURS = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
] as const;

function colour(value: number): readonly [number, number, number] {
  const x = Math.min(1, Math.max(0, value)) * (ATTENTION_COLOURS.length - 1);
  const i = Math.min(ATTENTION_COLOURS.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [ATTENTION_COLOURS[i]!, ATTENTION_COLOURS[i + 1]!];
  return [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])];
}

/** File-system-safe form of a task name. */
function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '_');
}

/** The RGB image scaled to `size` (nearest, so small images stay sharp). */
async function scaledImage(pixels: Uint8Array, width: number, height: number, size: number): Promise<Buffer> {
  return sharp(Buffer.from(pixels), { raw: { width, height, channels: 3 } })
    .resize(size, size, { kernel: 'nearest' })
    .raw()
    .toBuffer();
}

/** The map scaled to the peak (as ASEN's plot does), upsampled (cubic) and blended over the image: raw RGB. */
async function overlay(image: Buffer, map: Float32Array, gridW: number, gridH: number, size: number) {
  let peak = 0;
  for (const v of map) peak = Math.max(peak, v);
  const grey = Uint8Array.from(map, (v) => Math.round((255 * v) / (peak || 1)));
  const heat = await sharp(Buffer.from(grey), { raw: { width: gridW, height: gridH, channels: 1 } })
    .resize(size, size, { kernel: 'cubic' })
    // libvips hands back three channels for a one-channel raw input.
    .extractChannel(0)
    .raw()
    .toBuffer();
  const out = Buffer.alloc(size * size * 3);
  for (let p = 0; p < size * size; p++) {
    const c = colour(heat[p]! / 255);
    for (let k = 0; k < 3; k++) {
      out[3 * p + k] = Math.round(IMAGE_WEIGHT * image[3 * p + k]! + (1 - IMAGE_WEIGHT) * c[k]!);
    }
  }
  return out;
}

/** Tiles `rows` of PNG buffers into one PNG, with a gap between cells. */
async function tile(rows: readonly (readonly Buffer[])[], size: number): Promise<Buffer> {
  const columns = Math.max(...rows.map((r) => r.length));
  const layers: OverlayOptions[] = rows.flatMap((row, r) =>
    row.map((input, c) => ({ input, left: GAP + c * (size + GAP), top: GAP + r * (size + GAP) })),
  );
  return sharp({
    create: {
      width: GAP + columns * (size + GAP),
      height: GAP + rows.length * (size + GAP),
      channels: 3,
      background: '#ffffff',
    },
  })
    .composite(layers)
    .png()
    .toBuffer();
}

/** The report's and the CLI's pictures of one checkpoint: the manifest and its PNGs. */
export interface AttentionMaps {
  readonly result: AttentionResult;
  /** Each image alone, as drawn under its maps, in the order of `result.images`. */
  readonly images: readonly Buffer[];
  /** Each map over its image, in the order of `result.overlays`. */
  readonly overlays: readonly Buffer[];
  /** Side of every image and map, in pixels. */
  readonly cellSize: number;
}

/** A raw RGB cell as PNG: lossless, or (for pages that inline it) a palette at the given quality. */
function encodeCell(raw: Buffer, size: number, paletteQuality: number | undefined): Promise<Buffer> {
  const png = sharp(raw, { raw: { width: size, height: size, channels: 3 } });
  // Dithering would add noise that costs bytes and hides the map's smooth gradient.
  return (
    paletteQuality === undefined ? png.png() : png.png({ palette: true, quality: paletteQuality, dither: 0 })
  ).toBuffer();
}

/**
 * Where each task looks on a few images of the split, with the experiment's model (checkpoint loaded) as
 * `withRunCheckpoint` hands it over: the maps, their captions and the PNGs, nothing written. The model
 * must expose `explain`.
 */
export async function attentionMaps(
  experiment: Experiment,
  from: { readonly runDir: string; readonly checkpoint: string; readonly step: number },
  options: AttentionOptions = {},
): Promise<AttentionMaps> {
  const splitName = options.split ?? 'test';
  const cell = options.cellSize ?? 128;
  const { model, dataset } = experiment;
  const method = experiment.loaded.config.method.name;
  if (!model.explain) {
    throw new MtlzooError(
      'USAGE',
      `method ${method} exposes no attention maps (MtlModel.explain); asen does`,
      2,
    );
  }
  const split = dataset.splits[splitName];
  const count = Math.min(options.images ?? 6, split.size);
  if (count < 1) throw new MtlzooError('USAGE', `the ${splitName} split of ${dataset.name} has no images`, 2);
  const indices = Array.from({ length: count }, (_, i) => Math.floor((i * split.size) / count));
  const pixels = await split.pixels(indices);
  const [height, width] = dataset.imageShape;
  const bytes = height * width * 3;
  const scaled = await Promise.all(
    indices.map((_, k) => scaledImage(pixels.subarray(k * bytes, (k + 1) * bytes), width, height, cell)),
  );
  const images = await Promise.all(scaled.map((image) => encodeCell(image, cell, options.paletteQuality)));
  const input = pixelsToTensor(pixels, dataset.imageShape);
  const overlays: AttentionOverlay[] = [];
  const pngs: Buffer[] = [];
  let grid: [number, number] = [0, 0];
  try {
    for (const [t, task] of dataset.tasks.entries()) {
      const maps = model.explain(input, new Int32Array(count).fill(t));
      const [, gridH, gridW] = maps.shape;
      grid = [gridH, gridW];
      const values = (await maps.data()) as Float32Array;
      maps.dispose();
      for (const [k, image] of indices.entries()) {
        const map = values.slice(k * gridH * gridW, (k + 1) * gridH * gridW);
        const blended = await overlay(scaled[k]!, map, gridW, gridH, cell);
        pngs.push(await encodeCell(blended, cell, options.paletteQuality));
        overlays.push({
          task: task.name,
          image,
          file: path.join(safeName(task.name), `${image}.png`),
          caption: `${task.name} attention on ${splitName} image ${image}`,
          map: Array.from({ length: gridH }, (_, r) =>
            Array.from(map.subarray(r * gridW, (r + 1) * gridW), (v) => Number(v.toPrecision(6))),
          ),
          peakOverUniform: Math.max(...map) * gridH * gridW,
        });
      }
    }
  } finally {
    input.dispose();
  }

  const panels: AttentionPanel[] = [
    {
      file: 'attention.png',
      title: `Spatial attention of ${method} per task`,
      caption: `First row: ${count} ${splitName} images; then one row per task (${dataset.tasks.map((t) => t.name).join(', ')}), each map scaled to its peak (yellow) over the image.`,
    },
    ...dataset.tasks.map((task) => ({
      file: `${safeName(task.name)}.png`,
      title: `${task.name}: where the embedding looks`,
      caption: `${method} spatial attention for task ${task.name} on ${splitName} images ${indices.join(', ')}.`,
    })),
  ];
  const result: AttentionResult = {
    runDir: path.resolve(from.runDir),
    method,
    checkpoint: from.checkpoint,
    step: from.step,
    split: splitName,
    tasks: dataset.tasks.map((t) => t.name),
    images: indices.map((index) => ({ index, source: split.source(index) })),
    grid,
    imageSize: [height, width],
    panels,
    overlays,
  };
  return { result, images, overlays: pngs, cellSize: cell };
}

/**
 * `mtlzoo analyze attention`: the maps of a run's checkpoint written into `outDir`: each overlay, the
 * panels (the full grid, images in the first row, then one strip per task) and the manifest.
 */
export async function writeAttentionMaps(
  kernel: Kernel,
  runDir: string,
  options: WriteAttentionOptions,
): Promise<AttentionResult> {
  return withRunCheckpoint(kernel, runDir, options.checkpoint ?? 'auto', async (experiment, metadata) => {
    const maps = await attentionMaps(experiment, { ...metadata, runDir }, options);
    const { result, cellSize } = maps;
    for (const [i, o] of result.overlays.entries()) {
      await writeFileAtomic(path.join(options.outDir, o.file), maps.overlays[i]!);
    }
    const strips = result.tasks.map((_, t) =>
      maps.overlays.slice(t * result.images.length, (t + 1) * result.images.length),
    );
    const [grid, ...perTask] = result.panels;
    await writeFileAtomic(
      path.join(options.outDir, grid!.file),
      await tile([maps.images, ...strips], cellSize),
    );
    for (const [t, panel] of perTask.entries()) {
      await writeFileAtomic(path.join(options.outDir, panel.file), await tile([strips[t]!], cellSize));
    }
    await writeFileAtomic(
      path.join(options.outDir, 'attention.json'),
      `${JSON.stringify(result, null, 2)}\n`,
    );
    return result;
  });
}

/** Text summary: the files written and how concentrated each task's attention is. */
export function formatAttention(result: AttentionResult, outDir: string): string {
  const lines = [
    `${result.method} attention, ${result.checkpoint} checkpoint (step ${result.step}), ${result.images.length} ${result.split} images, maps ${result.grid[0]}×${result.grid[1]}`,
  ];
  for (const task of result.tasks) {
    const peaks = result.overlays.filter((o) => o.task === task).map((o) => o.peakOverUniform);
    const mean = peaks.reduce((a, b) => a + b, 0) / peaks.length;
    lines.push(`  ${task}: peak weight ${mean.toFixed(2)}× the uniform one (mean over images)`);
  }
  lines.push(`wrote ${path.join(outDir, 'attention.json')}, attention.png and one PNG per task and image`);
  return `${lines.join('\n')}\n`;
}
