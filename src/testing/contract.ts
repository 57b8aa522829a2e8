/**
 * Contract checks for backbone and method plugins, for the project's own tests and for third-party plugin
 * authors' (call them from any test runner: they throw AssertionError and use no runner globals). Each check
 * runs forward passes, one gradient per trainable variable, and counts tensors to catch leaks.
 */
import { AssertionError, deepStrictEqual } from 'node:assert';
import type { BackboneFactory, ForwardContext, NamedVariable } from '../kinds/backbone.js';
import type { AnyPluginOf } from '../kinds/index.js';
import { taskDependenceOf, type MtlModel, type ParameterEntry } from '../kinds/method.js';
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

function assertFinite(label: string, tensor: tf.Tensor): void {
  const values = tensor.dataSync();
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
function assertGradients(label: string, variables: readonly NamedVariable[], embed: () => tf.Tensor): void {
  const trainable = variables.filter((v) => v.trainable);
  check(trainable.length > 0, () => `${label}: no trainable variables`);
  tf.tidy(() => {
    let weights: tf.Tensor | undefined;
    const { value, grads } = tf.variableGrads(
      () => {
        const embedding = embed();
        weights ??= seededTensor(embedding.shape, 99);
        return tf.sum(tf.mul(embedding, weights)) as tf.Scalar;
      },
      trainable.map((v) => v.variable),
    );
    assertFinite(`${label}: loss`, value);
    for (const v of trainable) {
      const grad = grads[v.variable.name];
      check(grad !== undefined, () => `${label}: no gradient reaches "${v.name}"`);
      assertShape(`${label}: gradient of "${v.name}"`, grad.shape, v.variable.shape);
      assertFinite(`${label}: gradient of "${v.name}"`, grad);
      check(tf.max(tf.abs(grad)).dataSync()[0]! > 0, () => `${label}: gradient of "${v.name}" is all zeros`);
    }
  });
}

/** Runs `step` (already run once, so lazily created state exists) and fails if the tensor count grew. */
function assertNoLeak(label: string, step: () => void): void {
  const before = tf.memory().numTensors;
  step();
  const after = tf.memory().numTensors;
  check(after === before, () => `${label}: ${after - before} tensors leaked by one call`);
}

function values(variables: readonly NamedVariable[]): Float32Array[] {
  return variables.map((v) => v.variable.dataSync() as Float32Array);
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
export function checkBackboneContract(factory: BackboneFactory, options: ContractOptions = {}): void {
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
    deepStrictEqual(values(twin.variables()), values(variables), `${label}: same seed, different weights`);
    const mine = values(variables.filter((v) => v.trainable));
    const theirs = values(other.variables().filter((v) => v.trainable));
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
    tf.tidy(() => {
      let x: tf.Tensor = images;
      d.stages.forEach((stage, i) => {
        x = net.runStage(i, x, { training: false });
        assertShape(`${label}: output of stage ${stage.name}`, x.shape, [batch, ...stage.outputShape]);
        assertFinite(`${label}: output of stage ${stage.name}`, x);
      });
    });
    const state = net.variables().filter((v) => !v.trainable);
    const stateBefore = values(state);
    tf.dispose(runAll({ training: false }));
    deepStrictEqual(values(state), stateBefore, `${label}: inference changed state variables`);
    assertGradients(label, net.variables(), () => runAll({ training: true }));
    check(
      state.length === 0 || values(state).some((v, i) => v.some((x, j) => x !== stateBefore[i]![j])),
      () => `${label}: training did not update any state variable (BatchNorm moving statistics)`,
    );
    assertNoLeak(label, () => assertGradients(label, net.variables(), () => runAll({ training: true })));
  } finally {
    images.dispose();
    net.dispose();
  }
  const left = tf.memory().numTensors - baseline;
  check(left === 0, () => `${label}: ${left} tensors remain after dispose()`);
}

/**
 * A declared shared prefix must be a real split of `embed`: `complete(shared(x))` gives what `embed(x)`
 * gives (to float rounding), for mixed tasks, without leaking.
 */
function assertTaskDependence(
  label: string,
  model: MtlModel,
  images: tf.Tensor4D,
  taskIds: Int32Array,
  stageCount: number,
): void {
  const dependence = taskDependenceOf(model);
  if (dependence.from === 'input') return;
  const { sharedStages } = dependence;
  check(
    Number.isInteger(sharedStages) && sharedStages >= 1 && sharedStages <= stageCount,
    () => `${label}: taskDependence.sharedStages ${sharedStages} outside [1, ${stageCount}]`,
  );
  const context = { training: false };
  const split = () =>
    tf.tidy(() => dependence.complete(dependence.shared(images, context), taskIds, context));
  tf.tidy(() => {
    const direct = model.embed(images, taskIds, context);
    const viaPrefix = split();
    assertShape(`${label}: complete(shared(x))`, viaPrefix.shape, direct.shape);
    const scale = Math.max(1, tf.max(tf.abs(direct)).dataSync()[0]!);
    const gap = tf.max(tf.abs(tf.sub(direct, viaPrefix))).dataSync()[0]!;
    check(
      gap <= 1e-5 * scale,
      () =>
        `${label}: complete(shared(x)) differs from embed(x) by ${gap} (taskDependence is not a split of embed)`,
    );
  });
  assertNoLeak(`${label}: taskDependence`, () => tf.dispose(split()));
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
 * `[N, embeddingDim]` finite values, a declared task dependence splits `embed` exactly, every trainable
 * variable receives a non-zero gradient, nothing leaks, and dispose frees everything.
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
      tf.tidy(() => {
        const out = model.embed(images, taskIds, { training: false });
        assertShape(`${label}: embeddings`, out.shape, [batch, model.embeddingDim]);
        assertFinite(`${label}: embeddings`, out);
      });
      assertTaskDependence(label, model, images, taskIds, d.stages.length);
      const step = () =>
        assertGradients(label, entries, () => model.embed(images, taskIds, { training: true }));
      step();
      assertNoLeak(label, step);
    } finally {
      images.dispose();
    }
  } finally {
    model.dispose();
  }
  const left = tf.memory().numTensors - baseline;
  check(left === 0, () => `${label}: ${left} tensors remain after dispose()`);
}
