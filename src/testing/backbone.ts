/** The backbone contract harness: `checkBackboneContract` (see docs/plugins.md, "Testing a plugin"). */
import { deepStrictEqual } from 'node:assert';
import type { BackboneFactory, ForwardContext } from '../kinds/backbone.js';
import type { AnyPluginOf } from '../kinds/index.js';
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
  variableValues as values,
  type ContractOptions,
} from './assertions.js';
import { buildPlugin, checkedOptions } from './plugin.js';

/**
 * Checks a backbone: description (stages end in `embedding` of `[embeddingDim]`), variable names (unique,
 * scoped, each under its stage's name), determinism under a seed, every stage's output shape, finite outputs, a non-zero gradient for
 * every trainable variable, moving statistics updated in training only, no tensor leak, full disposal.
 * Values are read back asynchronously, so it runs on GPU engines (webgpu) too: await it.
 */
export function checkBackboneContract(factory: BackboneFactory, options?: ContractOptions): Promise<void>;
/** The same, for a plugin: its options are checked, then it is created through mtlzoo's build door. */
export function checkBackboneContract(
  plugin: AnyPluginOf<'backbone'>,
  rawOptions: unknown,
  options?: ContractOptions,
): Promise<void>;
export async function checkBackboneContract(
  subject: BackboneFactory | AnyPluginOf<'backbone'>,
  second?: unknown,
  third?: ContractOptions,
): Promise<void> {
  let factory: BackboneFactory;
  let options: ContractOptions;
  if ('instantiate' in subject) {
    factory = subject;
    options = (second as ContractOptions | undefined) ?? {};
  } else {
    factory = await buildPlugin('backbone', subject, checkedOptions('backbone', subject, second), {});
    options = third ?? {};
  }
  const d = factory.description;
  const label = `backbone ${d.name}`;
  const batch = options.batchSize ?? 2;
  const seed = options.seed ?? 1;
  check(d.stages.length > 0, () => `${label}: no stages`);
  const names = d.stages.map((s) => s.name);
  check(new Set(names).size === names.length, () => `${label}: repeated stage names ${names.join(', ')}`);
  const last = d.stages[d.stages.length - 1]!;
  check(last.name === 'embedding', () => `${label}: last stage is "${last.name}", expected "embedding"`);
  assertShape(`${label}: embedding stage`, last.outputShape, [d.embeddingDim]);

  const baseline = tf.memory().numTensors;
  const net = factory.instantiate('contract/', seed);
  const twin = factory.instantiate('contract/', seed);
  const other = factory.instantiate('contract/', seed + 1);
  try {
    const variables = net.variables();
    assertUniqueNames(label, variables);
    for (const v of variables) {
      check(
        v.name.startsWith('contract/'),
        () => `${label}: variable "${v.name}" ignores the scope "contract/"`,
      );
      check(
        names.some((stage) => v.name.startsWith(`contract/${stage}/`)),
        () =>
          `${label}: variable "${v.name}" is not under a stage's name (contract/<stage>/…; stages ${names.join(', ')})`,
      );
    }
    deepStrictEqual(
      twin.variables().map((v) => v.name),
      variables.map((v) => v.name),
      `${label}: two instances list different variables`,
    );
    deepStrictEqual(
      await values(twin.variables()),
      await values(variables),
      `${label}: same seed, different weights`,
    );
    const mine = await values(variables.filter((v) => v.trainable));
    const theirs = await values(other.variables().filter((v) => v.trainable));
    check(
      mine.some((m, i) => m.some((x, j) => x !== theirs[i]![j])),
      () => `${label}: a different seed gives the same weights`,
    );
  } finally {
    twin.dispose();
    other.dispose();
  }

  const images = seededTensor([batch, ...d.inputShape], seed);
  const runAll = (context: ForwardContext): tf.Tensor =>
    tf.tidy(() => d.stages.reduce<tf.Tensor>((x, _, i) => net.runStage(i, x, context), images));
  try {
    await assertFiniteOutputs(() => {
      let x: tf.Tensor = images;
      return d.stages.map((stage, i): [string, tf.Tensor] => {
        x = net.runStage(i, x, { training: false });
        assertShape(`${label}: output of stage ${stage.name}`, x.shape, [batch, ...stage.outputShape]);
        return [`${label}: output of stage ${stage.name}`, x];
      });
    });
    const state = net.variables().filter((v) => !v.trainable);
    const stateBefore = await values(state);
    tf.dispose(runAll({ training: false }));
    deepStrictEqual(await values(state), stateBefore, `${label}: inference changed state variables`);
    await assertGradients(label, net.variables(), () => runAll({ training: true }));
    const stateAfter = await values(state);
    check(
      state.length === 0 || stateAfter.some((v, i) => v.some((x, j) => x !== stateBefore[i]![j])),
      () => `${label}: training did not update any state variable (BatchNorm moving statistics)`,
    );
    await assertNoLeak(label, () =>
      assertGradients(label, net.variables(), () => runAll({ training: true })),
    );
  } finally {
    images.dispose();
    net.dispose();
  }
  assertReleased(label, baseline);
}
