/**
 * `mtlzoo data preview`: a contact sheet of sample images, each captioned with its label for every task.
 * Captions are SVG text rasterised by sharp, so no font library is needed.
 */
import sharp, { type OverlayOptions } from 'sharp';
import type { Dataset, SplitName } from '../kinds/dataset.js';
import { Rng } from '../util/random.js';
import { writeFileAtomic } from '../util/write.js';

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

/** Writes the sheet as PNG to `outPath` (atomically) and returns the image indices shown. */
export async function writePreview(
  dataset: Dataset,
  outPath: string,
  options: PreviewOptions = {},
): Promise<number[]> {
  const split = dataset.splits[options.split ?? 'train'];
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
  const pixels = await split.pixels(indices);
  const bytes = height * width * 3;
  const layers: OverlayOptions[] = [];
  for (let k = 0; k < indices.length; k++) {
    const left = (k % columns) * (cellWidth + PADDING) + PADDING;
    const top = Math.floor(k / columns) * cellHeight + PADDING;
    const tile = await sharp(Buffer.from(pixels.subarray(k * bytes, (k + 1) * bytes)), {
      raw: { width, height, channels: 3 },
    })
      .resize(cellWidth, imageHeight, { kernel: 'nearest' })
      .png()
      .toBuffer();
    const caption = dataset.tasks
      .map((task, t) => {
        const label = split.labels[t]![indices[k]!]!;
        const text = `${task.name}: ${label < 0 ? '—' : task.labelNames[label]}`;
        // Long captions are squeezed to the cell width rather than clipped (≈0.6 em per character).
        const squeeze =
          text.length * 0.6 * FONT_SIZE > cellWidth - 2
            ? ` textLength="${cellWidth - 2}" lengthAdjust="spacingAndGlyphs"`
            : '';
        return `<text x="1" y="${(t + 1) * LINE_HEIGHT - 2}"${squeeze}>${escapeXml(text)}</text>`;
      })
      .join('');
    const svg =
      `<svg xmlns="http://www.w3.org/2000/svg" width="${cellWidth}" height="${captionHeight}">` +
      `<g font-family="sans-serif" font-size="${FONT_SIZE}" fill="#000">${caption}</g></svg>`;
    layers.push({ input: tile, left, top }, { input: Buffer.from(svg), left, top: top + imageHeight + 2 });
  }
  const rows = Math.ceil(indices.length / columns);
  const png = await sharp({
    create: {
      width: columns * (cellWidth + PADDING) + PADDING,
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
