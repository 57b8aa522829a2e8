/** Built-in evaluator plugins, one per file. */
import type { AnyPluginOf } from '../../src/kinds/index.js';
import { retrievalEvaluator } from './retrieval.js';
import { storageEvaluator } from './storage.js';
import { tripletAccuracyEvaluator } from './triplet-accuracy.js';

export const evaluatorPlugins: readonly AnyPluginOf<'evaluator'>[] = [
  tripletAccuracyEvaluator,
  retrievalEvaluator,
  storageEvaluator,
];
