/** Built-in loss plugins, one per file. */
import type { AnyPluginOf } from '../../src/kinds/index.js';
import { marginRankingLoss } from './margin-ranking.js';
import { tripletLoss } from './triplet.js';

export const lossPlugins: readonly AnyPluginOf<'loss'>[] = [tripletLoss, marginRankingLoss];
