/**
 * `mtlzoo data preview`: a contact sheet of sample images, each captioned with its label for every task.
 * Captions are SVG text rasterised by sharp, so no font library is needed; their rendered widths are
 * measured, and a column is as wide as its longest caption, so long attribute names are never clipped
 * (librsvg ignores SVG's textLength, so text cannot be squeezed to fit).
 */
import sharp, { type OverlayOptions } from 'sharp';
import type { Dataset, SplitName } from '../kinds/dataset.js';
import { Rng } from '../util/random.js';
import { writeFileAtomic } from '../util/write.js';
import { dataError } from './files.js';

export interface PreviewOptions {
  readonly split?: SplitName;
  /** Number of samples (fewer if the split is smaller). */
  readonly count?: number;
  readonly columns?: number;
  /** Width of one image on the sheet, in pixels. */
  readonly cellWidth?: number;
  /** Picks which samples are shown. */
  readonly seed?: number;
}

const LINE_HEIGHT = 12;
const FONT_SIZE = 10;
const PADDING = 4;

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function captionSvg(lines: readonly string[], width: number): string {
  const text = lines
    .map((line, t) => `<text x="1" y="${(t + 1) * LINE_HEIGHT - 2}">${escapeXml(line)}</text>`)
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${lines.length * LINE_HEIGHT + PADDING}">` +
    `<g font-family="sans-serif" font-size="${FONT_SIZE}" fill="#000">${text}</g></svg>`
  );
}

/** Rendered width in pixels of each caption line: drawn on a wide canvas and trimmed. */
async function textWidths(lines: readonly string[]): Promise<Map<string, number>> {
  const widths = new Map<string, number>();
  for (const line of new Set(lines)) {
    const canvas = Math.max(64, line.length * FONT_SIZE * 2);
    const { info } = await sharp(Buffer.from(captionSvg([line], canvas)))
      .flatten({ background: '#ffffff' })
      .trim()
      .toBuffer({ resolveWithObject: true });
    widths.set(line, Math.abs(info.trimOffsetLeft ?? 0) + info.width);
  }
  return widths;
}

/** Writes the sheet as PNG to `outPath` (atomically) and returns the image indices shown. */
export async function writePreview(
  dataset: Dataset,
  outPath: string,
  options: PreviewOptions = {},
): Promise<number[]> {
  const splitName = options.split ?? 'train';
  const split = dataset.splits[splitName];
  if (split.size === 0) throw dataError(`${dataset.name} ${splitName} split has no images to preview`);
  const count = Math.min(options.count ?? 32, split.size);
  const columns = Math.max(1, Math.min(options.columns ?? 8, count));
  const cellWidth = options.cellWidth ?? 112;
  const [height, width] = dataset.imageShape;
  const imageHeight = Math.round((cellWidth * height) / width);
  const captionHeight = dataset.tasks.length * LINE_HEIGHT + PADDING;
  const cellHeight = imageHeight + captionHeight + PADDING;
  const indices = new Rng(options.seed ?? 0)
    .shuffle(Array.from({ length: split.size }, (_, i) => i))
    .slice(0, count)
    .sort((a, b) => a - b);
  const captions = indices.map((index) =>
    dataset.tasks.map((task, t) => {
      const label = split.labels[t]![index]!;
      return `${task.name}: ${label < 0 ? '—' : task.labelNames[label]}`;
    }),
  );
  const widths = await textWidths(captions.flat());
  const columnWidth = Math.max(cellWidth, ...[...widths.values()].map((w) => w + 2));
  const pixels = await split.pixels(indices);
  const bytes = height * width * 3;
  const layers: OverlayOptions[] = [];
  for (let k = 0; k < indices.length; k++) {
    const left = (k % columns) * (columnWidth + PADDING) + PADDING;
    const top = Math.floor(k / columns) * cellHeight + PADDING;
    const tile = await sharp(Buffer.from(pixels.subarray(k * bytes, (k + 1) * bytes)), {
      raw: { width, height, channels: 3 },
    })
      .resize(cellWidth, imageHeight, { kernel: 'nearest' })
      .png()
      .toBuffer();
    const svg = captionSvg(captions[k]!, columnWidth);
    layers.push({ input: tile, left, top }, { input: Buffer.from(svg), left, top: top + imageHeight + 2 });
  }
  const rows = Math.ceil(indices.length / columns);
  const png = await sharp({
    create: {
      width: columns * (columnWidth + PADDING) + PADDING,
      height: Math.max(1, rows * cellHeight + PADDING),
      channels: 3,
      background: '#ffffff',
    },
  })
    .composite(layers)
    .png()
    .toBuffer();
  await writeFileAtomic(outPath, png);
  return indices;
}
