/**
 * Records the kernels a TensorFlow.js computation runs on its input, as a graph: every kernel call that
 * reads (directly or through earlier calls) the traced input becomes a node; everything computed from
 * weights and constants alone (a task's row of a modulation table, its ReLU, a stacked mask) is evaluated
 * once and kept as a constant. The computation itself runs unchanged, on the active backend.
 *
 * Kernel calls are observed by wrapping the engine's `runKernel`, the one door every tfjs op goes through.
 */
import * as tf from '../tf.js';

/** A constant input of a traced kernel, read at trace time. */
export interface TracedConstant {
  readonly id: number;
  readonly dtype: tf.DataType;
  readonly shape: readonly number[];
  readonly values: tf.TypedArray;
}

export type TracedInput =
  { readonly kind: 'tensor'; readonly id: number } | { readonly kind: 'constant'; readonly id: number };

export interface TracedNode {
  readonly kernel: string;
  /** Inputs by the kernel's input names (`x`, `filter`, …; `0`, `1`, … for list kernels). */
  readonly inputs: ReadonlyMap<string, TracedInput>;
  readonly attrs: Readonly<Record<string, unknown>>;
  /** Ids of the tensors it produced. */
  readonly outputs: readonly number[];
  readonly outputShapes: readonly (readonly number[])[];
  readonly outputDtypes: readonly tf.DataType[];
}

export interface TracedGraph {
  readonly inputId: number;
  readonly outputId: number;
  /** Nodes in execution order, only those the output depends on. */
  readonly nodes: readonly TracedNode[];
  readonly constants: ReadonlyMap<number, TracedConstant>;
}

interface KernelEngine {
  runKernel(
    name: string,
    inputs: Record<string, tf.Tensor | tf.Tensor[]>,
    attrs?: Record<string, unknown>,
  ): tf.Tensor | tf.Tensor[];
}

/** Runs `fn` on a zero input of `shape` and records the graph from that input to `fn`'s result. */
export function traceGraph(shape: readonly number[], fn: (input: tf.Tensor) => tf.Tensor): TracedGraph {
  const engine = tf.engine() as unknown as KernelEngine;
  const original = engine.runKernel;
  const live = new Set<number>();
  const nodes: TracedNode[] = [];
  const constants = new Map<number, TracedConstant>();
  let depth = 0;
  const traced: KernelEngine['runKernel'] = function (this: KernelEngine, name, inputs, attrs) {
    // Kernels that run other kernels: only the outermost call is the op.
    depth++;
    let result: tf.Tensor | tf.Tensor[];
    try {
      result = original.call(this, name, inputs, attrs);
    } finally {
      depth--;
    }
    if (depth > 0) return result;
    // Optional inputs a kernel was not given (a fused convolution's bias) are absent, not tensors.
    const entries = Object.entries(inputs).flatMap(([key, value]) =>
      Array.isArray(value)
        ? value.map((t, i) => [String(i), t] as const)
        : value
          ? [[key, value] as const]
          : [],
    );
    if (!entries.some(([, t]) => live.has(t.id))) return result;
    const outputs = Array.isArray(result) ? result : [result];
    const named = new Map<string, TracedInput>();
    for (const [key, tensor] of entries) {
      if (live.has(tensor.id)) named.set(key, { kind: 'tensor', id: tensor.id });
      else {
        if (!constants.has(tensor.id)) {
          constants.set(tensor.id, {
            id: tensor.id,
            dtype: tensor.dtype,
            shape: [...tensor.shape],
            values: tensor.dataSync(),
          });
        }
        named.set(key, { kind: 'constant', id: tensor.id });
      }
    }
    for (const out of outputs) live.add(out.id);
    nodes.push({
      kernel: name,
      inputs: named,
      attrs: { ...(attrs ?? {}) },
      outputs: outputs.map((t) => t.id),
      outputShapes: outputs.map((t) => [...t.shape]),
      outputDtypes: outputs.map((t) => t.dtype),
    });
    return result;
  };
  engine.runKernel = traced;
  let inputId = -1;
  let outputId = -1;
  try {
    tf.tidy(() => {
      const input = tf.zeros([...shape]);
      inputId = input.id;
      live.add(inputId);
      outputId = fn(input).id;
    });
  } finally {
    engine.runKernel = original;
  }
  if (!live.has(outputId)) throw new Error('the traced output does not depend on the input');
  return { inputId, outputId, nodes: prune(nodes, outputId), constants };
}

/** Drops nodes the output does not depend on. */
function prune(nodes: readonly TracedNode[], outputId: number): TracedNode[] {
  const needed = new Set([outputId]);
  const kept: TracedNode[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    if (!node.outputs.some((id) => needed.has(id))) continue;
    kept.push(node);
    for (const input of node.inputs.values()) if (input.kind === 'tensor') needed.add(input.id);
  }
  return kept.reverse();
}
