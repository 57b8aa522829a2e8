/** What the built-in methods share: stage options, ownership of variables, and the parameter report. */
import { z } from 'zod';
import type { BackboneDescription, NamedVariable } from '../../src/kinds/backbone.js';
import type { ParameterEntry, ParameterReport } from '../../src/kinds/method.js';
import type { OptionIssue } from '../../src/plugin/types.js';
import { MtlzooError } from '../../src/errors.js';
import type { Initializer, VariableStore } from '../../src/nn/index.js';
import * as tf from '../../src/tf.js';

/** A list of backbone stage names; absent means the method's own default for the backbone. */
export const stagesOption = z.array(z.string()).min(1).optional();

function stageIssue(stage: string, index: number, backbone: BackboneDescription): OptionIssue | undefined {
  const names = backbone.stages.map((s) => s.name);
  if (!names.includes(stage)) {
    return {
      path: ['stages', index],
      message: `expected a stage of backbone ${backbone.name} (${names.join(', ')}), got "${stage}"`,
    };
  }
  return undefined;
}

/** Unknown or repeated stage names, located at `['stages', i]`. */
export function checkStages(
  stages: readonly string[] | undefined,
  backbone?: BackboneDescription,
): OptionIssue[] {
  if (!stages || !backbone) return [];
  const issues: OptionIssue[] = [];
  stages.forEach((stage, i) => {
    const issue = stageIssue(stage, i, backbone);
    if (issue) issues.push(issue);
    else if (stages.indexOf(stage) !== i)
      issues.push({ path: ['stages', i], message: `"${stage}" is listed twice` });
  });
  return issues;
}

/**
 * Stage indices for `stages` (or `fallback` when absent), in network order. Throws what `check` reports,
 * for callers that create a method without validating its config first.
 */
export function resolveStages(
  method: string,
  stages: readonly string[] | undefined,
  backbone: BackboneDescription,
  fallback: (backbone: BackboneDescription) => readonly string[],
): number[] {
  const names = stages ?? fallback(backbone);
  const issues = checkStages(names, backbone);
  if (issues.length > 0) {
    throw new MtlzooError('PLUGIN_INVALID', `method ${method}: ${issues.map((i) => i.message).join('; ')}`);
  }
  return names.map((name) => backbone.stages.findIndex((s) => s.name === name)).sort((a, b) => a - b);
}

/** Every stage but the embedding. */
export function convStages(backbone: BackboneDescription): string[] {
  return backbone.stages.filter((s) => s.name !== 'embedding').map((s) => s.name);
}

/** Channels of a stage's output (its last dimension). */
export function stageChannels(backbone: BackboneDescription, index: number): number {
  const shape = backbone.stages[index]!.outputShape;
  return shape[shape.length - 1]!;
}

export function owned(variables: readonly NamedVariable[], owner: ParameterEntry['owner']): ParameterEntry[] {
  return variables.map((v) => ({ ...v, owner }));
}

/** One trainable variable per task, named `<scope>task<t>` and owned by task t. */
export function perTaskVariables(
  store: VariableStore,
  taskCount: number,
  shape: readonly number[],
  initFor: (task: number) => Initializer,
  appliedAs?: ParameterEntry['appliedAs'],
): ParameterEntry[] {
  return Array.from({ length: taskCount }, (_, task) => ({
    name: `${store.prefix}task${task}`,
    variable: store.add(`task${task}`, shape, initFor(task)),
    trainable: true,
    owner: { task },
    ...(appliedAs ? { appliedAs } : {}),
  }));
}

/** The variables of per-task entries as one `[T, ...]` tensor. */
export function stackPerTask(entries: readonly ParameterEntry[]): tf.Tensor {
  return tf.stack(entries.map((e) => e.variable));
}

export function parameterReport(
  entries: readonly ParameterEntry[],
  taskCount: number,
  galleryPasses: number,
): ParameterReport {
  let sharedParams = 0;
  let taskParams = 0;
  let bytes = 0;
  for (const entry of entries) {
    const size = entry.variable.size;
    bytes += size * 4;
    if (!entry.trainable) continue;
    if (entry.owner === 'shared') sharedParams += size;
    else taskParams += size;
  }
  return {
    sharedParams,
    paramsPerTask: taskParams / taskCount,
    totalParams: sharedParams + taskParams,
    bytes,
    galleryPasses,
  };
}
