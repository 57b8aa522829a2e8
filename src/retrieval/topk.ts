/**
 * Partial top-k: the k smallest (distance, index) pairs of a stream, kept in a bounded max-heap so that
 * each candidate costs one comparison with the worst kept one; only the k kept are sorted at the end.
 */
export class TopK {
  private size = 0;

  constructor(
    private readonly k: number,
    /** Where the result goes: k distances and k indices (a query's slice of the output arrays). */
    private readonly dist: Float32Array,
    private readonly index: Int32Array,
  ) {}

  /** Candidates with a distance not below this cannot enter. */
  threshold(): number {
    return this.size < this.k ? Infinity : this.dist[0]!;
  }

  /** Offers a candidate below `threshold()`; candidates must arrive in increasing index order. */
  push(distance: number, index: number): void {
    if (this.size < this.k) {
      this.dist[this.size] = distance;
      this.index[this.size] = index;
      this.siftUp(this.size++);
    } else {
      this.dist[0] = distance;
      this.index[0] = index;
      this.siftDown(0);
    }
  }

  /**
   * Sorts the kept pairs ascending by (distance, index), adds `offset` to every distance (clamped at 0)
   * and pads missing places with index −1 at distance +∞.
   */
  finish(offset = 0): void {
    const pairs = Array.from({ length: this.size }, (_, i) => [this.dist[i]!, this.index[i]!] as const);
    pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    for (let i = 0; i < this.k; i++) {
      const pair = pairs[i];
      this.dist[i] = pair ? Math.max(0, pair[0] + offset) : Infinity;
      this.index[i] = pair ? pair[1] : -1;
    }
  }

  /** Whether slot a holds a worse pair than slot b (larger distance, or equal distance and larger index). */
  private worse(a: number, b: number): boolean {
    const da = this.dist[a]!;
    const db = this.dist[b]!;
    return da > db || (da === db && this.index[a]! > this.index[b]!);
  }

  private swap(a: number, b: number): void {
    const d = this.dist[a]!;
    this.dist[a] = this.dist[b]!;
    this.dist[b] = d;
    const i = this.index[a]!;
    this.index[a] = this.index[b]!;
    this.index[b] = i;
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.worse(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    for (;;) {
      const left = 2 * i + 1;
      let largest = i;
      if (left < this.size && this.worse(left, largest)) largest = left;
      if (left + 1 < this.size && this.worse(left + 1, largest)) largest = left + 1;
      if (largest === i) return;
      this.swap(i, largest);
      i = largest;
    }
  }
}
