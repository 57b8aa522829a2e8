/** DepthwiseConv2dNativeBackpropInput, which tfjs-backend-wasm lacks: a loop over heap views. */
import * as tf from '../../tf.js';
import { depthwiseGeometry, forEachDepthwiseTap } from './depthwise.js';
import { argsOf, emptySum, heapF32, isFloat32, isRank, Scratch, type WasmKernel } from './kernel.js';

export const DepthwiseConv2dNativeBackpropInput: WasmKernel = {
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  wasm(args) {
    const { inputs, attrs, backend } = argsOf<
      { dy: tf.TensorInfo; filter: tf.TensorInfo },
      tf.DepthwiseConv2dNativeBackpropInputAttrs
    >(args);
    const { filter } = inputs;
    const info = depthwiseGeometry(attrs.inputShape, filter.shape, attrs);
    if (info === undefined || !isRank(4, inputs.dy) || !isFloat32(filter, inputs.dy)) return undefined;
    const empty = emptySum(backend, info.inShape, [filter, inputs.dy]);
    if (empty) return empty;
    const s = new Scratch(backend);
    const dy = s.conform(inputs.dy, info.outShape, 'DepthwiseConv2dNativeBackpropInput: dy');
    const mult = info.outChannels / info.inChannels;
    const out = backend.makeOutput(info.inShape, 'float32');
    const [dys, ws, dx] = [dy, filter, out].map((t) => heapF32(backend, t)) as [
      Float32Array,
      Float32Array,
      Float32Array,
    ];
    dx.fill(0);
    forEachDepthwiseTap(info, (xBase, wBase, dyBase) => {
      for (let d = 0; d < info.outChannels; d++)
        dx[xBase + Math.floor(d / mult)]! += ws[wBase + d]! * dys[dyBase + d]!;
    });
    return s.release(out);
  },
};
