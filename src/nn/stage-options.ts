/**
 * Options that name backbone stages (where a method modulates, mixes or branches): the schema, the check a
 * plugin's `check` returns, and the resolution `create` uses.
 */
import { z } from 'zod';
import { MtlzooError } from '../errors.js';
import type { BackboneDescription } from '../kinds/backbone.js';
import type { OptionIssue } from '../plugin/types.js';

/** A list of backbone stage names; absent means the method's own default for the backbone. */
export const stagesOption = z.array(z.string()).min(1).optional();

/** Unknown or repeated stage names, located at `['stages', i]`: what a method's `check` returns. */
export function checkStages(
  stages: readonly string[] | undefined,
  backbone?: BackboneDescription,
): OptionIssue[] {
  if (!stages || !backbone) return [];
  const names = backbone.stages.map((s) => s.name);
  const issues: OptionIssue[] = [];
  stages.forEach((stage, i) => {
    if (!names.includes(stage)) {
      issues.push({
        path: ['stages', i],
        message: `expected a stage of backbone ${backbone.name} (${names.join(', ')}), got "${stage}"`,
      });
    } else if (stages.indexOf(stage) !== i) {
      issues.push({ path: ['stages', i], message: `"${stage}" is listed twice` });
    }
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
