/**
 * A trained run's model, loaded for embedding images: its checkpoint (checked), its tasks, the backend it
 * runs on, and batched embedding under one or many tasks, through the method's shared prefix when it
 * declares one.
 */
import { selectBackend, type BackendChoice } from '../backend/select.js';
import { decodeFile, decodeImage, type FitMode } from '../data/image.js';
import { MtlzooError } from '../errors.js';
import type { Kernel } from '../kernel/kernel.js';
import { taskDependenceOf, type MtlModel, type TaskDependence } from '../kinds/method.js';
import * as tf from '../tf.js';
import { loadCheckpoint, readCheckpointMetadata } from '../engine/checkpoint.js';
import { normaliseFor, normalisedEmbeddings } from '../engine/embedding.js';
import { pixelsToTensor } from '../engine/pixels.js';
import { RunDir } from '../engine/run-dir.js';
import { loadRunConfig } from '../engine/run-config.js';

export type CheckpointName = 'best' | 'last';

export interface RunIdentity {
  readonly dir: string;
  readonly checkpoint: CheckpointName;
  readonly weightsSha256: string;
  readonly configHash: string;
  readonly method: string;
  readonly backbone: string;
  readonly tasks: readonly string[];
}

export interface OpenRunOptions {
  /** Which checkpoint (default: `best` when the run validates, else `last`; a missing `best` is an error). */
  checkpoint?: CheckpointName;
  /** A backend plugin name or `auto`; default: the run's configured backend. */
  backend?: string;
}

/** How gallery images are fitted to the model's input (the training data's decode). */
export const GALLERY_FIT: FitMode = 'cover';

const INFERENCE = { training: false } as const;

export class RunModel {
  private constructor(
    readonly identity: RunIdentity,
    readonly model: MtlModel,
    readonly inputShape: readonly [number, number, number],
    readonly backend: BackendChoice,
  ) {}

  static async open(kernel: Kernel, runDir: string, options: OpenRunOptions = {}): Promise<RunModel> {
    const run = await RunDir.open(runDir);
    // A run folder is data: its config loads only the plugins the run recorded (unless the kernel trusts it).
    const loaded = await loadRunConfig(kernel, run);
    const checkpoint = await run.chooseCheckpoint(
      options.checkpoint ?? 'auto',
      loaded.config.train.evalEvery > 0,
    );
    const metadata = await readCheckpointMetadata(run.path(checkpoint));
    if (metadata.configHash !== loaded.hash) {
      throw new MtlzooError(
        'CHECKPOINT_INVALID',
        `${run.path(checkpoint)}: written by config ${metadata.configHash}, but ${run.path('config')} now hashes to ${loaded.hash}`,
      );
    }
    const backend = await selectBackend(
      options.backend ? { name: options.backend, options: {} } : loaded.config.backend,
      kernel.registries,
    );
    const backbone = await kernel.createBackbone(loaded.config);
    const model = await kernel.createModel(loaded.config, backbone, metadata.tasks.length);
    try {
      await loadCheckpoint(run.path(checkpoint), model.parameters());
    } catch (error) {
      model.dispose();
      throw error;
    }
    const identity: RunIdentity = {
      dir: run.dir,
      checkpoint,
      weightsSha256: metadata.weightsSha256,
      configHash: metadata.configHash,
      method: metadata.method,
      backbone: metadata.backbone,
      tasks: metadata.tasks,
    };
    return new RunModel(identity, model, backbone.description.inputShape, backend);
  }

  get embeddingDim(): number {
    return this.model.embeddingDim;
  }

  get taskDependence(): TaskDependence {
    return taskDependenceOf(this.model);
  }

  /** Bytes of one decoded image. */
  get imageBytes(): number {
    return this.inputShape[0] * this.inputShape[1] * this.inputShape[2];
  }

  taskIndex(name: string, what = '--task'): number {
    const index = this.identity.tasks.indexOf(name);
    if (index < 0) {
      throw new MtlzooError(
        'USAGE',
        `${what}: expected one of the run's tasks (${this.identity.tasks.join(', ')}), got "${name}"`,
        2,
      );
    }
    return index;
  }

  /** Decodes an image file or buffer to the model's input size, as gallery images are. */
  decode(input: string | Buffer): Promise<Uint8Array> {
    const size = [this.inputShape[0], this.inputShape[1]] as const;
    return typeof input === 'string'
      ? decodeFile(input, size, GALLERY_FIT)
      : decodeImage(input, size, GALLERY_FIT);
  }

  /** `embedUnderTasks` with this run's model. */
  embedUnderTasks(pixels: Uint8Array, tasks: readonly number[], sharedPrefix = true): Float32Array[] {
    return embedUnderTasks(this.model, this.inputShape, pixels, tasks, sharedPrefix);
  }

  /** Embeddings of a mixed-task batch (image i under task `taskIds[i]`) in one forward pass, as evaluated. */
  embedMixed(pixels: Uint8Array, taskIds: Int32Array): Float32Array {
    return tf.tidy(
      () =>
        normalisedEmbeddings(
          this.model,
          pixelsToTensor(pixels, this.inputShape),
          taskIds,
          INFERENCE,
        ).dataSync() as Float32Array,
    );
  }

  dispose(): void {
    this.model.dispose();
  }
}

/**
 * Embeddings of `pixels` (decoded images back to back) under each task of `tasks`, normalised as the
 * method's evaluation normalises them, one row-major `[count, dim]` array per task. With `sharedPrefix` (the default) a method that declares where
 * its task dependence starts runs the shared stages once for all tasks.
 */
export function embedUnderTasks(
  model: MtlModel,
  inputShape: readonly [number, number, number],
  pixels: Uint8Array,
  tasks: readonly number[],
  sharedPrefix = true,
): Float32Array[] {
  const count = pixels.length / (inputShape[0] * inputShape[1] * inputShape[2]);
  const dependence = taskDependenceOf(model);
  return tf.tidy(() => {
    const images = pixelsToTensor(pixels, inputShape);
    const features =
      sharedPrefix && dependence.from === 'features' ? dependence.shared(images, INFERENCE) : undefined;
    return tasks.map((task) => {
      const ids = new Int32Array(count).fill(task);
      const raw =
        features && dependence.from === 'features'
          ? dependence.complete(features, ids, INFERENCE)
          : model.embed(images, ids, INFERENCE);
      return normaliseFor(model, raw).dataSync() as Float32Array;
    });
  });
}
