/**
 * Hinge losses on triplets, max(0, d(a, p) − d(a, n) + margin). The built-in losses differ only by a row
 * (distance kind, default margin); each plugin file is one row passed to `distanceLossPlugin`.
 */
import { z } from 'zod';
import type { AnyPluginOf, TripletLossFunction } from '../../src/kinds/index.js';
import { definePlugin } from '../../src/plugin/define.js';
import * as tf from '../../src/tf.js';

export type DistanceKind = 'squared-euclidean' | 'euclidean';

export interface DistanceLossRow {
  readonly name: string;
  readonly description: string;
  readonly distance: DistanceKind;
  readonly defaultMargin: number;
}

/**
 * Added under the square root of the Euclidean distance: its gradient is infinite at 0 (a positive equal to
 * its anchor), which would turn the whole step into NaN. Shifts distances by at most 1e-6.
 */
const SQRT_EPSILON = 1e-12;

function distanceFunction(kind: DistanceKind): TripletLossFunction['distance'] {
  return (a, b) =>
    tf.tidy(() => {
      const squared: tf.Tensor1D = tf.sum(tf.squaredDifference(a, b), 1);
      return kind === 'squared-euclidean' ? squared : tf.sqrt(tf.add<tf.Tensor1D>(squared, SQRT_EPSILON));
    });
}

export function distanceLossPlugin(row: DistanceLossRow): AnyPluginOf<'loss'> {
  return definePlugin({
    kind: 'loss',
    name: row.name,
    version: '1.0.0',
    description: row.description,
    options: z.strictObject({ margin: z.number().nonnegative().default(row.defaultMargin) }),
    create({ margin }) {
      const distance = distanceFunction(row.distance);
      return {
        distance,
        compute: (anchor, positive, negative) =>
          tf.tidy(() =>
            tf.relu(
              tf.add<tf.Tensor1D>(tf.sub(distance(anchor, positive), distance(anchor, negative)), margin),
            ),
          ),
      };
    },
  });
}
