/** DepthwiseConv2dNativeBackpropFilter, which tfjs-backend-wasm lacks: a loop over heap views. */
import * as tf from '../../tf.js';
import { depthwiseGeometry, forEachDepthwiseTap } from './depthwise.js';
import { argsOf, emptySum, heapF32, isFloat32, isRank, Scratch, type WasmKernel } from './kernel.js';

export const DepthwiseConv2dNativeBackpropFilter: WasmKernel = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  wasm(args) {
    const { inputs, attrs, backend } = argsOf<
      { x: tf.TensorInfo; dy: tf.TensorInfo },
      tf.DepthwiseConv2dNativeBackpropFilterAttrs
    >(args);
    const { x } = inputs;
    const info = depthwiseGeometry(x.shape, attrs.filterShape, attrs);
    if (info === undefined || !isRank(4, inputs.dy) || !isFloat32(x, inputs.dy)) return undefined;
    const empty = emptySum(backend, info.filterShape, [x, inputs.dy]);
    if (empty) return empty;
    const s = new Scratch(backend);
    const dy = s.conform(inputs.dy, info.outShape, 'DepthwiseConv2dNativeBackpropFilter: dy');
    const mult = info.outChannels / info.inChannels;
    const out = backend.makeOutput(info.filterShape, 'float32');
    const [xs, dys, dw] = [x, dy, out].map((t) => heapF32(backend, t)) as [
      Float32Array,
      Float32Array,
      Float32Array,
    ];
    dw.fill(0);
    forEachDepthwiseTap(info, (xBase, wBase, dyBase) => {
      for (let d = 0; d < info.outChannels; d++)
        dw[wBase + d]! += xs[xBase + Math.floor(d / mult)]! * dys[dyBase + d]!;
    });
    return s.release(out);
  },
};
