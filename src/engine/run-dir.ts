/**
 * A run directory: the resolved config and its hash, environment, metrics log, checkpoints and summary.
 *
 *   config.yaml          resolved config (bases merged, defaults filled), hash in the header
 *   environment.json     hardware and software
 *   metrics.jsonl        one JSON record per line: train steps, evaluations
 *   checkpoints/last/    model.json + weights (resumable: optimiser state included)
 *   checkpoints/best/    best validation checkpoint
 *   summary.json         final metrics, parameters, timings
 *   test-samples.json    per-query values of the test metrics (triplets, queries), for bench intervals
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import type { LoadedConfig } from '../config/load.js';
import { writeFileAtomic } from '../data/files.js';
import { MtlzooError } from '../errors.js';

export const RUN_FILES = {
  config: 'config.yaml',
  environment: 'environment.json',
  metrics: 'metrics.jsonl',
  summary: 'summary.json',
  samples: 'test-samples.json',
  last: path.join('checkpoints', 'last'),
  best: path.join('checkpoints', 'best'),
} as const;

export class RunDir {
  constructor(readonly dir: string) {}

  path(file: keyof typeof RUN_FILES): string {
    return path.join(this.dir, RUN_FILES[file]);
  }

  /**
   * A new run folder named by time, method and config hash, under `outputDir`. It is only checked here
   * (it must not hold anything); `start` creates it once the run has been built, so a run that fails to
   * build leaves nothing behind.
   */
  static async plan(outputDir: string, loaded: LoadedConfig, name?: string): Promise<RunDir> {
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
    const dir = path.resolve(
      outputDir,
      name ?? `${stamp}-${loaded.config.method.name}-${loaded.hash.slice(0, 8)}`,
    );
    const existing = await fs.readdir(dir).catch(() => []);
    if (existing.length > 0) {
      throw new MtlzooError(
        'USAGE',
        `run directory ${dir} already exists and is not empty; resume it with --resume or pick another`,
        2,
      );
    }
    return new RunDir(dir);
  }

  /** Creates the folder and writes the resolved config into it. */
  async start(loaded: LoadedConfig): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    await writeFileAtomic(
      this.path('config'),
      `# mtlzoo resolved config, hash ${loaded.hash}\n# from ${loaded.files.join(' ← ')}\n${stringify(loaded.config)}`,
    );
  }

  /** An existing run folder; fails clearly when it is not one. */
  static async open(dir: string): Promise<RunDir> {
    const run = new RunDir(path.resolve(dir));
    const stat = await fs.stat(run.path('config')).catch(() => undefined);
    if (!stat?.isFile()) {
      throw new MtlzooError('USAGE', `${run.dir} is not a run directory (no ${RUN_FILES.config})`, 2);
    }
    return run;
  }

  async hasCheckpoint(which: 'best' | 'last'): Promise<boolean> {
    return (await fs.stat(path.join(this.path(which), 'model.json')).catch(() => undefined)) !== undefined;
  }

  async writeJson(file: 'environment' | 'summary' | 'samples', value: unknown): Promise<void> {
    // Samples are thousands of numbers: one line, not one number a line.
    const text = file === 'samples' ? JSON.stringify(value) : JSON.stringify(value, null, 2);
    await writeFileAtomic(this.path(file), `${text}\n`);
  }

  async appendMetrics(record: object): Promise<void> {
    await fs.appendFile(this.path('metrics'), `${JSON.stringify(record)}\n`);
  }

  async readMetrics(): Promise<Record<string, unknown>[]> {
    const text = await fs.readFile(this.path('metrics'), 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter((line) => line.trim())
      .map((line, i) => {
        try {
          return JSON.parse(line) as Record<string, unknown>;
        } catch {
          throw new MtlzooError('DATA_INVALID', `${this.path('metrics')}:${i + 1}: not a JSON record`);
        }
      });
  }

  /** Drops log records past `step` (written after the checkpoint a resume starts from). */
  async truncateMetricsAfter(step: number): Promise<void> {
    const kept = (await this.readMetrics()).filter((r) => typeof r.step !== 'number' || r.step <= step);
    await writeFileAtomic(this.path('metrics'), kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }
}
