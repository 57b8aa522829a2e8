/**
 * Contract checks for backbone and method plugins, for the project's own tests and for third-party plugin
 * authors' (call them from any test runner: they reject with AssertionError and use no runner globals). Each
 * check runs forward passes, one gradient per trainable variable, and counts tensors to catch leaks, on the
 * active backend. Values are read back asynchronously, so the checks run on GPU engines (webgpu) too.
 */
import { AssertionError, deepStrictEqual } from 'node:assert';
import type { BackboneFactory, ForwardContext, NamedVariable } from '../kinds/backbone.js';
import type { AnyPluginOf } from '../kinds/index.js';
import type { MtlModel, ParameterEntry } from '../kinds/method.js';
import * as tf from '../tf.js';
import { Rng } from '../util/random.js';

function fail(message: string): never {
  throw new AssertionError({ message });
}

function check(condition: boolean, message: () => string): asserts condition {
  if (!condition) fail(message());
}

/** Deterministic images in [0, 1) (the harness draws no tfjs randomness, so failures reproduce). */
function seededTensor(shape: readonly number[], seed: number): tf.Tensor {
  const rng = new Rng(seed);
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < values.length; i++) values[i] = rng.next();
  return tf.tensor(values, [...shape]);
}

async function assertFinite(label: string, tensor: tf.Tensor): Promise<void> {
  const values = await tensor.data();
  for (let i = 0; i < values.length; i++) {
    check(Number.isFinite(values[i]!), () => `${label}: non-finite value ${values[i]} at ${i}`);
  }
}

function assertShape(label: string, actual: readonly number[], expected: readonly number[]): void {
  check(
    actual.length === expected.length && actual.every((v, i) => v === expected[i]),
    () => `${label}: shape [${actual.join(', ')}], expected [${expected.join(', ')}]`,
  );
}

function assertUniqueNames(label: string, variables: readonly NamedVariable[]): void {
  const seen = new Set<string>();
  for (const v of variables) {
    check(!seen.has(v.name), () => `${label}: variable name "${v.name}" is used twice`);
    seen.add(v.name);
  }
}

/**
 * One training step's gradient: d(Σ embedding ⊙ r)/dθ for every trainable variable, with r fixed. Every
 * gradient must have its variable's shape, be finite, and not be all zeros.
 */
async function assertGradients(
  label: string,
  variables: readonly NamedVariable[],
  embed: () => tf.Tensor,
): Promise<void> {
  const trainable = variables.filter((v) => v.trainable);
  check(trainable.length > 0, () => `${label}: no trainable variables`);
  const { value, grads } = tf.variableGrads(
    () => {
      const embedding = embed();
      return tf.sum(tf.mul(embedding, seededTensor(embedding.shape, 99))) as tf.Scalar;
    },
    trainable.map((v) => v.variable),
  );
  try {
    await assertFinite(`${label}: loss`, value);
    for (const v of trainable) {
      const grad = grads[v.variable.name];
      check(grad !== undefined, () => `${label}: no gradient reaches "${v.name}"`);
      assertShape(`${label}: gradient of "${v.name}"`, grad.shape, v.variable.shape);
      await assertFinite(`${label}: gradient of "${v.name}"`, grad);
      const values = await grad.data();
      check(
        values.some((x) => x !== 0),
        () => `${label}: gradient of "${v.name}" is all zeros`,
      );
    }
  } finally {
    tf.dispose([value, ...Object.values(grads)]);
  }
}

/** Runs `step` (already run once, so lazily created state exists) and fails if the tensor count grew. */
async function assertNoLeak(label: string, step: () => Promise<void>): Promise<void> {
  const before = tf.memory().numTensors;
  await step();
  const after = tf.memory().numTensors;
  check(after === before, () => `${label}: ${after - before} tensors leaked by one call`);
}

async function values(variables: readonly NamedVariable[]): Promise<Float32Array[]> {
  return Promise.all(variables.map(async (v) => (await v.variable.data()) as Float32Array));
}

/** Runs `forward` under tf.tidy, then checks each tensor it returns is finite and disposes them. */
async function assertFiniteOutputs(forward: () => [string, tf.Tensor][]): Promise<void> {
  let outputs: [string, tf.Tensor][] = [];
  tf.tidy(() => {
    outputs = forward();
    return outputs.map(([, t]) => t);
  });
  try {
    for (const [label, tensor] of outputs) await assertFinite(label, tensor);
  } finally {
    tf.dispose(outputs.map(([, t]) => t));
  }
}

export interface ContractOptions {
  /** Samples per batch; at least 2 so BatchNorm batch statistics are not degenerate. Default 2 per task. */
  batchSize?: number;
  seed?: number;
}

/**
 * Checks a backbone: description (stages end in `embedding` of `[embeddingDim]`), variable names (unique,
 * scoped), determinism under a seed, every stage's output shape, finite outputs, a non-zero gradient for
 * every trainable variable, moving statistics updated in training only, no tensor leak, full disposal.
 */
export async function checkBackboneContract(
  factory: BackboneFactory,
  options: ContractOptions = {},
): Promise<void> {
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
  const left = tf.memory().numTensors - baseline;
  check(left === 0, () => `${label}: ${left} tensors remain after dispose()`);
}

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
  check(plugin.kind === 'method', () => `${label}: kind is "${plugin.kind}"`);
  const parsed = plugin.options.safeParse(rawOptions);
  check(parsed.success, () => `${label}: options rejected: ${parsed.error?.message}`);
  const methodOptions: unknown = parsed.data;
  deepStrictEqual(
    plugin.options.parse(JSON.parse(JSON.stringify(methodOptions))),
    methodOptions,
    `${label}: resolved options do not round-trip through JSON`,
  );
  const issues = plugin.check?.(methodOptions, { backbone: backbone.description }) ?? [];
  check(issues.length === 0, () => `${label}: check() rejects valid options: ${JSON.stringify(issues)}`);

  const baseline = tf.memory().numTensors;
  const model: MtlModel = await plugin.create(methodOptions, {
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
  const left = tf.memory().numTensors - baseline;
  check(left === 0, () => `${label}: ${left} tensors remain after dispose()`);
}
