/** TensorFlow.js's pure-JavaScript engine: runs every kernel, slowly; the reference others are checked against. */
import { z } from 'zod';
import * as tf from '../../src/tf.js';
import { definePlugin } from '../../src/plugin/define.js';

export const cpuBackendPlugin = definePlugin({
  kind: 'backend',
  name: 'cpu',
  version: '0.1.0',
  description: 'pure JavaScript (@tensorflow/tfjs-backend-cpu): complete and slow; the numerical reference',
  options: z.strictObject({}),
  create: () => ({
    tfBackendName: 'cpu',
    async load() {
      return tf.findBackendFactory('cpu')
        ? { available: true }
        : { available: false, reason: '@tensorflow/tfjs-backend-cpu is not registered' };
    },
  }),
});
