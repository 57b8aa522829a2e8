/**
 * Where decoded pixels live once a dataset is open: in memory (procedural data rendered at open) or in a
 * decoded-image cache file read on demand, so that large datasets need not fit in memory.
 */
import { promises as fs } from 'node:fs';

export interface ImageStore {
  readonly count: number;
  /** Bytes of one image (H × W × 3). */
  readonly imageBytes: number;
  /** Concatenated pixels of the given images, in the order given. */
  read(indices: readonly number[]): Promise<Uint8Array>;
  /** The cache file behind the store, if any. */
  readonly file?: string;
}

function checkIndices(indices: readonly number[], count: number): void {
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= count) {
      throw new RangeError(`image index ${i} is outside 0..${count - 1}`);
    }
  }
}

export class MemoryImageStore implements ImageStore {
  readonly count: number;

  constructor(
    private readonly data: Uint8Array,
    readonly imageBytes: number,
  ) {
    this.count = data.length / imageBytes;
  }

  read(indices: readonly number[]): Promise<Uint8Array> {
    checkIndices(indices, this.count);
    const out = new Uint8Array(indices.length * this.imageBytes);
    indices.forEach((index, k) => {
      out.set(
        this.data.subarray(index * this.imageBytes, (index + 1) * this.imageBytes),
        k * this.imageBytes,
      );
    });
    return Promise.resolve(out);
  }
}

/** Images stored back to back from offset 0 of `file`. */
export class FileImageStore implements ImageStore {
  constructor(
    readonly file: string,
    readonly count: number,
    readonly imageBytes: number,
  ) {}

  async read(indices: readonly number[]): Promise<Uint8Array> {
    checkIndices(indices, this.count);
    const out = new Uint8Array(indices.length * this.imageBytes);
    // Opened per call: no descriptor outlives a batch, and the OS page cache keeps repeated reads cheap.
    const handle = await fs.open(this.file, 'r');
    try {
      for (let k = 0; k < indices.length; k++) {
        await handle.read(out, k * this.imageBytes, this.imageBytes, indices[k]! * this.imageBytes);
      }
    } finally {
      await handle.close();
    }
    return out;
  }
}
