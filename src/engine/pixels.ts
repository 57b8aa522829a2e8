/**
 * From the uint8 RGB pixels datasets hand out to the float tensors models take. Every method sees images
 * prepared by this one function, so normalisation and augmentation never differ between methods.
 */
import * as tf from '../tf.js';

/** Maps uint8 [0, 255] to [-1, 1], the range the backbones are initialised for. */
export function normalisePixel(value: number): number {
  return value / 127.5 - 1;
}

/**
 * `[count, height, width, 3]` float32 images from `count` images stored back to back; images whose
 * `flip` entry is true are mirrored left-right.
 */
export function pixelsToTensor(
  pixels: Uint8Array,
  shape: readonly [number, number, number],
  flip?: readonly boolean[],
): tf.Tensor4D {
  const [height, width, channels] = shape;
  const imageSize = height * width * channels;
  const count = pixels.length / imageSize;
  if (!Number.isInteger(count)) {
    throw new Error(
      `pixel buffer of ${pixels.length} bytes is not a whole number of ${height}×${width}×${channels} images`,
    );
  }
  const out = new Float32Array(pixels.length);
  for (let image = 0; image < count; image++) {
    const mirrored = flip?.[image] ?? false;
    const base = image * imageSize;
    for (let y = 0; y < height; y++) {
      const row = base + y * width * channels;
      for (let x = 0; x < width; x++) {
        const from = row + (mirrored ? width - 1 - x : x) * channels;
        const to = row + x * channels;
        for (let c = 0; c < channels; c++) out[to + c] = normalisePixel(pixels[from + c]!);
      }
    }
  }
  return tf.tensor4d(out, [count, height, width, channels]);
}
