import { distanceLossPlugin } from './distance-loss.js';

/** FaceNet's triplet loss (Schroff et al. 2015), as the authors train with it. */
export const tripletLoss = distanceLossPlugin({
  name: 'triplet',
  description: 'FaceNet triplet loss: squared L2 between L2-normalised embeddings, hinge at a margin (0.2)',
  distance: 'squared-euclidean',
  defaultMargin: 0.2,
});
