import { distanceLossPlugin } from './distance-loss.js';

/** The margin ranking loss of Conditional Similarity Networks (Veit et al. 2017). */
export const marginRankingLoss = distanceLossPlugin({
  name: 'margin-ranking',
  description: 'CSN margin ranking loss: Euclidean (not squared) distances, hinge at a margin (0.2)',
  distance: 'euclidean',
  defaultMargin: 0.2,
});
