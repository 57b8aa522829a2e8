/**
 * Checkpoints in the TensorFlow.js artifact format (model.json + binary weights), written and read by the
 * project's own file-system IO handler, so that every backend (wasm and cpu included, which have no file
 * handler of their own) can save and load.
 *
 * Writes are crash-safe: the weights go to a file named by their content hash, then model.json, which names
 * that file and its hash, is replaced atomically; only then is the previous weights file removed. A reader
 * therefore always finds a model.json and the weights it describes. A killed save can leave an unnamed
 * weights file behind; `cleanCheckpointFolder` removes it when the run is next opened.
 *
 * Integrity: one sha256 (`integrity`) over everything that gives the checkpoint its meaning — the weights
 * (through their sha256), every tensor's name and shape, the step, the tasks, the config hash, the
 * optimiser's state and every hook's state — is checked on every load, so an edited step or task list is
 * refused like a flipped bit in the weights.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { MtlzooError, isMtlzooError } from '../errors.js';
import type { NamedVariable } from '../kinds/backbone.js';
import * as tf from '../tf.js';
import type { OptimizerState, StateTensor } from '../train/optimizers.js';
import { stableStringify } from '../util/hash.js';
import { ensureDir, removeOrphanTemps, removePath, writeFileAtomic } from '../util/write.js';

export const CHECKPOINT_FORMAT = 'mtlzoo-checkpoint/2';
/**
 * Earlier mtlzoo versions' format: the same weights, without the integrity record and the exact training
 * state. Read for evaluation, analysis and export; not resumed from.
 */
const LEGACY_FORMAT = 'mtlzoo-checkpoint/1';
const MODEL_JSON = 'model.json';
const OPTIMIZER_PREFIX = 'optimizer/';
const HOOK_PREFIX = 'hooks/';
const WEIGHTS_FILE = /^weights-[0-9a-f]{16}\.bin$/;

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

/** JSON-representable values (finite numbers only). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** What a trainer hook carries across a resume: plain values and named tensors. */
export interface HookState {
  readonly values?: JsonValue;
  readonly tensors?: readonly StateTensor[];
}

/** Everything `last` holds beyond the model, to continue training exactly. */
export interface TrainingState {
  readonly optimizerType: string;
  readonly optimizer: OptimizerState;
  /** By hook name. */
  readonly hooks: Readonly<Record<string, HookState>>;
}

interface StoredTraining {
  optimizer: { type: string; step: number; tensors: string[] };
  hooks: Record<string, { values?: JsonValue; tensors: string[] }>;
}

interface ModelJson {
  format: string;
  generatedBy: string;
  convertedBy: null;
  modelTopology: null;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  userDefinedMetadata: CheckpointMetadata & {
    weightsSha256: string;
    training?: StoredTraining;
    integrity: string;
  };
}

/** tfjs types user metadata as a map of non-null values. */
type ArtifactMetadata = NonNullable<tf.io.ModelArtifacts['userDefinedMetadata']>;

function invalid(dir: string, message: string): MtlzooError {
  return new MtlzooError('CHECKPOINT_INVALID', `${dir}: ${message}`);
}

function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The digest over model.json without its own `integrity` field (which covers the weights by their hash). */
function integrityOf(json: ModelJson): string {
  const { integrity: _integrity, ...metadata } = json.userDefinedMetadata;
  return sha256(stableStringify({ ...json, userDefinedMetadata: metadata }));
}

/** tf.io handler over a checkpoint folder. */
export class CheckpointFolder implements tf.io.IOHandler {
  constructor(readonly dir: string) {}

  async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
    const data = new Uint8Array(tf.io.concatenateArrayBuffers(artifacts.weightData as ArrayBuffer));
    const hash = sha256(data);
    const weightsFile = `weights-${hash.slice(0, 16)}.bin`;
    await ensureDir(this.dir);
    const previous = await this.weightsFileName().catch(() => undefined);
    await writeFileAtomic(path.join(this.dir, weightsFile), data);
    const metadata = artifacts.userDefinedMetadata as unknown as ModelJson['userDefinedMetadata'];
    const json: ModelJson = {
      format: CHECKPOINT_FORMAT,
      generatedBy: artifacts.generatedBy ?? 'mtlzoo',
      convertedBy: null,
      modelTopology: null,
      weightsManifest: [{ paths: [weightsFile], weights: artifacts.weightSpecs ?? [] }],
      userDefinedMetadata: { ...metadata, weightsSha256: hash, integrity: '' },
    };
    json.userDefinedMetadata.integrity = integrityOf(json);
    await writeFileAtomic(path.join(this.dir, MODEL_JSON), `${JSON.stringify(json, null, 1)}\n`);
    if (previous && previous !== weightsFile) await removePath(path.join(this.dir, previous));
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
    if (json.format !== CHECKPOINT_FORMAT && json.format !== LEGACY_FORMAT) {
      throw invalid(
        this.dir,
        `${MODEL_JSON} has format ${JSON.stringify(json.format)}, expected ${CHECKPOINT_FORMAT} (or ${LEGACY_FORMAT}, read for its weights)`,
      );
    }
    const paths = json.weightsManifest?.[0]?.paths;
    if (json.weightsManifest?.length !== 1 || paths?.length !== 1) {
      throw invalid(this.dir, `${MODEL_JSON} must list exactly one weights file`);
    }
    // Format 1 has no integrity record; its weights are still checked against their sha256 on load.
    if (json.format === CHECKPOINT_FORMAT && json.userDefinedMetadata?.integrity !== integrityOf(json)) {
      throw invalid(
        this.dir,
        `${MODEL_JSON} does not match its integrity sha256: its step, tasks, tensors or state were edited or damaged`,
      );
    }
    return json;
  }

  async weightsFileName(): Promise<string> {
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

/**
 * Removes what a killed save left in a checkpoint folder: temp files of dead writers, and weights files its
 * model.json does not name (only when model.json is intact, so nothing a damaged checkpoint might need
 * goes). Returns the names removed.
 */
export async function cleanCheckpointFolder(dir: string): Promise<string[]> {
  const removed = (await removeOrphanTemps(dir)).map(({ file }) => path.basename(file));
  const current = await new CheckpointFolder(dir).weightsFileName().catch(() => undefined);
  if (current === undefined) return removed;
  const unnamed = (await fs.readdir(dir)).filter((name) => WEIGHTS_FILE.test(name) && name !== current);
  for (const name of unnamed) await removePath(path.join(dir, name));
  return [...removed, ...unnamed];
}

/** Saves model variables (and, in `last`, the training state for resuming) with their metadata. */
export async function saveCheckpoint(
  dir: string,
  variables: readonly NamedVariable[],
  metadata: CheckpointMetadata,
  generatedBy: string,
  training?: TrainingState,
): Promise<void> {
  const named: { name: string; tensor: tf.Tensor }[] = variables.map((v) => ({
    name: v.name,
    tensor: v.variable as tf.Tensor,
  }));
  let stored: StoredTraining | undefined;
  if (training) {
    stored = {
      optimizer: {
        type: training.optimizerType,
        step: training.optimizer.step,
        tensors: training.optimizer.tensors.map((t) => t.name),
      },
      hooks: {},
    };
    named.push(...training.optimizer.tensors.map((t) => ({ ...t, name: `${OPTIMIZER_PREFIX}${t.name}` })));
    for (const [hook, state] of Object.entries(training.hooks)) {
      const tensors = state.tensors ?? [];
      stored.hooks[hook] = {
        ...(state.values !== undefined ? { values: state.values } : {}),
        tensors: tensors.map((t) => t.name),
      };
      named.push(...tensors.map((t) => ({ ...t, name: `${HOOK_PREFIX}${hook}/${t.name}` })));
    }
  }
  const { data, specs } = await tf.io.encodeWeights(named);
  await new CheckpointFolder(dir).save({
    modelTopology: undefined,
    weightSpecs: specs,
    weightData: data,
    generatedBy,
    userDefinedMetadata: {
      ...metadata,
      ...(stored ? { training: stored } : {}),
    } as unknown as ArtifactMetadata,
  });
}

export interface LoadOptions {
  /** Refuse a checkpoint of another config (the run's config.yaml hashing differently) or task list. */
  expect?: { configHash: string; configFile: string; tasks?: readonly string[] };
  /**
   * Receives the saved training state (for `last`); its tensors live only during the call. Called after
   * the model's variables were checked and before they are assigned, so a refusal changes nothing.
   */
  restoreTraining?(state: TrainingState): void;
}

/** Loads a checkpoint into `variables` (refusing any mismatch before changing anything). */
export async function loadCheckpoint(
  dir: string,
  variables: readonly NamedVariable[],
  options: LoadOptions = {},
): Promise<CheckpointMetadata> {
  const artifacts = await new CheckpointFolder(dir).load();
  const metadata = artifacts.userDefinedMetadata as unknown as ModelJson['userDefinedMetadata'];
  if (options.expect) assertExpected(dir, metadata, options.expect);
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
    const extra = Object.keys(tensors).filter(
      (n) => !known.has(n) && !n.startsWith(OPTIMIZER_PREFIX) && !n.startsWith(HOOK_PREFIX),
    );
    if (extra.length > 0)
      problems.push(`unexpected ${extra.slice(0, 3).join(', ')}${extra.length > 3 ? ', …' : ''}`);
    if (problems.length > 0) {
      throw invalid(
        dir,
        `does not fit this model (checkpoint: method ${metadata.method}, backbone ${metadata.backbone}): ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}`,
      );
    }
    if (options.restoreTraining) {
      const training = metadata.training;
      if (!training) {
        throw invalid(
          dir,
          artifacts.format === LEGACY_FORMAT
            ? `is in ${LEGACY_FORMAT} (earlier mtlzoo versions), which holds no exact optimiser state: it cannot be resumed from; its weights still load for evaluation, analysis and export`
            : 'holds no training state (optimiser, hooks): it cannot be resumed from',
        );
      }
      const pick = (prefix: string, names: readonly string[]) =>
        names.map((name) => {
          const tensor = tensors[`${prefix}${name}`];
          if (!tensor) throw invalid(dir, `training state ${prefix}${name} is missing`);
          return { name, tensor };
        });
      const hooks = Object.fromEntries(
        Object.entries(training.hooks).map(([hook, state]) => [
          hook,
          { values: state.values, tensors: pick(`${HOOK_PREFIX}${hook}/`, state.tensors) },
        ]),
      );
      try {
        options.restoreTraining({
          optimizerType: training.optimizer.type,
          optimizer: {
            step: training.optimizer.step,
            tensors: pick(OPTIMIZER_PREFIX, training.optimizer.tensors),
          },
          hooks,
        });
      } catch (error) {
        if (isMtlzooError(error)) throw error;
        throw invalid(dir, (error as Error).message);
      }
    }
    for (const v of variables) v.variable.assign(tensors[v.name]!);
  } finally {
    // Everything decoded was copied where it belongs (variables, optimiser, hooks).
    tf.dispose(Object.values(tensors));
  }
  return metadataOf(metadata);
}

function metadataOf(stored: ModelJson['userDefinedMetadata']): CheckpointMetadata {
  const { weightsSha256: _hash, training: _training, integrity: _integrity, ...rest } = stored;
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
  const stored = artifacts.userDefinedMetadata as unknown as ModelJson['userDefinedMetadata'];
  return { ...metadataOf(stored), weightsSha256: stored.weightsSha256 };
}

/** Refuses a checkpoint written under another config than the run's config.yaml now resolves to. */
function assertExpected(
  dir: string,
  metadata: CheckpointMetadata,
  expected: NonNullable<LoadOptions['expect']>,
): void {
  if (metadata.configHash !== expected.configHash) {
    throw invalid(
      dir,
      `written by config ${metadata.configHash}, but ${expected.configFile} now hashes to ${expected.configHash}`,
    );
  }
  if (expected.tasks && metadata.tasks.join('\n') !== expected.tasks.join('\n')) {
    throw invalid(
      dir,
      `holds tasks ${metadata.tasks.join(', ')}, but the run's dataset has ${expected.tasks.join(', ')}`,
    );
  }
}
