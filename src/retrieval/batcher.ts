/**
 * Batches concurrent query images into one forward pass: requests that arrive within a short window (or
 * until the batch is full) are embedded together, each under its own task, since methods take mixed-task
 * batches. One pass of 16 images costs far less than 16 passes of one.
 */
export interface BatcherStats {
  /** Images embedded. */
  queries: number;
  forwardPasses: number;
  largestBatch: number;
}

interface Pending {
  readonly pixels: Uint8Array;
  readonly task: number;
  resolve(embedding: Float32Array): void;
  reject(error: unknown): void;
}

export class EmbeddingBatcher {
  readonly stats: BatcherStats = { queries: 0, forwardPasses: 0, largestBatch: 0 };
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    /** Embeds images back to back, image i under `taskIds[i]`, into rows of `dim`. */
    private readonly embed: (pixels: Uint8Array, taskIds: Int32Array) => Float32Array,
    private readonly imageBytes: number,
    private readonly dim: number,
    private readonly options: { windowMs: number; maxBatch: number },
  ) {}

  /** The L2-normalised embedding of one decoded image under a task. */
  submit(pixels: Uint8Array, task: number): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      this.pending.push({ pixels, task, resolve, reject });
      if (this.pending.length >= this.options.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.options.windowMs);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const pixels = new Uint8Array(batch.length * this.imageBytes);
    batch.forEach((p, i) => pixels.set(p.pixels, i * this.imageBytes));
    try {
      const rows = this.embed(
        pixels,
        Int32Array.from(batch, (p) => p.task),
      );
      this.stats.queries += batch.length;
      this.stats.forwardPasses++;
      this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
      batch.forEach((p, i) => p.resolve(rows.slice(i * this.dim, (i + 1) * this.dim)));
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const p of this.pending) p.reject(new Error('the server is closing'));
    this.pending = [];
  }
}
