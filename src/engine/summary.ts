/** What a finished run reports: `summary.json` in its folder. */
import type { Metric } from '../kinds/evaluator.js';
import type { ParameterReport } from '../kinds/method.js';
import type { Environment } from './environment.js';

export interface TrainSummary {
  readonly runDir: string;
  readonly configHash: string;
  readonly method: string;
  readonly backbone: string;
  readonly dataset: string;
  readonly tasks: readonly string[];
  readonly steps: number;
  readonly environment: Environment;
  readonly params: ParameterReport;
  /**
   * Step time over the run's timed steps (a resumed run's sessions together, each leaving out its first
   * WARMUP_STEPS), and the triplets it trains per second.
   */
  readonly timing: { readonly msPerStep: number; readonly tripletsPerSecond: number };
  /** Peak resident memory of the process so far, and tensors alive at the end (tfjs's count). */
  readonly memory: { readonly peakRssMB: number; readonly tensors: number };
  /** Step of the checkpoint the test metrics come from. */
  readonly testedStep: number;
  readonly test: readonly Metric[];
  readonly weightsSha256: string;
}
