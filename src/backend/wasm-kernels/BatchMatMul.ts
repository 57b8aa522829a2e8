/**
 * BatchMatMul. Unbatched products with a transposed operand: the shipped kernel hands those to a scalar loop
 * (~20× slower than XNNPACK for [120,512]ᵀ·[120,32]); an explicit XNNPACK Transpose first keeps them on
 * XNNPACK's GEMM. An empty inner dimension gives zeros (XNNPACK would leave the output unwritten).
 */
import * as tf from '../../tf.js';
import { argsOf, isFloat32, Scratch, zeros, type WasmKernel } from './kernel.js';

export const BatchMatMul: WasmKernel = {
  kernelName: tf.BatchMatMul,
  wasm(args) {
    const { inputs, attrs, backend } = argsOf<{ a: tf.TensorInfo; b: tf.TensorInfo }, tf.BatchMatMulAttrs>(
      args,
    );
    const { a, b } = inputs;
    const { transposeA, transposeB } = attrs;
    if (!isFloat32(a, b) || a.shape.length < 2 || b.shape.length < 2) return undefined;
    const [m, k] = a.shape.slice(-2) as [number, number];
    const [k2, n] = b.shape.slice(-2) as [number, number];
    const [rows, inner] = transposeA ? [k, m] : [m, k];
    const [inner2, cols] = transposeB ? [n, k2] : [k2, n];
    if (inner !== inner2) return undefined;
    if (inner === 0) {
      const batch = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
      return zeros(backend, [...batch, rows, cols]);
    }
    const unbatched = (t: tf.TensorInfo) => t.shape.slice(0, -2).every((d) => d === 1);
    if ((!transposeA && !transposeB) || !unbatched(a) || !unbatched(b)) return undefined;
    const s = new Scratch(backend);
    const upright = (t: tf.TensorInfo, transposed: boolean) => {
      if (!transposed) return t;
      const perm = t.shape.map((_, i) => i);
      perm.splice(-2, 2, t.shape.length - 1, t.shape.length - 2);
      return s.transpose(t, perm);
    };
    const operands = { a: upright(a, transposeA), b: upright(b, transposeB) };
    return s.release(s.run(tf.BatchMatMul, operands, { transposeA: false, transposeB: false }));
  },
};
