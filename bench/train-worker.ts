/**
 * One benchmark case of `npm run bench:train`, in its own process so that peak RSS and the wasm heap (which
 * never shrinks) belong to this case alone. Reads the case as JSON from argv[2]; prints one JSON line.
 */
import { printProfile } from './profile.js';
import { Kernel } from '../src/kernel/kernel.js';
import { nativePackUnavailableReason } from '../src/backend/wasm-native.js';
import type { BackboneNet } from '../src/kinds/backbone.js';
import type { GpuAdapterDescription } from '../src/kinds/backend.js';
import { runStages } from '../src/nn/staged.js';
import * as tf from '../src/tf.js';
import { Rng } from '../src/util/random.js';

export interface BenchCase {
  backbone: string;
  backend: string;
  /** Backbone plugin options (input size, embedding size). */
  options: Record<string, unknown>;
  batch: number;
  warmup: number;
  steps: number;
  /** Prints the ten most expensive kernels of one training step to stderr. */
  profile: boolean;
}

export interface WorkerResult {
  trainStepMs: number;
  trainStepBestMs: number;
  embedMs: number;
  embedBestMs: number;
  trainableParams: number;
  tensorsAfterWarmup: number;
  tensorsAfterSteps: number;
  /** Resident set size after warm-up and after the timed steps: flat when nothing accumulates. */
  rssAfterWarmupMB: number;
  rssAfterStepsMB: number;
  peakRssMB: number;
  /** Whether the native pack's convolutions ran (wasm only). */
  nativeUsed: boolean;
  /** The GPU adapter the engine ran on (webgpu only). */
  adapter: GpuAdapterDescription | null;
  /** Where the memory goes, in MB, after the timed steps. */
  memory: {
    /** Peak bytes of live tensors during one training step (tfjs's own count). */
    stepPeakTensorsMB: number;
    /** Tensors alive between steps: weights, optimizer slots, the input batch. */
    tensorsMB: number;
    /** The wasm backend's heap (wasm only): it grows to the step's peak and never shrinks. */
    wasmHeapMB: number | null;
    /** JavaScript objects, and memory outside the JS heap (ArrayBuffers, the wasm heap included). */
    jsHeapMB: number;
    externalMB: number;
  };
}

const MARGIN = 0.2;

/** Squared L2 triplet loss on L2-normalised embeddings; the batch is anchors, positives, negatives in thirds. */
function tripletLoss(embeddings: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const third = Math.floor(embeddings.shape[0] / 3);
    const e = tf.div(embeddings, tf.add(tf.norm(embeddings, 2, 1, true), 1e-12));
    const [a, p, n] = [0, 1, 2].map((i) => tf.slice(e, [i * third, 0], [third, -1]));
    const gap = tf.sub(tf.sum(tf.square(tf.sub(a!, p!)), 1), tf.sum(tf.square(tf.sub(a!, n!)), 1));
    return tf.mean(tf.relu(tf.add(gap, MARGIN)));
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Each call ends by reading its result back (asynchronously: a GPU engine has no synchronous read). */
async function time(fn: () => Promise<void>, warmup: number, steps: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return times;
}

const registries = new Kernel().registries;

async function activate(backendName: string): Promise<GpuAdapterDescription | null> {
  const engine = await registries.build('backend', { name: backendName }, {});
  const loaded = await engine.load();
  if (!loaded.available) throw new Error(`backend ${backendName} unavailable: ${loaded.reason}`);
  if (!(await tf.setBackend(engine.tfBackendName))) throw new Error(`backend ${backendName} failed to start`);
  return loaded.adapter ?? null;
}

function build(c: BenchCase): BackboneNet {
  return registries
    .buildSync('backbone', { name: c.backbone, options: c.options }, {})
    .instantiate('bench/', 1);
}

export async function runCase(c: BenchCase): Promise<WorkerResult> {
  const adapter = await activate(c.backend);
  const net = build(c);
  const [h, w, ch] = net.description.inputShape;
  const rng = new Rng(2);
  const images = tf.tensor4d(
    Float32Array.from({ length: c.batch * h * w * ch }, () => rng.normal()),
    [c.batch, h, w, ch],
  );
  const trainable = net
    .variables()
    .filter((v) => v.trainable)
    .map((v) => v.variable);
  const optimizer = tf.train.adam(1e-3);
  const trainStep = async () => {
    const loss = optimizer.minimize(
      () => tripletLoss(runStages(net, images, { training: true }) as tf.Tensor2D),
      true,
      trainable,
    );
    await loss!.data();
    loss!.dispose();
  };
  const embed = async () => {
    const e = runStages(net, images, { training: false });
    await e.data();
    e.dispose();
  };

  for (let i = 0; i < c.warmup; i++) await trainStep();
  const tensorsAfterWarmup = tf.memory().numTensors;
  const rssAfterWarmupMB = process.memoryUsage().rss / 2 ** 20;
  const trainTimes = await time(trainStep, 0, c.steps);
  const tensorsAfterSteps = tf.memory().numTensors;
  const rssAfterStepsMB = process.memoryUsage().rss / 2 ** 20;
  const embedTimes = await time(embed, 1, c.steps);
  const profile = await tf.profile(trainStep);
  if (c.profile) printProfile(profile);
  const mb = (bytes: number) => bytes / 2 ** 20;
  const usage = process.memoryUsage();
  const heap = (tf.backend() as { wasm?: { HEAPU8: Uint8Array } }).wasm?.HEAPU8.byteLength;
  const memory: WorkerResult['memory'] = {
    stepPeakTensorsMB: mb(profile.peakBytes),
    tensorsMB: mb(tf.memory().numBytes),
    wasmHeapMB: heap === undefined ? null : mb(heap),
    jsHeapMB: mb(usage.heapUsed),
    externalMB: mb(usage.external),
  };

  const result: WorkerResult = {
    trainStepMs: median(trainTimes),
    trainStepBestMs: Math.min(...trainTimes),
    embedMs: median(embedTimes),
    embedBestMs: Math.min(...embedTimes),
    trainableParams: trainable.reduce((n, v) => n + v.size, 0),
    tensorsAfterWarmup,
    tensorsAfterSteps,
    rssAfterWarmupMB,
    rssAfterStepsMB,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    nativeUsed: c.backend === 'wasm' && nativePackUnavailableReason() === undefined,
    adapter,
    memory,
  };
  optimizer.dispose();
  images.dispose();
  net.dispose();
  return result;
}

if (process.argv[2] !== undefined) {
  runCase(JSON.parse(process.argv[2]) as BenchCase).then(
    (result) => console.log(JSON.stringify(result)),
    (error: unknown) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
      process.exitCode = 1;
    },
  );
}
