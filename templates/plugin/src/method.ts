/**
 * example-method: one shared trunk; each task scales and shifts the embedding (FiLM, Perez et al. 2018, on
 * the embedding only), so one trunk pass serves every task. Modelled on the built-in `csn`.
 */
import {
  VariableStore,
  assertTaskIds,
  definePlugin,
  gatherByTask,
  initializers,
  owned,
  parameterReport,
  perTaskVariables,
  runStages,
  stackPerTask,
  tf,
  z,
} from 'mtlzoo';

export const exampleMethod = definePlugin({
  kind: 'method',
  name: 'example-method',
  version: '0.1.0',
  description: 'Shared trunk; per-task scale and shift of the embedding (FiLM)',
  options: z.strictObject({
    /** Initial scale; the shift starts at 0. */
    initScale: z.number().default(1),
  }),
  create(options, { backbone, taskCount, seed }) {
    const d = backbone.description.embeddingDim;
    const trunk = backbone.instantiate('trunk/', seed);
    const store = VariableStore.root('film/', seed);
    const scale = perTaskVariables(store.scope('scale'), taskCount, [d], () =>
      initializers.constant(options.initScale),
    );
    const shift = perTaskVariables(store.scope('shift'), taskCount, [d], () => initializers.constant(0));
    const parameters = () => [...owned(trunk.variables(), 'shared'), ...scale, ...shift];
    return {
      taskCount,
      embeddingDim: d,
      embed(images, taskIds, context) {
        assertTaskIds(taskIds, taskCount, images.shape[0]);
        return tf.tidy(() => {
          const embedding = runStages(trunk, images, context);
          const scaled = tf.mul(embedding, gatherByTask(stackPerTask(scale), taskIds));
          return tf.add(scaled, gatherByTask(stackPerTask(shift), taskIds)) as tf.Tensor2D;
        });
      },
      parameters,
      // Only the embedding depends on the task: one gallery pass serves every task.
      report: () => parameterReport(parameters(), taskCount, 1),
      dispose() {
        trunk.dispose();
        store.dispose();
      },
    };
  },
});
