/**
 * The one decode path every image takes (JPEG/PNG files, rasterised SVG): sharp decodes, flattens alpha
 * onto white, converts to sRGB, resizes to the target size and returns uint8 HWC RGB. Normalisation and
 * flips belong to the engine, so they are not done here.
 */
import { promises as fs } from 'node:fs';
import sharp from 'sharp';
import { ioReason } from '../util/write.js';

export type ImageSize = readonly [height: number, width: number];

/** How a source whose aspect ratio differs from the target is fitted: centre crop, stretch, or pad with white. */
export const FIT_MODES = ['cover', 'fill', 'contain'] as const;
export type FitMode = (typeof FIT_MODES)[number];

export async function decodeImage(
  input: string | Buffer,
  size: ImageSize,
  fit: FitMode,
): Promise<Uint8Array> {
  const [height, width] = size;
  // failOn 'warning' turns truncated or damaged files into errors instead of half-grey images.
  const { data, info } = await sharp(input, { failOn: 'warning' })
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .resize(width, height, { fit, position: 'centre', background: '#ffffff' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== width || info.height !== height) {
    throw new Error(
      `decoded to ${info.width}×${info.height}×${info.channels}, expected ${width}×${height}×3`,
    );
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export function imageBytes(size: ImageSize): number {
  return size[0] * size[1] * 3;
}

/**
 * Decodes an image file; the error says whether the file is missing, unreadable (permissions, a folder)
 * or not a readable image.
 */
export async function decodeFile(file: string, size: ImageSize, fit: FitMode): Promise<Uint8Array> {
  try {
    return await decodeImage(file, size, fit);
  } catch (error) {
    throw new Error(await decodeFailure(file, error as Error));
  }
}

async function decodeFailure(file: string, error: Error): Promise<string> {
  try {
    const handle = await fs.open(file, 'r');
    const stat = await handle.stat().finally(() => handle.close());
    if (!stat.isFile()) return 'unreadable image: not a regular file';
  } catch (openError) {
    const code = (openError as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'image not found';
    if (code === 'EISDIR') return 'unreadable image: a folder, expected a file';
    return `unreadable image: ${ioReason(openError)}`;
  }
  return `corrupt image, expected a readable JPEG or PNG (${error.message})`;
}
