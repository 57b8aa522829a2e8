/**
 * The one TensorFlow.js entry point of the project. @tensorflow/tfjs brings the engine, every gradient,
 * the chained-op methods and the pure-JS cpu backend (the last resort and numerical reference). Faster
 * engines (wasm, tfjs-node, tfjs-node-gpu) register into this same engine when their backend plugin
 * loads them. Import nothing from tfjs-core's `dist/` folders: those are ES-module builds that would load
 * a second copy of the library.
 */
import { MathBackendCPU, findBackend, getBackend, registerBackend, removeBackend } from '@tensorflow/tfjs';
import { installAdamUpdate } from './backend/adam-update.js';
import { installBackpropRelease } from './backend/backprop-memory.js';
import { registerReductionGradients } from './backend/reduction-gradients.js';

/**
 * mtlzoo says which backend it picked and why; tfjs's cpu engine would add its "install tfjs-node" banner at
 * its first tensor, in the middle of other output (`mtlzoo params`, which selects no backend, printed it).
 * tfjs creates a new cpu engine whenever it picks a default backend, so the quiet one is registered as the
 * factory (at tfjs's own priority, 1) rather than set on one instance.
 */
function quietCpu(): MathBackendCPU {
  const engine = new MathBackendCPU();
  (engine as unknown as { firstUse: boolean }).firstUse = false;
  return engine;
}

if (getBackend() === 'cpu') {
  // tfjs already runs on cpu (a program that used it before importing mtlzoo): keep that engine and its tensors.
  (findBackend('cpu') as unknown as { firstUse: boolean }).firstUse = false;
} else {
  removeBackend('cpu');
  registerBackend('cpu', quietCpu, 1);
}
registerReductionGradients();
installBackpropRelease();
installAdamUpdate();

export * from '@tensorflow/tfjs';
