/**
 * Checkpoints in the TensorFlow.js artifact format (model.json + binary weights), written and read by the
 * project's own file-system IO handler, so that every backend (wasm and cpu included, which have no file
 * handler of their own) can save and load.
 *
 * Writes are crash-safe: the weights go to a file named by their content hash, then model.json, which names
 * that file and its hash, is replaced atomically; only then is the previous weights file removed. A reader
 * therefore always finds a model.json and the weights it describes, and checks both before use.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../data/files.js';
import { MtlzooError } from '../errors.js';
import type { NamedVariable } from '../kinds/backbone.js';
import * as tf from '../tf.js';

export const CHECKPOINT_FORMAT = 'mtlzoo-checkpoint/1';
const MODEL_JSON = 'model.json';
const OPTIMIZER_PREFIX = 'optimizer/';

/** What a checkpoint records besides tensors. */
export interface CheckpointMetadata {
  /** Optimiser steps completed. */
  step: number;
  configHash: string;
  method: string;
  backbone: string;
  /** Task names in model order, so a checkpoint can be used without building its dataset. */
  tasks: string[];
  /** Metrics at this step, if evaluated. */
  metrics?: Record<string, number>;
}

interface ModelJson {
  format: string;
  generatedBy: string;
  convertedBy: null;
  modelTopology: null;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  userDefinedMetadata: CheckpointMetadata & { weightsSha256: string; optimizerWeights: string[] };
}

/** tfjs types user metadata as a map of non-null values. */
type ArtifactMetadata = NonNullable<tf.io.ModelArtifacts['userDefinedMetadata']>;

function invalid(dir: string, message: string): MtlzooError {
  return new MtlzooError('CHECKPOINT_INVALID', `${dir}: ${message}`);
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** tf.io handler over a checkpoint folder. */
export class CheckpointFolder implements tf.io.IOHandler {
  constructor(readonly dir: string) {}

  async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
    const data = new Uint8Array(tf.io.concatenateArrayBuffers(artifacts.weightData as ArrayBuffer));
    const hash = sha256(data);
    const weightsFile = `weights-${hash.slice(0, 16)}.bin`;
    await fs.mkdir(this.dir, { recursive: true });
    const previous = await this.weightsFileName().catch(() => undefined);
    await writeFileAtomic(path.join(this.dir, weightsFile), data);
    const metadata = artifacts.userDefinedMetadata as unknown as ModelJson['userDefinedMetadata'];
    const json: ModelJson = {
      format: CHECKPOINT_FORMAT,
      generatedBy: artifacts.generatedBy ?? 'mtlzoo',
      convertedBy: null,
      modelTopology: null,
      weightsManifest: [{ paths: [weightsFile], weights: artifacts.weightSpecs ?? [] }],
      userDefinedMetadata: { ...metadata, weightsSha256: hash },
    };
    await writeFileAtomic(path.join(this.dir, MODEL_JSON), `${JSON.stringify(json, null, 1)}\n`);
    if (previous && previous !== weightsFile) await fs.rm(path.join(this.dir, previous), { force: true });
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  }

  private async readModelJson(): Promise<ModelJson> {
    const file = path.join(this.dir, MODEL_JSON);
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch {
      throw invalid(this.dir, `no ${MODEL_JSON}: not a checkpoint folder`);
    }
    let json: ModelJson;
    try {
      json = JSON.parse(text) as ModelJson;
    } catch (error) {
      throw invalid(
        this.dir,
        `${MODEL_JSON} is not valid JSON (${(error as Error).message}); the file is damaged`,
      );
    }
    if (json.format !== CHECKPOINT_FORMAT) {
      throw invalid(
        this.dir,
        `${MODEL_JSON} has format ${JSON.stringify(json.format)}, expected ${CHECKPOINT_FORMAT}`,
      );
    }
    const paths = json.weightsManifest?.[0]?.paths;
    if (json.weightsManifest?.length !== 1 || paths?.length !== 1) {
      throw invalid(this.dir, `${MODEL_JSON} must list exactly one weights file`);
    }
    return json;
  }

  private async weightsFileName(): Promise<string> {
    return (await this.readModelJson()).weightsManifest[0]!.paths[0]!;
  }

  async load(): Promise<tf.io.ModelArtifacts> {
    const json = await this.readModelJson();
    const manifest = json.weightsManifest[0]!;
    const weightsFile = manifest.paths[0]!;
    let data: Uint8Array;
    try {
      data = await fs.readFile(path.join(this.dir, weightsFile));
    } catch {
      throw invalid(this.dir, `weights file ${weightsFile} named by ${MODEL_JSON} is missing`);
    }
    const expectedBytes = manifest.weights.reduce(
      (sum, spec) => sum + spec.shape.reduce((a, b) => a * b, 1) * 4,
      0,
    );
    if (data.byteLength !== expectedBytes) {
      throw invalid(
        this.dir,
        `weights file ${weightsFile} has ${data.byteLength} bytes, ${MODEL_JSON} describes ${expectedBytes}: it is truncated or from another checkpoint`,
      );
    }
    if (sha256(data) !== json.userDefinedMetadata.weightsSha256) {
      throw invalid(
        this.dir,
        `weights file ${weightsFile} does not match the sha256 recorded in ${MODEL_JSON}: it is corrupted`,
      );
    }
    return {
      modelTopology: undefined,
      weightSpecs: manifest.weights,
      weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer,
      format: json.format,
      generatedBy: json.generatedBy,
      userDefinedMetadata: json.userDefinedMetadata as unknown as ArtifactMetadata,
    };
  }
}

/** Saves model variables (and optimiser state, for resuming) with their metadata. */
export async function saveCheckpoint(
  dir: string,
  variables: readonly NamedVariable[],
  optimizer: tf.Optimizer | undefined,
  metadata: CheckpointMetadata,
  generatedBy: string,
): Promise<void> {
  const optimizerWeights = optimizer ? await optimizer.getWeights() : [];
  const named: { name: string; tensor: tf.Tensor }[] = [
    ...variables.map((v) => ({ name: v.name, tensor: v.variable as tf.Tensor })),
    ...optimizerWeights.map((w, i) => ({ name: `${OPTIMIZER_PREFIX}${i}`, tensor: w.tensor })),
  ];
  const { data, specs } = await tf.io.encodeWeights(named);
  await new CheckpointFolder(dir).save({
    modelTopology: undefined,
    weightSpecs: specs,
    weightData: data,
    generatedBy,
    userDefinedMetadata: {
      ...metadata,
      optimizerWeights: optimizerWeights.map((w) => w.name),
    } as unknown as ArtifactMetadata,
  });
}

/**
 * Loads a checkpoint into `variables` (refusing any mismatch before changing anything) and, when given,
 * restores the optimiser. Returns the metadata.
 */
export async function loadCheckpoint(
  dir: string,
  variables: readonly NamedVariable[],
  optimizer?: tf.Optimizer,
): Promise<CheckpointMetadata> {
  const artifacts = await new CheckpointFolder(dir).load();
  const metadata = artifacts.userDefinedMetadata as unknown as ModelJson['userDefinedMetadata'];
  const tensors = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
  try {
    const problems: string[] = [];
    for (const v of variables) {
      const stored = tensors[v.name];
      if (!stored) problems.push(`missing ${v.name}`);
      else if (!tf.util.arraysEqual(stored.shape, v.variable.shape)) {
        problems.push(
          `${v.name} has shape [${stored.shape.join(', ')}], the model expects [${v.variable.shape.join(', ')}]`,
        );
      }
    }
    const known = new Set(variables.map((v) => v.name));
    const extra = Object.keys(tensors).filter((n) => !known.has(n) && !n.startsWith(OPTIMIZER_PREFIX));
    if (extra.length > 0)
      problems.push(`unexpected ${extra.slice(0, 3).join(', ')}${extra.length > 3 ? ', …' : ''}`);
    if (problems.length > 0) {
      throw invalid(
        dir,
        `does not fit this model (checkpoint: method ${metadata.method}, backbone ${metadata.backbone}): ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}`,
      );
    }
    for (const v of variables) v.variable.assign(tensors[v.name]!);
    if (optimizer) {
      await optimizer.setWeights(
        metadata.optimizerWeights.map((name, i) => ({ name, tensor: tensors[`${OPTIMIZER_PREFIX}${i}`]! })),
      );
    }
  } finally {
    // Optimiser weights are copied into its own variables by setWeights; everything decoded can go.
    tf.dispose(Object.values(tensors));
  }
  const { weightsSha256: _hash, optimizerWeights: _names, ...rest } = metadata;
  return rest;
}

/** sha256 of the weights a checkpoint holds, as recorded in its model.json. */
export async function checkpointWeightsHash(dir: string): Promise<string> {
  return (await readCheckpointMetadata(dir)).weightsSha256;
}

/** A checkpoint's metadata (checked like a load, without touching any model). */
export async function readCheckpointMetadata(
  dir: string,
): Promise<CheckpointMetadata & { weightsSha256: string }> {
  const artifacts = await new CheckpointFolder(dir).load();
  const { optimizerWeights: _names, ...metadata } =
    artifacts.userDefinedMetadata as unknown as ModelJson['userDefinedMetadata'];
  return metadata;
}

/** Refuses a checkpoint written under another config than the run's config.yaml now resolves to. */
export function assertSameConfig(
  dir: string,
  metadata: CheckpointMetadata,
  configHash: string,
  configFile: string,
): void {
  if (metadata.configHash !== configHash) {
    throw invalid(
      dir,
      `written by config ${metadata.configHash}, but ${configFile} now hashes to ${configHash}`,
    );
  }
}
