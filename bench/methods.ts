/**
 * `npm run bench:methods [-- --config FILE] [-- --methods a,b] [-- --rounds N] [-- --json] [-- --profile]`
 *
 * Milliseconds per training step of every method variant on one experiment config (default: the
 * quickstart's data, backbone, batch and optimiser), and each as a multiple of `modulation`'s. The variants
 * run in one process, one step each in turn, round after round, so that a change in machine load shifts
 * every method alike and the ratios stay meaningful on a busy machine; the medians over rounds are
 * reported. A step is what the trainer times: the objective, its gradients and the optimiser update on a
 * decoded batch. `--profile` then profiles one more step of each and prints its slowest kernels by input
 * shapes (stderr).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { Kernel, type Experiment } from '../src/kernel/kernel.js';
import { tripletLosses, withPenalty } from '../src/engine/objective.js';
import { pixelsToTensor } from '../src/engine/pixels.js';
import { createOptimizer } from '../src/train/optimizers.js';
import { TripletSampler, uniqueImages } from '../src/train/sampler.js';
import * as tf from '../src/tf.js';
import { createConsoleLogger } from '../src/util/logger.js';
import { writeFileAtomic } from '../src/util/write.js';
import { printProfile } from './profile.js';
import { tmpdir } from 'node:os';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

/** Every built-in method, ASEN at its released widths and at 64 (closer to the tiny backbone's size). */
const VARIANTS: readonly { label: string; method: unknown }[] = [
  { label: 'modulation', method: 'modulation' },
  { label: 'modulation-matrix', method: { name: 'modulation', options: { form: 'matrix' } } },
  { label: 'shared', method: 'shared' },
  { label: 'separate', method: 'separate' },
  { label: 'cross-stitch', method: 'cross-stitch' },
  { label: 'csn', method: 'csn' },
  {
    label: 'csn-0.1',
    method: { name: 'csn', options: { normalize: 'after-mask', embeddingNormWeight: 0, maskL1Weight: 0 } },
  },
  { label: 'film', method: 'film' },
  { label: 'task-routing', method: 'task-routing' },
  { label: 'adapters', method: 'adapters' },
  { label: 'task-bn', method: 'task-bn' },
  { label: 'mtan', method: 'mtan' },
  { label: 'mmoe', method: 'mmoe' },
  { label: 'asen-v1', method: { name: 'asen', options: { version: 1 } } },
  { label: 'asen-v2', method: { name: 'asen', options: { version: 2 } } },
  {
    label: 'asen-v1-64',
    method: { name: 'asen', options: { version: 1, spatialWidth: 64, channelWidth: 64 } },
  },
  {
    label: 'asen-v2-64',
    method: { name: 'asen', options: { version: 2, spatialWidth: 64, channelWidth: 64, attributeWidth: 64 } },
  },
];

interface Runner {
  readonly label: string;
  readonly experiment: Experiment;
  step(index: number): Promise<number>;
}

async function runner(kernel: Kernel, base: string, label: string, method: unknown): Promise<Runner> {
  const file = path.join(tmpdir(), `mtlzoo-bench-methods-${process.pid}-${label}.yaml`);
  await writeFileAtomic(file, stringify({ extends: path.resolve(base), method }));
  const loaded = await kernel.loadConfig(file);
  const experiment = await kernel.build(loaded);
  const { config } = loaded;
  const split = experiment.dataset.splits.train;
  const sampler = new TripletSampler(split, experiment.dataset.tasks, config.seed, config.train.batch);
  const optimizer = createOptimizer(config.train.optimizer);
  const trainables = experiment.model
    .parameters()
    .filter((p) => p.trainable)
    .map((p) => p.variable);
  return {
    label,
    experiment,
    async step(index) {
      const batch = uniqueImages(sampler.batch(index));
      const pixels = await split.pixels(Array.from(batch.images));
      const started = performance.now();
      tf.tidy(() => {
        const images = pixelsToTensor(pixels, experiment.dataset.imageShape);
        const { grads } = tf.variableGrads(() => {
          const objective = tripletLosses(
            experiment.model,
            experiment.loss,
            images,
            batch,
            config.train.mining,
            split,
          );
          return withPenalty(tf.mean(objective.losses) as tf.Scalar, objective);
        }, trainables);
        optimizer.applyGradients(grads);
      });
      return performance.now() - started;
    },
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string', default: here('../configs/quickstart.yaml') },
      methods: { type: 'string' },
      rounds: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '3' },
      json: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
    },
  });
  const wanted = values.methods?.split(',').map((s) => s.trim());
  const variants = wanted ? VARIANTS.filter((v) => wanted.includes(v.label)) : VARIANTS;
  const rounds = Number(values.rounds);
  const warmup = Number(values.warmup);
  const log = createConsoleLogger();
  const kernel = new Kernel({ logger: log });
  const runners: Runner[] = [];
  for (const v of variants) runners.push(await runner(kernel, values.config!, v.label, v.method));
  const times = new Map(runners.map((r) => [r.label, [] as number[]]));
  for (let round = 0; round < warmup + rounds; round++) {
    for (const r of runners) {
      const ms = await r.step(round);
      if (round >= warmup) times.get(r.label)!.push(ms);
    }
    if (round >= warmup) log.info(`round ${round - warmup + 1}/${rounds}`);
  }
  if (values.profile) {
    for (const r of runners) {
      log.info(`${r.label}: one step profiled`);
      printProfile(await tf.profile(() => r.step(warmup + rounds)), true);
    }
  }
  const reference = times.has('modulation') ? median(times.get('modulation')!) : undefined;
  const results = runners.map((r) => {
    const ms = median(times.get(r.label)!);
    return {
      label: r.label,
      msPerStep: ms,
      vsModulation: reference === undefined ? undefined : ms / reference,
      totalParams: r.experiment.model.report().totalParams,
    };
  });
  const backend = runners[0]?.experiment.backend.name ?? '';
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ config: values.config, backend, rounds, results })}\n`);
  } else {
    process.stdout.write(`${values.config} on ${backend}, median of ${rounds} interleaved rounds\n`);
    process.stdout.write('method              ms/step  × modulation  params\n');
    for (const r of results) {
      const ratio = r.vsModulation === undefined ? '' : r.vsModulation.toFixed(2);
      process.stdout.write(
        `${r.label.padEnd(18)} ${r.msPerStep.toFixed(1).padStart(8)}  ${ratio.padStart(12)}  ${r.totalParams.toLocaleString('en-US')}\n`,
      );
    }
  }
  for (const r of runners) r.experiment.dispose();
}

await main();
