// `@tensorflow/tfjs` for the op-test run: the same tfjs-core module tree the shipped tests import, with every
// gradient and the cpu backend (its exports too, such as MathBackendCPU), as the @tensorflow/tfjs package has them.
export * from '@tensorflow/tfjs-core';
export * from '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
