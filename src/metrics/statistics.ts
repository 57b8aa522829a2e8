/**
 * How sure a benchmark figure is: percentile bootstrap intervals over seeds and test queries, paired
 * differences between methods measured on the same seeds and queries, and Δm with its interval.
 *
 * The data of one bench cell is, per seed, per component (a task, or a metric × task), the per-query
 * values whose mean is the reported metric (one 0/1 per test triplet for triplet accuracy, one AP@k per
 * query for mAP@k). A cell's figure is a function of the per-(seed, component) means. The bootstrap is
 * two-level, because both sources of variation are real: training runs differ by seed, and a run's score
 * depends on which queries the test split happened to hold. Each resample
 *
 *   1. draws S seeds with replacement from the S measured ones, then
 *   2. for each drawn seed and each component, draws that component's n queries with replacement,
 *
 * and recomputes the figure on the resampled means. The interval is the (α/2, 1 − α/2) quantile pair of
 * the resampled figures (linear interpolation between order statistics). Several series (methods) can be
 * resampled together with the same draws: that is a paired comparison, valid when the series were
 * measured on the same seeds and the same queries (the evaluators fix their queries by their own seed and
 * the data by the run seed, so two methods of one bench are).
 *
 * With few seeds the seed-level resampling is coarse (3 seeds give 10 distinct multisets) and the
 * percentile bootstrap is known to be somewhat narrow for small samples; the intervals are the honest
 * spread of what was measured, not a guarantee. Every draw comes from the seeded `Rng`, in the order
 * above, so an interval is reproducible to the last bit.
 */
import { Rng } from '../util/random.js';

/** Per seed, per component: the per-query values (`samples[seed][component][query]`). */
export type SeedSamples = readonly (readonly ArrayLike<number>[])[];

/** Per series, per seed, per component: the mean of the (resampled) queries. */
export type CellMeans = readonly (readonly Float64Array[])[];

export interface BootstrapOptions {
  /** Number of resamples (default 2000). */
  readonly resamples?: number;
  /** Coverage of the interval (default 0.95). */
  readonly level?: number;
  /** Seed of the resampling stream (default 0). */
  readonly seed?: number;
}

export const DEFAULT_RESAMPLES = 2000;
export const DEFAULT_LEVEL = 0.95;

export interface Interval {
  readonly low: number;
  readonly high: number;
}

export interface Estimate extends Interval {
  /** The figure on the measured data. */
  readonly value: number;
  readonly level: number;
  /** Resamples whose figure was finite (those that were not are left out of the quantiles). */
  readonly resamples: number;
}

/**
 * Quantile `p` of ascending `sorted` values by linear interpolation between order statistics (Hyndman and
 * Fan's type 7, the default of R and NumPy).
 */
export function quantile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  if (!(p >= 0 && p <= 1)) throw new RangeError(`quantile: p must lie in [0, 1], got ${p}`);
  const h = (n - 1) * p;
  const below = Math.floor(h);
  const above = Math.min(n - 1, below + 1);
  return sorted[below]! + (h - below) * (sorted[above]! - sorted[below]!);
}

function meansOf(samples: SeedSamples): Float64Array[] {
  return samples.map((components) =>
    Float64Array.from(components, (values) => {
      let sum = 0;
      for (let i = 0; i < values.length; i++) sum += values[i]!;
      return values.length > 0 ? sum / values.length : Number.NaN;
    }),
  );
}

/** Checks that every series has the same seeds × components × queries layout, and returns it. */
function layoutOf(series: readonly SeedSamples[]): number[][] {
  const first = series[0];
  if (!first) throw new RangeError('bootstrap: no series');
  const layout = first.map((components) => components.map((values) => values.length));
  series.forEach((samples, g) => {
    const same =
      samples.length === layout.length &&
      samples.every(
        (components, s) =>
          components.length === layout[s]!.length &&
          components.every((values, k) => values.length === layout[s]![k]),
      );
    if (!same) {
      throw new RangeError(
        `bootstrap: series ${g} is not laid out like series 0 (paired series need the same seeds, components and queries)`,
      );
    }
  });
  if (layout.length === 0) throw new RangeError('bootstrap: no seeds');
  return layout;
}

/**
 * The figure `statistic` on the measured data, and its percentile bootstrap interval over seeds and
 * queries, resampling all `series` with the same draws (see the module comment for the order of draws).
 */
export function bootstrap(
  series: readonly SeedSamples[],
  statistic: (means: CellMeans) => number,
  options: BootstrapOptions = {},
): Estimate {
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  const level = options.level ?? DEFAULT_LEVEL;
  if (!(Number.isInteger(resamples) && resamples > 0)) {
    throw new RangeError(`bootstrap: resamples must be a positive integer, got ${resamples}`);
  }
  if (!(level > 0 && level < 1)) throw new RangeError(`bootstrap: level must lie in (0, 1), got ${level}`);
  const layout = layoutOf(series);
  const value = statistic(series.map(meansOf));
  const seeds = layout.length;
  const rng = new Rng(options.seed ?? 0);
  // Resampled means, reused across resamples: [series][seed position][component].
  const means = series.map(() => layout.map((counts) => new Float64Array(counts.length)));
  const sums = new Float64Array(series.length);
  const figures: number[] = [];
  for (let r = 0; r < resamples; r++) {
    for (let position = 0; position < seeds; position++) {
      const seed = rng.int(seeds);
      const counts = layout[seed]!;
      // A drawn seed may have another number of components than the position's previous one.
      for (let g = 0; g < series.length; g++) {
        if (means[g]![position]!.length !== counts.length)
          means[g]![position] = new Float64Array(counts.length);
      }
      for (let k = 0; k < counts.length; k++) {
        const n = counts[k]!;
        sums.fill(0);
        for (let i = 0; i < n; i++) {
          const j = rng.int(n);
          for (let g = 0; g < series.length; g++) sums[g]! += series[g]![seed]![k]![j]!;
        }
        for (let g = 0; g < series.length; g++) means[g]![position]![k] = n > 0 ? sums[g]! / n : Number.NaN;
      }
    }
    const figure = statistic(means);
    if (Number.isFinite(figure)) figures.push(figure);
  }
  figures.sort((a, b) => a - b);
  const alpha = 1 - level;
  return {
    value,
    low: quantile(figures, alpha / 2),
    high: quantile(figures, 1 - alpha / 2),
    level,
    resamples: figures.length,
  };
}

/** Mean over seeds and components of one series' cell means: a metric averaged over tasks and seeds. */
export function grandMean(means: readonly Float64Array[]): number {
  let sum = 0;
  let count = 0;
  for (const components of means) {
    for (const v of components) {
      if (Number.isNaN(v)) continue;
      sum += v;
      count += 1;
    }
  }
  return count > 0 ? sum / count : Number.NaN;
}

/** A metric's mean over seeds and components, with its interval. */
export function meanEstimate(samples: SeedSamples, options?: BootstrapOptions): Estimate {
  return bootstrap([samples], (means) => grandMean(means[0]!), options);
}

export interface PairedDifference extends Estimate {
  /** False when the interval contains 0: the data do not tell the two apart at this level. */
  readonly significant: boolean;
}

/** True when an interval excludes 0. */
export function excludesZero(interval: Interval): boolean {
  return interval.low > 0 || interval.high < 0;
}

/**
 * `a − b` of the grand means of two series measured on the same seeds and queries, resampled together,
 * so that what both share (a hard seed, a hard query) cancels.
 */
export function pairedDifference(
  a: SeedSamples,
  b: SeedSamples,
  options?: BootstrapOptions,
): PairedDifference {
  const estimate = bootstrap([a, b], (means) => grandMean(means[0]!) - grandMean(means[1]!), options);
  return { ...estimate, significant: excludesZero(estimate) };
}

/**
 * Δm of a method against a baseline (the mean over components of the signed relative change, see
 * `deltaM` in summary.ts) computed per seed and averaged over seeds, with its paired interval.
 * `higherIsBetter[k]` gives component k's direction; components whose baseline mean is 0 or not finite
 * are left out of that seed's mean.
 */
export function deltaMEstimate(
  method: SeedSamples,
  baseline: SeedSamples,
  higherIsBetter: readonly boolean[],
  options?: BootstrapOptions,
): PairedDifference {
  const estimate = bootstrap(
    [method, baseline],
    (means) => {
      let total = 0;
      let seeds = 0;
      means[0]!.forEach((mine, s) => {
        const theirs = means[1]![s]!;
        let sum = 0;
        let count = 0;
        for (let k = 0; k < mine.length; k++) {
          const b = theirs[k]!;
          const m = mine[k]!;
          if (b === 0 || !Number.isFinite(b) || !Number.isFinite(m)) continue;
          sum += ((higherIsBetter[k] ? 1 : -1) * (m - b)) / b;
          count += 1;
        }
        if (count === 0) return;
        total += sum / count;
        seeds += 1;
      });
      return seeds > 0 ? total / seeds : Number.NaN;
    },
    options,
  );
  return { ...estimate, significant: excludesZero(estimate) };
}
