/** Row-major float32 vectors with their squared norms: what both search engines take. */
import * as tf from '../tf.js';

export class VectorMatrix {
  readonly count: number;
  /** ‖row‖² per row: the exact engines compute ‖q − g‖² as ‖q‖² + ‖g‖² − 2·q·g. */
  readonly norms: Float32Array;
  private blocks: { columns: number; tensors: tf.Tensor2D[] } | undefined;

  constructor(
    readonly data: Float32Array,
    readonly dim: number,
  ) {
    if (!Number.isInteger(dim) || dim < 1 || data.length % dim !== 0) {
      throw new RangeError(`${data.length} floats are not whole rows of ${dim}`);
    }
    this.count = data.length / dim;
    this.norms = squaredNorms(data, dim);
  }

  row(i: number): Float32Array {
    return this.data.subarray(i * this.dim, (i + 1) * this.dim);
  }

  /**
   * The matrix cut into column blocks of `[dim, columns]` tensors, transposed once and kept (a product
   * with a transposed right operand is several times slower on the wasm backend). Freed by `dispose`.
   */
  transposedBlocks(columns: number): readonly tf.Tensor2D[] {
    if (this.blocks?.columns === columns) return this.blocks.tensors;
    this.dispose();
    const tensors: tf.Tensor2D[] = [];
    for (let start = 0; start < this.count; start += columns) {
      const n = Math.min(columns, this.count - start);
      const block = new Float32Array(this.dim * n);
      for (let r = 0; r < n; r++) {
        const row = this.row(start + r);
        for (let c = 0; c < this.dim; c++) block[c * n + r] = row[c]!;
      }
      tensors.push(tf.tensor2d(block, [this.dim, n]));
    }
    this.blocks = { columns, tensors };
    return tensors;
  }

  dispose(): void {
    if (this.blocks) tf.dispose(this.blocks.tensors);
    this.blocks = undefined;
  }
}

export function squaredNorms(data: Float32Array, dim: number): Float32Array {
  const norms = new Float32Array(data.length / dim);
  for (let i = 0; i < norms.length; i++) {
    let sum = 0;
    for (let j = i * dim; j < (i + 1) * dim; j++) sum += data[j]! * data[j]!;
    norms[i] = sum;
  }
  return norms;
}

/** The engine's normalisation (x / sqrt(max(Σx², 1e-12))) for vectors that arrive as numbers, e.g. over HTTP. */
export function normaliseRows(data: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(data.length);
  const norms = squaredNorms(data, dim);
  norms.forEach((squared, i) => {
    const scale = 1 / Math.sqrt(Math.max(squared, 1e-12));
    for (let j = i * dim; j < (i + 1) * dim; j++) out[j] = data[j]! * scale;
  });
  return out;
}
