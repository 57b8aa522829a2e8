/** What `mtlzoo analyze gradients|relatedness` print: summaries of probe records and relatedness, as JSON or text. */
import { formatTable } from '../util/table.js';
import type { Matrix } from '../metrics/gradients.js';
import type { ProbeRecord } from './probe.js';
import type { RunRelatedness } from './relatedness.js';

export const ALL_SHARED = 'all shared parameters';

export interface GradientSummary {
  readonly runDir: string;
  /** `log`: the probe records training wrote; `checkpoint`: one probe of a checkpoint, made now. */
  readonly source: 'log' | 'checkpoint';
  readonly tasks: readonly string[];
  readonly tripletsPerTask: number;
  readonly steps: readonly number[];
  /** Mean across-task angle (degrees) at every probed step, over all shared parameters and per layer. */
  readonly meanAngle: {
    readonly all: readonly number[];
    readonly layers: Readonly<Record<string, readonly number[]>>;
  };
  /**
   * Mean angle between two halves of one task's probe triplets at every probed step, over all shared
   * parameters: the noise floor of `meanAngle` (NaN where a record has no halves).
   */
  readonly withinAngle: readonly number[];
  /** Per probed step, each task's probe triplets with a positive loss (empty where not recorded). */
  readonly active: readonly (readonly number[])[];
  /** Task × task cosine matrices over all shared parameters at the chosen steps. */
  readonly cosine: readonly { readonly step: number; readonly matrix: Matrix }[];
}

/** At most `count` steps spread evenly over `steps`, first and last included. */
export function spreadSteps(steps: readonly number[], count: number): number[] {
  if (steps.length <= count) return [...steps];
  const picked = Array.from(
    { length: count },
    (_, i) => steps[Math.round((i * (steps.length - 1)) / (count - 1))]!,
  );
  return [...new Set(picked)];
}

/**
 * `chosen`: the steps to show cosine matrices for (default: the first and the last probe). Throws a
 * RangeError naming the probed steps when a chosen one was not probed.
 */
export function summariseGradients(
  runDir: string,
  source: GradientSummary['source'],
  records: readonly ProbeRecord[],
  chosen?: readonly number[],
): GradientSummary {
  const first = records[0];
  if (!first) throw new RangeError('summariseGradients: no probe records');
  const steps = records.map((r) => r.step);
  const wanted = chosen ?? [...new Set([steps[0]!, steps[steps.length - 1]!])];
  const missing = wanted.filter((s) => !steps.includes(s));
  if (missing.length > 0) {
    throw new RangeError(`step(s) ${missing.join(', ')} were not probed; probed steps: ${steps.join(', ')}`);
  }
  return {
    runDir,
    source,
    tasks: first.tasks,
    tripletsPerTask: first.tripletsPerTask,
    steps,
    meanAngle: {
      all: records.map((r) => r.all.meanAngle),
      layers: Object.fromEntries(
        Object.keys(first.layers).map((name) => [name, records.map((r) => r.layers[name]?.meanAngle ?? NaN)]),
      ),
    },
    withinAngle: records.map((r) => r.all.withinAngle ?? NaN),
    active: records.map((r) => r.active ?? []),
    cosine: wanted.map((step) => ({ step, matrix: records.find((r) => r.step === step)!.all.cosine })),
  };
}

function fixed(value: number, digits: number): string {
  return Number.isNaN(value) ? '–' : value.toFixed(digits);
}

/** A task × task matrix as an aligned table. */
export function formatMatrix(tasks: readonly string[], matrix: Matrix, digits = 3): string {
  return formatTable(
    ['', ...tasks],
    matrix.map((row, i) => [tasks[i]!, ...row.map((v) => fixed(v, digits))]),
  );
}

/** Columns of the angle table: a readable number of steps; the JSON has them all. */
const ANGLE_COLUMNS = 8;

export function formatGradientSummary(summary: GradientSummary): string {
  const shown = spreadSteps(summary.steps, ANGLE_COLUMNS);
  const column = (values: readonly number[]) => shown.map((s) => fixed(values[summary.steps.indexOf(s)]!, 1));
  const angles = formatTable(
    ['LAYER', ...shown.map((s) => `STEP ${s}`)],
    [
      [ALL_SHARED, ...column(summary.meanAngle.all)],
      ...(summary.withinAngle.some((v) => !Number.isNaN(v))
        ? [[`${ALL_SHARED}, within one task`, ...column(summary.withinAngle)]]
        : []),
      ...Object.entries(summary.meanAngle.layers).map(([name, values]) => [name, ...column(values)]),
    ],
  );
  const lastActive = summary.active[summary.active.length - 1] ?? [];
  const from =
    summary.source === 'log'
      ? `${summary.steps.length} probe record(s) in the run's log`
      : `a probe of the checkpoint at step ${summary.steps[0]}`;
  return [
    `Gradient directions of ${summary.runDir}: ${from}, ${summary.tripletsPerTask} triplets per task.`,
    '',
    `Mean angle between tasks' gradients on the shared parameters, degrees (0 agree, 90 orthogonal, 180 opposed);`,
    `"within one task" is the angle between two halves of one task's probe triplets, the floor across-task angles are read against:`,
    angles,
    ...(lastActive.length > 0
      ? [
          `Probe triplets with a positive loss at step ${summary.steps[summary.steps.length - 1]}: ${summary.tasks
            .map((t, i) => `${t} ${lastActive[i]}/${summary.tripletsPerTask}`)
            .join(', ')}.`,
          '',
        ]
      : []),
    ...summary.cosine.flatMap(({ step, matrix }) => [
      `Task × task cosine of the gradients over ${ALL_SHARED}, step ${step}:`,
      formatMatrix(summary.tasks, matrix),
    ]),
  ].join('\n');
}

export function formatRelatedness(result: RunRelatedness): string {
  const head = `Task relatedness of ${result.runDir} (method ${result.method}, ${result.checkpoint} at step ${result.step}):`;
  if (result.stages.length === 0) {
    return `${head}\nmethod ${result.method} has no per-task variables of one shape across tasks (like modulation's <stage>/task<t>), so there is nothing to compare.\n`;
  }
  const factors = result.tasks.map((t, i) => `${t} (${result.factors[i]!.join(', ') || 'no factors'})`);
  return [
    head,
    `Tasks and their generating factors: ${factors.join('; ')}.`,
    '',
    ...result.stages.flatMap((s) => [
      `Stage ${s.stage} [${s.shape.join('×')}], cosine of ${s.rectified ? 'ReLU(v) of ' : ''}each task's variable:`,
      formatMatrix(result.tasks, s.matrix),
      ...(s.change
        ? [
            `  moved from its initial value by ${s.change.norms.map((n, t) => `${result.tasks[t]} ${fixed(n, 3)}`).join(', ')} (L2); cosine of the moves:`,
            formatMatrix(result.tasks, s.change.matrix),
          ]
        : []),
      ...(s.byFactor
        ? [
            `  pairs sharing a factor (${s.byFactor.sharing.pairs.join(', ')}): mean ${fixed(s.byFactor.sharing.mean, 3)}; ` +
              `other pairs: mean ${fixed(s.byFactor.other.mean, 3)}`,
            '',
          ]
        : []),
    ]),
  ].join('\n');
}
