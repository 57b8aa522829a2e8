/**
 * A traced graph as a TensorFlow GraphDef in the JSON form TensorFlow.js graph models use (`model.json`
 * with `format: graph-model`), so stock `tf.loadGraphModel` runs it with no mtlzoo code. Each tfjs kernel
 * maps to the TensorFlow op the tfjs converter executes with the same semantics; constants become `Const`
 * nodes whose values are the model's weights.
 */
import { ScaleShift } from '../backend/kernel-names.js';
import { isMtlzooError, MtlzooError } from '../errors.js';
import type * as tf from '../tf.js';
import type { TracedGraph, TracedNode } from './trace.js';

type AttrValue =
  | { type: string }
  | { i: string }
  | { f: number }
  | { b: boolean }
  | { s: string }
  | { list: { i?: string[]; s?: string[] } }
  | { shape: { dim: { size: string }[] } }
  | { tensor: { dtype: string; tensorShape: { dim: { size: string }[] } } };

export interface GraphNode {
  name: string;
  op: string;
  input: string[];
  attr: Record<string, AttrValue>;
}

export interface GraphWeight {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: 'float32' | 'int32';
  readonly values: Float32Array | Int32Array;
}

export interface GraphDefinition {
  readonly nodes: GraphNode[];
  readonly weights: GraphWeight[];
  readonly inputName: string;
  readonly outputName: string;
}

const DTYPES: Partial<Record<tf.DataType, string>> = {
  float32: 'DT_FLOAT',
  int32: 'DT_INT32',
  bool: 'DT_BOOL',
};

function dtypeName(dtype: tf.DataType): string {
  const name = DTYPES[dtype];
  if (!name) throw new Error(`dtype ${dtype} cannot be exported`);
  return name;
}

const shapeAttr = (shape: readonly number[]) => ({ dim: shape.map((d) => ({ size: String(d) })) });
const ints = (values: readonly number[]): AttrValue => ({ list: { i: values.map(String) } });
const str = (value: string): AttrValue => ({ s: Buffer.from(value).toString('base64') });
const pair = (value: unknown): [number, number] =>
  Array.isArray(value) ? [Number(value[0]), Number(value[1])] : [Number(value), Number(value)];

type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

/** TensorFlow's padding attributes for a tfjs `pad` value. */
function padding(pad: unknown): Record<string, AttrValue> {
  if (pad === 'same' || pad === 'valid') return { padding: str(pad.toUpperCase()) };
  const explicit: ExplicitPadding =
    typeof pad === 'number'
      ? [
          [0, 0],
          [pad, pad],
          [pad, pad],
          [0, 0],
        ]
      : (pad as ExplicitPadding);
  return { padding: str('EXPLICIT'), explicit_paddings: ints(explicit.flat()) };
}

class Builder {
  readonly nodes: GraphNode[] = [];
  readonly weights: GraphWeight[] = [];
  private readonly names = new Map<number, string>();
  private count = 0;

  constructor(private readonly graph: TracedGraph) {}

  fresh(prefix: string): string {
    return `${prefix}_${this.count++}`;
  }

  nameOf(id: number): string {
    const name = this.names.get(id);
    if (name) return name;
    const constant = this.graph.constants.get(id);
    if (!constant) throw new Error(`tensor ${id} is neither traced nor constant`);
    const created = this.constant(constant.values, constant.shape, constant.dtype);
    this.names.set(id, created);
    return created;
  }

  bind(id: number, name: string): void {
    this.names.set(id, name);
  }

  /** A `Const` node whose value is stored as a weight. */
  constant(values: tf.TypedArray | readonly number[], shape: readonly number[], dtype: tf.DataType): string {
    const name = this.fresh('const');
    if (dtype !== 'float32' && dtype !== 'int32')
      throw new Error(`constant of dtype ${dtype} cannot be exported`);
    const stored =
      dtype === 'float32'
        ? Float32Array.from(values as ArrayLike<number>)
        : Int32Array.from(values as ArrayLike<number>);
    this.weights.push({ name, shape: [...shape], dtype, values: stored });
    this.nodes.push({
      name,
      op: 'Const',
      input: [],
      attr: {
        dtype: { type: dtypeName(dtype) },
        value: { tensor: { dtype: dtypeName(dtype), tensorShape: shapeAttr(shape) } },
      },
    });
    return name;
  }

  int32(values: readonly number[]): string {
    return this.constant(values, [values.length], 'int32');
  }

  add(op: string, input: string[], attr: Record<string, AttrValue> = {}, prefix = op): string {
    const name = this.fresh(prefix);
    this.nodes.push({ name, op, input, attr });
    return name;
  }
}

type Emit = (b: Builder, node: TracedNode, input: (key: string) => string) => string;

const T = (node: TracedNode): Record<string, AttrValue> => ({
  T: { type: dtypeName(node.outputDtypes[0]!) },
});
const unary =
  (op: string): Emit =>
  (b, node, input) =>
    b.add(op, [input('x')], T(node));
const binary =
  (op: string): Emit =>
  (b, node, input) =>
    b.add(op, [input('a'), input('b')], T(node));
const listInputs = (node: TracedNode, input: (key: string) => string) =>
  [...node.inputs.keys()].sort((a, b) => Number(a) - Number(b)).map(input);
const reduction =
  (op: string): Emit =>
  (b, node, input) => {
    const axis = node.attrs['axis'];
    if (axis === null || axis === undefined) throw new Error('a reduction over every axis is not supported');
    const axes = Array.isArray(axis) ? (axis as number[]) : [Number(axis)];
    return b.add(op, [input('x'), b.int32(axes)], {
      ...T(node),
      keep_dims: { b: Boolean(node.attrs['keepDims']) },
    });
  };

/** The activations a fused kernel may apply after its sum, each as its own TensorFlow op (none: linear). */
const ACTIVATIONS: Readonly<Record<string, string | undefined>> = {
  linear: undefined,
  relu: 'Relu',
  relu6: 'Relu6',
  sigmoid: 'Sigmoid',
  elu: 'Elu',
};

function activate(b: Builder, node: TracedNode, x: string, activation: unknown): string {
  const name = String(activation ?? 'linear');
  if (!(name in ACTIVATIONS)) throw new Error(`the fused activation ${name} is not supported`);
  const op = ACTIVATIONS[name];
  return op ? b.add(op, [x], T(node)) : x;
}

const conv2d: Emit = (b, node, input) => {
  if (node.attrs['dataFormat'] === 'NCHW') throw new Error('NCHW convolutions are not supported');
  const [sh, sw] = pair(node.attrs['strides']);
  const [dh, dw] = pair(node.attrs['dilations'] ?? 1);
  return b.add('Conv2D', [input('x'), input('filter')], {
    ...T(node),
    strides: ints([1, sh, sw, 1]),
    dilations: ints([1, dh, dw, 1]),
    data_format: str('NHWC'),
    ...padding(node.attrs['pad']),
  });
};

/** tfjs kernel → TensorFlow op(s). */
const EMITTERS: Record<string, Emit> = {
  Add: binary('AddV2'),
  Sub: binary('Sub'),
  Multiply: binary('Mul'),
  RealDiv: binary('RealDiv'),
  Maximum: binary('Maximum'),
  Minimum: binary('Minimum'),
  SquaredDifference: binary('SquaredDifference'),
  Relu: unary('Relu'),
  Relu6: unary('Relu6'),
  Sigmoid: unary('Sigmoid'),
  Tanh: unary('Tanh'),
  Rsqrt: unary('Rsqrt'),
  Sqrt: unary('Sqrt'),
  Square: unary('Square'),
  Neg: unary('Neg'),
  Abs: unary('Abs'),
  Exp: unary('Exp'),
  Log: unary('Log'),
  Identity: unary('Identity'),
  Softmax: (b, node, input) => {
    const rank = node.outputShapes[0]!.length;
    const dim = Number(node.attrs['dim'] ?? -1);
    if (dim !== -1 && dim !== rank - 1) throw new Error('a softmax over an axis other than the last');
    return b.add('Softmax', [input('logits')], T(node));
  },
  Sum: reduction('Sum'),
  Mean: reduction('Mean'),
  Max: reduction('Max'),
  AddN: (b, node, input) => {
    const inputs = listInputs(node, input);
    return b.add('AddN', inputs, { ...T(node), N: { i: String(inputs.length) } });
  },
  Pack: (b, node, input) => {
    const inputs = listInputs(node, input);
    return b.add('Pack', inputs, {
      ...T(node),
      N: { i: String(inputs.length) },
      axis: { i: String(node.attrs['axis']) },
    });
  },
  Concat: (b, node, input) => {
    const inputs = listInputs(node, input);
    return b.add('ConcatV2', [...inputs, b.int32([Number(node.attrs['axis'])])], {
      ...T(node),
      N: { i: String(inputs.length) },
    });
  },
  Reshape: (b, node, input) => b.add('Reshape', [input('x'), b.int32(node.outputShapes[0]!)], T(node)),
  // A reshape to the traced output shape (the batch size is fixed at export).
  ExpandDims: (b, node, input) => b.add('Reshape', [input('input'), b.int32(node.outputShapes[0]!)], T(node)),
  Transpose: (b, node, input) =>
    b.add('Transpose', [input('x'), b.int32(node.attrs['perm'] as number[])], T(node)),
  Tile: (b, node, input) => b.add('Tile', [input('x'), b.int32(node.attrs['reps'] as number[])], T(node)),
  BroadcastTo: (b, node, input) =>
    b.add('BroadcastTo', [input('x'), b.int32(node.outputShapes[0]!)], T(node)),
  Slice: (b, node, input) => {
    const rank = node.outputShapes[0]!.length;
    const begin = node.attrs['begin'];
    const size = node.attrs['size'];
    const list = (v: unknown) =>
      Array.isArray(v) ? (v as number[]) : new Array<number>(rank).fill(Number(v));
    return b.add('Slice', [input('x'), b.int32(list(begin)), b.int32(list(size))], T(node));
  },
  GatherV2: (b, node, input) =>
    b.add('GatherV2', [input('x'), input('indices'), b.int32([Number(node.attrs['axis'])])], {
      Tparams: { type: dtypeName(node.outputDtypes[0]!) },
      batch_dims: { i: String(node.attrs['batchDims'] ?? 0) },
    }),
  Cast: (b, node, input) => b.add('Cast', [input('x')], { DstT: { type: dtypeName(node.outputDtypes[0]!) } }),
  BatchMatMul: (b, node, input) =>
    b.add('BatchMatMulV2', [input('a'), input('b')], {
      ...T(node),
      adj_x: { b: Boolean(node.attrs['transposeA']) },
      adj_y: { b: Boolean(node.attrs['transposeB']) },
    }),
  Conv2D: conv2d,
  // Written as the plain ops it fuses (conv, bias, activation): every TensorFlow.js loader runs those.
  FusedConv2D: (b, node, input) => {
    if (node.inputs.has('preluActivationWeights')) throw new Error('a PReLU activation is not supported');
    const y = conv2d(b, node, input);
    const biased = node.inputs.has('bias') ? b.add('AddV2', [y, input('bias')], T(node)) : y;
    return activate(b, node, biased, node.attrs['activation']);
  },
  // mtlzoo's per-channel x·scale + shift (inference batch normalisation), then ReLU when asked.
  [ScaleShift]: (b, node, input) => {
    const y = b.add('AddV2', [b.add('Mul', [input('x'), input('scale')], T(node)), input('shift')], T(node));
    return activate(b, node, y, node.attrs['relu'] ? 'relu' : 'linear');
  },
  MaxPool: (b, node, input) => {
    const [kh, kw] = pair(node.attrs['filterSize']);
    const [sh, sw] = pair(node.attrs['strides']);
    let x = input('x');
    let pad = node.attrs['pad'];
    if (pad !== 'same' && pad !== 'valid') {
      // The converter's MaxPool ignores explicit padding; padding with −∞ first is the same window maximum.
      const explicit = padding(pad)['explicit_paddings'] as { list: { i: string[] } };
      x = b.add(
        'PadV2',
        [x, b.constant(explicit.list.i.map(Number), [4, 2], 'int32'), b.constant([-Infinity], [], 'float32')],
        T(node),
      );
      pad = 'valid';
    }
    return b.add('MaxPool', [x], {
      ...T(node),
      ksize: ints([1, kh, kw, 1]),
      strides: ints([1, sh, sw, 1]),
      data_format: str('NHWC'),
      ...padding(pad),
    });
  },
  AvgPool: (b, node, input) => {
    const pad = node.attrs['pad'];
    if (pad !== 'same' && pad !== 'valid') throw new Error('AvgPool with explicit padding is not supported');
    const [kh, kw] = pair(node.attrs['filterSize']);
    const [sh, sw] = pair(node.attrs['strides']);
    return b.add('AvgPool', [input('x')], {
      ...T(node),
      ksize: ints([1, kh, kw, 1]),
      strides: ints([1, sh, sw, 1]),
      data_format: str('NHWC'),
      ...padding(pad),
    });
  },
  PadV2: (b, node, input) =>
    b.add(
      'PadV2',
      [
        input('x'),
        b.constant((node.attrs['paddings'] as number[][]).flat(), [node.outputShapes[0]!.length, 2], 'int32'),
        b.constant([Number(node.attrs['constantValue'] ?? 0)], [], node.outputDtypes[0]!),
      ],
      T(node),
    ),
};

/** Kernels the exporter can write. */
export const EXPORTABLE_KERNELS: readonly string[] = Object.keys(EMITTERS).sort();

/**
 * The GraphDef of a traced graph with a `Placeholder` input named `inputName` of shape `inputShape` and
 * the output behind an `Identity` named `outputName`.
 */
export function toGraphDef(
  graph: TracedGraph,
  inputShape: readonly number[],
  names: { input: string; output: string },
): GraphDefinition {
  const b = new Builder(graph);
  b.nodes.push({
    name: names.input,
    op: 'Placeholder',
    input: [],
    attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: shapeAttr(inputShape) } },
  });
  b.bind(graph.inputId, names.input);
  for (const node of graph.nodes) {
    const emit = EMITTERS[node.kernel];
    if (!emit) {
      throw new MtlzooError(
        'USAGE',
        `cannot export: the model runs kernel ${node.kernel}, which the exporter cannot write as a TensorFlow op (it writes ${EXPORTABLE_KERNELS.join(', ')})`,
      );
    }
    if (node.outputs.length !== 1)
      throw new Error(`${node.kernel}: kernels with several outputs are not supported`);
    const input = (key: string): string => {
      const ref = node.inputs.get(key);
      if (!ref) throw new Error(`${node.kernel} has no input ${key}`);
      return b.nameOf(ref.id);
    };
    let name: string;
    try {
      name = emit(b, node, input);
    } catch (error) {
      if (isMtlzooError(error)) throw error;
      throw new MtlzooError('USAGE', `cannot export kernel ${node.kernel}: ${(error as Error).message}`);
    }
    b.bind(node.outputs[0]!, name);
  }
  b.nodes.push({
    name: names.output,
    op: 'Identity',
    input: [b.nameOf(graph.outputId)],
    attr: { T: { type: 'DT_FLOAT' } },
  });
  return { nodes: b.nodes, weights: b.weights, inputName: names.input, outputName: names.output };
}
