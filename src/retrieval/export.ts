/**
 * `mtlzoo export`: a run's model under one task as a standalone TensorFlow.js graph model (model.json and
 * weight shards) that stock `@tensorflow/tfjs` loads with `tf.loadGraphModel`, in a browser or in Node,
 * without mtlzoo. Input: float32 RGB pixels in [0, 255], `[batch, height, width, 3]`, fitted to the size
 * as gallery images are (centre crop); output: the L2-normalised embedding `[batch, dim]` that the index
 * holds for that task. The graph is traced from the method's own forward pass, so every method exports.
 */
import path from 'node:path';
import { ensureDir, writeFileAtomic } from '../util/write.js';
import { normaliseFor } from '../engine/embedding.js';
import * as tf from '../tf.js';
import { toGraphDef } from './graph-def.js';
import { MtlzooError } from '../errors.js';
import type { MtlModel } from '../kinds/method.js';
import { GALLERY_FIT, type RunIdentity } from './model.js';
import { traceGraph } from './trace.js';

export const EXPORT_INPUT = 'images';
export const EXPORT_OUTPUT = 'embedding';
/** Bytes per weight shard, as the tfjs converter writes them. */
const SHARD_BYTES = 4 * 1024 * 1024;

export interface ExportedModel {
  /** The model.json object. */
  readonly modelJson: Record<string, unknown>;
  /** Shard file names (as model.json lists them) and their bytes. */
  readonly shards: ReadonlyMap<string, Uint8Array>;
}

export interface ExportOptions {
  readonly task: string;
  /** Images per call (the traced graph has a fixed batch size); default 1. */
  readonly batch?: number;
}

/** What is exported: a method's model, its input size and the run it comes from (a `RunModel` is one). */
export interface ExportSource {
  readonly model: MtlModel;
  readonly inputShape: readonly [number, number, number];
  readonly identity: RunIdentity;
}

/** The graph model of `source` under a task, in memory. */
export function exportArtifacts(source: ExportSource, options: ExportOptions): ExportedModel {
  const { model, identity } = source;
  const task = identity.tasks.indexOf(options.task);
  if (task < 0) {
    throw new MtlzooError(
      'USAGE',
      `--task: expected one of the run's tasks (${identity.tasks.join(', ')}), got "${options.task}"`,
      2,
    );
  }
  const batch = options.batch ?? 1;
  const [height, width, channels] = source.inputShape;
  const inputShape = [batch, height, width, channels];
  const ids = new Int32Array(batch).fill(task);
  const graph = traceGraph(inputShape, (pixels) => {
    // pixelsToTensor's mapping of [0, 255] to [-1, 1], as tensor ops.
    const images = tf.sub(tf.div(pixels, 127.5), 1) as tf.Tensor4D;
    return normaliseFor(model, model.embed(images, ids, { training: false }));
  });
  const def = toGraphDef(graph, inputShape, { input: EXPORT_INPUT, output: EXPORT_OUTPUT });
  const bytes = new Uint8Array(def.weights.reduce((n, w) => n + w.values.byteLength, 0));
  let offset = 0;
  for (const w of def.weights) {
    bytes.set(new Uint8Array(w.values.buffer, w.values.byteOffset, w.values.byteLength), offset);
    offset += w.values.byteLength;
  }
  const count = Math.max(1, Math.ceil(bytes.byteLength / SHARD_BYTES));
  const shards = new Map<string, Uint8Array>();
  for (let i = 0; i < count; i++) {
    shards.set(`group1-shard${i + 1}of${count}.bin`, bytes.subarray(i * SHARD_BYTES, (i + 1) * SHARD_BYTES));
  }
  const tensorShape = (shape: readonly number[]) => ({ dim: shape.map((d) => ({ size: String(d) })) });
  const modelJson = {
    format: 'graph-model',
    generatedBy: `mtlzoo ${identity.method} on ${identity.backbone}`,
    convertedBy: 'mtlzoo export',
    signature: {
      inputs: {
        [EXPORT_INPUT]: {
          name: `${EXPORT_INPUT}:0`,
          dtype: 'DT_FLOAT',
          tensorShape: tensorShape(inputShape),
        },
      },
      outputs: {
        [EXPORT_OUTPUT]: {
          name: `${EXPORT_OUTPUT}:0`,
          dtype: 'DT_FLOAT',
          tensorShape: tensorShape([batch, model.embeddingDim]),
        },
      },
    },
    modelTopology: { node: def.nodes, library: {}, versions: { producer: 1 } },
    weightsManifest: [
      {
        paths: [...shards.keys()],
        weights: def.weights.map((w) => ({ name: w.name, shape: w.shape, dtype: w.dtype })),
      },
    ],
    userDefinedMetadata: {
      mtlzoo: {
        task: options.task,
        tasks: identity.tasks,
        run: identity.dir,
        checkpoint: identity.checkpoint,
        weightsSha256: identity.weightsSha256,
        configHash: identity.configHash,
        method: identity.method,
        backbone: identity.backbone,
        input: {
          name: EXPORT_INPUT,
          shape: inputShape,
          dtype: 'float32',
          range: [0, 255],
          fit: GALLERY_FIT,
        },
        output: { name: EXPORT_OUTPUT, shape: [batch, model.embeddingDim], normalised: 'L2' },
        distance: 'squared-l2',
      },
    },
  };
  return { modelJson, shards };
}

/** Writes the graph model into `out` (model.json last, so a complete model.json names complete shards). */
export async function exportModel(
  source: ExportSource,
  out: string,
  options: ExportOptions,
): Promise<string[]> {
  const { modelJson, shards } = exportArtifacts(source, options);
  await ensureDir(out);
  for (const [name, data] of shards) await writeFileAtomic(path.join(out, name), data);
  await writeFileAtomic(path.join(out, 'model.json'), `${JSON.stringify(modelJson)}\n`);
  return ['model.json', ...shards.keys()];
}
