/**
 * The one TensorFlow.js entry point of the project. @tensorflow/tfjs brings the engine, every gradient,
 * the chained-op methods and the pure-JS cpu backend (the last resort and numerical reference). Faster
 * engines (wasm, tfjs-node, tfjs-node-gpu) register into this same engine when their backend plugin
 * loads them. Import nothing from tfjs-core's `dist/` folders: those are ES-module builds that would load
 * a second copy of the library.
 */
import { findBackend } from '@tensorflow/tfjs';
import { installAdamUpdate } from './backend/adam-update.js';
import { installBackpropRelease } from './backend/backprop-memory.js';
import { registerReductionGradients } from './backend/reduction-gradients.js';

// mtlzoo says which backend it picked and why; tfjs's "install tfjs-node" banner on first cpu use would
// only repeat part of that, in the middle of other output.
(findBackend('cpu') as unknown as { firstUse: boolean }).firstUse = false;
registerReductionGradients();
installBackpropRelease();
installAdamUpdate();

export * from '@tensorflow/tfjs';
