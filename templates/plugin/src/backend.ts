/**
 * example-backend: tfjs's pure-JavaScript cpu kernels under this plugin's own tfjs backend name. A starting
 * point for a backend of your own: `load` registers the engine and its kernels the first time, and reports
 * absence (a package not installed, no device) as `{ available: false, reason }` rather than throwing.
 * mtlzoo then runs its training smoke test on the engine before it trains on it.
 */
import { definePlugin, tf, z } from 'mtlzoo';

const TF_NAME = 'example-backend';

export const exampleBackend = definePlugin({
  kind: 'backend',
  name: 'example-backend',
  version: '0.1.0',
  description: "tfjs's cpu kernels under their own backend name",
  options: z.strictObject({}),
  create: () => ({
    tfBackendName: TF_NAME,
    async load() {
      if (tf.findBackendFactory(TF_NAME)) return { available: true };
      const kernels = tf.getKernelsForBackend('cpu');
      if (kernels.length === 0) return { available: false, reason: "tfjs's cpu kernels are not registered" };
      tf.registerBackend(TF_NAME, () => {
        const engine = new tf.MathBackendCPU();
        // The cpu engine greets Node users once with advice to install tfjs-node; mtlzoo says which backend runs.
        (engine as unknown as { firstUse: boolean }).firstUse = false;
        return engine;
      });
      // Kernels are registered per backend name; gradients per kernel name, so they serve this one too.
      for (const kernel of kernels) tf.registerKernel({ ...kernel, backendName: TF_NAME });
      return { available: true, detail: `${kernels.length} kernels` };
    },
  }),
});
