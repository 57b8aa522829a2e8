/**
 * The one TensorFlow.js entry point of the project. tfjs-core carries the engine and gradients; the pure-JS
 * cpu backend is always registered as the last resort. Faster engines (wasm, tfjs-node, tfjs-node-gpu)
 * register into this same engine when their backend plugin loads them.
 */
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';

export * from '@tensorflow/tfjs-core';
