/**
 * Frees what the backward pass no longer needs as it goes. tfjs 4.22 keeps every tape node's saved tensors
 * (the forward activations its gradient reads) and the gradient of every intermediate tensor until the whole
 * backward pass ends, so a conv net's peak holds all activations and all their gradients at once. Here a
 * node's saved tensors and the gradients of its outputs are disposed as soon as backpropagation has moved
 * past the node (the next node's gradient is requested), which is what PyTorch's autograd does: the peak
 * falls to about the activations alone. Gradients values are unchanged: only tensors no later node reads
 * are freed (a gradient handed on as an input's gradient, the `dy` a caller passed, and the gradients of
 * the requested xs are kept), and higher-order gradients (which keep the tape) are left alone.
 *
 * This wraps two methods of tfjs's engine (addTapeNode, gradients), internals that package.json pins to the
 * tested tfjs 4.22.0; MTLZOO_BACKPROP_RELEASE=0 turns it off.
 */
import * as tf from '@tensorflow/tfjs';

interface TapeNode {
  saved?: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
}

interface EngineInternals {
  addTapeNode(...args: unknown[]): void;
  gradients(f: () => tf.Tensor, xs: tf.Tensor[], dy?: tf.Tensor, allowNoGradients?: boolean): unknown;
  state: { activeTape: TapeNode[]; gradientDepth: number };
}

/** One backward pass in progress: what it must keep, and the node whose thunks ran last. */
interface Pass {
  keep: Set<tf.Tensor>;
  pending?: { node: TapeNode; dys: tf.Tensor[]; handedOn: Set<tf.Tensor> };
}

/**
 * The switch and the installed mark, shared by every copy of this module in a process (mtlzoo's sources
 * and its build can both be loaded, e.g. a plugin importing the package while the CLI runs from source):
 * the engine is wrapped once, and one switch turns the release on or off.
 */
const shared = ((globalThis as { [key: symbol]: unknown })[Symbol.for('mtlzoo.backpropRelease')] ??= {
  enabled: process.env['MTLZOO_BACKPROP_RELEASE'] !== '0',
  installed: false,
}) as { enabled: boolean; installed: boolean };

/** Turns the early release on or off (tests compare both); returns the previous setting. */
export function setBackpropRelease(on: boolean): boolean {
  const previous = shared.enabled;
  shared.enabled = on;
  return previous;
}

function release(pass: Pass): void {
  const done = pass.pending;
  if (done === undefined) return;
  pass.pending = undefined;
  for (const t of done.node.saved ?? []) t.dispose();
  for (const dy of done.dys) if (!done.handedOn.has(dy) && !pass.keep.has(dy)) dy.dispose();
}

/** Wraps the engine's tape once per process. Idempotent. */
export function installBackpropRelease(): void {
  if (shared.installed) return;
  shared.installed = true;
  const engine = tf.engine() as unknown as EngineInternals;
  const passes: Pass[] = [];
  const addTapeNode = engine.addTapeNode.bind(engine);
  const gradients = engine.gradients.bind(engine);

  engine.gradients = (f, xs, dy, allowNoGradients) => {
    passes.push({ keep: new Set([...xs, ...(dy ? [dy] : [])]) });
    try {
      return gradients(f, xs, dy, allowNoGradients);
    } finally {
      // The last node's tensors go with the backward pass's own scope.
      passes.pop();
    }
  };

  engine.addTapeNode = (...args) => {
    addTapeNode(...args);
    const node = engine.state.activeTape[engine.state.activeTape.length - 1]!;
    const gradient = node.gradient;
    if (gradient === undefined) return;
    node.gradient = (dys) => {
      const pass = passes[passes.length - 1];
      // tfjs keeps the tape for higher-order gradients (depth > 0); so do we.
      if (!shared.enabled || pass === undefined || engine.state.gradientDepth !== 0) return gradient(dys);
      release(pass);
      const thunks = gradient(dys);
      const handedOn = new Set<tf.Tensor>();
      pass.pending = { node, dys: dys.filter((d): d is tf.Tensor => d !== null), handedOn };
      const wrapped: Record<string, () => tf.Tensor> = {};
      for (const [name, thunk] of Object.entries(thunks))
        wrapped[name] = () => {
          const dx = thunk();
          handedOn.add(dx);
          return dx;
        };
      return wrapped;
    };
  };
}
