/**
 * MaxPoolGrad with the first maximum of each window taking the gradient, as the cpu backend and TensorFlow
 * do. @tensorflow/tfjs-backend-webgpu 4.22 gives it to the last maximum (`value >= max`), so windows with
 * tied maxima (equal activations, saturated inputs) send the gradient elsewhere than on cpu.
 *
 * One invocation per input element sums dy over the windows that cover it and whose first maximum it is,
 * recomputing each window's maximum; no positions tensor is kept between two passes.
 */
import * as tf from '../../tf.js';
import { elementwiseProgram, webgpuBackend, type KernelArgs } from './program.js';

function maxPoolGrad({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const program = elementwiseProgram({
    shaderKey: 'mtlzoo_maxPoolGradFirstMax',
    variableNames: ['dy', 'x'],
    outputShape: input.shape,
    uniforms: 'strides : vec2<i32>, pads : vec2<i32>, filterDims : vec2<i32>,',
    body: `
      let coords = getCoordsFromIndex(index);
      let b = coords[0];
      let r = coords[1];
      let c = coords[2];
      let d = coords[3];
      var sum = 0.0;
      for (var wR = 0; wR < uniforms.filterDims.x; wR++) {
        let rows = r + uniforms.pads.x - wR;
        if (rows < 0 || rows % uniforms.strides.x != 0) { continue; }
        let oR = rows / uniforms.strides.x;
        if (oR >= uniforms.dyShape[1]) { continue; }
        for (var wC = 0; wC < uniforms.filterDims.y; wC++) {
          let cols = c + uniforms.pads.y - wC;
          if (cols < 0 || cols % uniforms.strides.y != 0) { continue; }
          let oC = cols / uniforms.strides.y;
          if (oC >= uniforms.dyShape[2]) { continue; }
          // The window's first maximum in row-major order; -inf and NaN never win (v >= -FLT_MAX), as on cpu.
          let top = oR * uniforms.strides.x - uniforms.pads.x;
          let left = oC * uniforms.strides.y - uniforms.pads.y;
          var best = 0.0;
          var found = false;
          var bestR = -1;
          var bestC = -1;
          for (var i = 0; i < uniforms.filterDims.x; i++) {
            let xR = top + i;
            if (xR < 0 || xR >= uniforms.xShape[1]) { continue; }
            for (var j = 0; j < uniforms.filterDims.y; j++) {
              let xC = left + j;
              if (xC < 0 || xC >= uniforms.xShape[2]) { continue; }
              let v = getX(b, xR, xC, d);
              if ((found && v > best) || (!found && v >= bitcast<f32>(0xff7fffffu))) {
                best = v;
                found = true;
                bestR = xR;
                bestC = xC;
              }
            }
          }
          if (bestR == r && bestC == c) { sum += getDy(b, oR, oC, d); }
        }
      }
      setOutputAtIndex(index, sum);`,
  });
  return webgpuBackend(backend).runWebGPUProgram(program, [dy, input], 'float32', [
    { type: 'int32', data: [info.strideHeight, info.strideWidth] },
    { type: 'int32', data: [info.padInfo.top, info.padInfo.left] },
    { type: 'int32', data: [info.filterHeight, info.filterWidth] },
  ]);
}

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: 'webgpu',
  kernelFunc: maxPoolGrad,
};
