/** The method contract harness: `checkMethodContract` (see docs/plugins.md, "Testing a plugin"). */
import type { BackboneFactory } from '../kinds/backbone.js';
import type { AnyPluginOf } from '../kinds/index.js';
import type { MtlModel, ParameterEntry } from '../kinds/method.js';
import * as tf from '../tf.js';
import {
  assertFiniteOutputs,
  assertGradients,
  assertNoLeak,
  assertReleased,
  assertShape,
  assertUniqueNames,
  check,
  seededTensor,
  type ContractOptions,
} from './assertions.js';
import { buildPlugin, checkedOptions } from './plugin.js';

/** Sums trainable sizes by owner and all bytes, independently of the plugin's own report. */
function expectedReport(entries: readonly ParameterEntry[], taskCount: number) {
  let shared = 0;
  let tasks = 0;
  let bytes = 0;
  for (const e of entries) {
    bytes += 4 * e.variable.size;
    if (e.trainable) {
      if (e.owner === 'shared') shared += e.variable.size;
      else tasks += e.variable.size;
    }
  }
  return { sharedParams: shared, paramsPerTask: tasks / taskCount, totalParams: shared + tasks, bytes };
}

/**
 * Checks a method: options validate and round-trip through JSON, `check` accepts them, the model's
 * parameters are uniquely named with valid owners, its report matches them, a mixed-task batch embeds to
 * `[N, embeddingDim]` finite values, every trainable variable receives a non-zero gradient, nothing leaks,
 * and dispose frees everything.
 */
export async function checkMethodContract(
  plugin: AnyPluginOf<'method'>,
  rawOptions: unknown,
  backbone: BackboneFactory,
  taskCount: number,
  options: ContractOptions = {},
): Promise<void> {
  const label = `method ${plugin.name}`;
  const methodOptions = checkedOptions('method', plugin, rawOptions, { backbone: backbone.description });
  const baseline = tf.memory().numTensors;
  const model: MtlModel = await buildPlugin('method', plugin, methodOptions, {
    backbone,
    taskCount,
    seed: options.seed ?? 1,
  });
  const d = backbone.description;
  try {
    check(
      model.taskCount === taskCount,
      () => `${label}: taskCount ${model.taskCount}, expected ${taskCount}`,
    );
    check(model.embeddingDim > 0, () => `${label}: embeddingDim ${model.embeddingDim}`);
    const entries = model.parameters();
    assertUniqueNames(label, entries);
    for (const e of entries) {
      if (e.owner !== 'shared') {
        const task = e.owner.task;
        check(
          Number.isInteger(task) && task >= 0 && task < taskCount,
          () => `${label}: "${e.name}" is owned by task ${task}, outside [0, ${taskCount})`,
        );
      }
    }
    const report = model.report();
    const expected = expectedReport(entries, taskCount);
    for (const key of ['sharedParams', 'paramsPerTask', 'totalParams', 'bytes'] as const) {
      check(
        report[key] === expected[key],
        () => `${label}: report ${key} ${report[key]}, parameters give ${expected[key]}`,
      );
    }
    check(
      Number.isInteger(report.galleryPasses) &&
        report.galleryPasses >= 1 &&
        report.galleryPasses <= taskCount,
      () => `${label}: galleryPasses ${report.galleryPasses} outside [1, ${taskCount}]`,
    );

    const batch = options.batchSize ?? 2 * taskCount;
    check(batch >= taskCount, () => `${label}: batch ${batch} cannot hold every task`);
    // Interleaved ids: every task present, no task contiguous, so routing must really route.
    const taskIds = Int32Array.from({ length: batch }, (_, i) => i % taskCount);
    const images = seededTensor([batch, ...d.inputShape], 3) as tf.Tensor4D;
    try {
      await assertFiniteOutputs(() => {
        const out = model.embed(images, taskIds, { training: false });
        assertShape(`${label}: embeddings`, out.shape, [batch, model.embeddingDim]);
        return [[`${label}: embeddings`, out]];
      });
      const step = () =>
        assertGradients(label, entries, () => model.embed(images, taskIds, { training: true }));
      await step();
      await assertNoLeak(label, step);
    } finally {
      images.dispose();
    }
  } finally {
    model.dispose();
  }
  assertReleased(label, baseline);
}
