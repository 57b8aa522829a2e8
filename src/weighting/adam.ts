/**
 * Adam in float64 on the host, with PyTorch's semantics (L2 weight decay added to the gradient, bias
 * corrections), for the few learned numbers some strategies keep (uncertainty's log-variances, GradNorm's
 * and FAMO's logits). Its state is plain numbers, so it round-trips through a checkpoint exactly.
 */

export interface AdamOptions {
  readonly beta1?: number;
  readonly beta2?: number;
  readonly epsilon?: number;
  readonly weightDecay?: number;
}

/** Plain numbers (JSON, for checkpoints). */
export type AdamState = { step: number; m: number[]; v: number[] };

export class HostAdam {
  private step = 0;
  private m: number[];
  private v: number[];

  constructor(
    size: number,
    private readonly options: AdamOptions = {},
  ) {
    this.m = new Array<number>(size).fill(0);
    this.v = new Array<number>(size).fill(0);
  }

  /** `params` after one update along `gradient` with learning rate `lr`. */
  update(params: readonly number[], gradient: readonly number[], lr: number): number[] {
    const { beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, weightDecay = 0 } = this.options;
    this.step += 1;
    const correction1 = 1 - beta1 ** this.step;
    const correction2 = 1 - beta2 ** this.step;
    return params.map((p, i) => {
      const g = gradient[i]! + weightDecay * p;
      this.m[i] = beta1 * this.m[i]! + (1 - beta1) * g;
      this.v[i] = beta2 * this.v[i]! + (1 - beta2) * g * g;
      return p - (lr / correction1) * (this.m[i]! / (Math.sqrt(this.v[i]! / correction2) + epsilon));
    });
  }

  state(): AdamState {
    return { step: this.step, m: [...this.m], v: [...this.v] };
  }

  restore(state: AdamState): void {
    this.step = state.step;
    this.m = [...state.m];
    this.v = [...state.v];
  }
}

/** `softmax(x)`, shifted by the maximum for stability. */
export function softmax(x: readonly number[]): number[] {
  const max = Math.max(...x);
  const e = x.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** `(∂ softmax(x) / ∂x)ᵀ u`: the gradient of `u · softmax(x)` with respect to x. */
export function softmaxVjp(x: readonly number[], u: readonly number[]): number[] {
  const z = softmax(x);
  const zu = z.reduce((s, v, i) => s + v * u[i]!, 0);
  return z.map((v, i) => v * (u[i]! - zu));
}
