/**
 * A run directory: the resolved config and its hash, environment, metrics log, checkpoints and summary.
 *
 *   config.yaml          resolved config (bases merged, defaults filled), hash in the header
 *   plugins.json         the plugin files the run loaded, with their sha256 (see src/plugin/record.ts)
 *   environment.json     hardware and software
 *   metrics.jsonl        one JSON record per line: train steps, evaluations
 *   checkpoints/last/    model.json + weights (resumable: optimiser and hook states included)
 *   checkpoints/best/    best validation checkpoint
 *   summary.json         final metrics, parameters, timings: its presence means the run finished
 *   test-samples.json    per-query values of the test metrics (triplets, queries), for bench intervals
 *   .mtlzoo.lock         while a process writes the run (see src/util/lock.ts)
 *
 * A run folder is data: opening one never runs code it did not run with (run-config.ts).
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import type { LoadedConfig } from '../config/load.js';
import { MtlzooError } from '../errors.js';
import type { PluginFile } from '../plugin/record.js';
import type { Logger } from '../plugin/types.js';
import { cutTornTail, readJsonl } from '../util/jsonl.js';
import { FolderLock, LOCK_FILE, type LockOptions } from '../util/lock.js';
import {
  appendLine,
  ensureDir,
  fileError,
  parseTempName,
  removeOrphanTemps,
  removePath,
  syncFile,
  writeFileAtomic,
} from '../util/write.js';
import { cleanCheckpointFolder } from './checkpoint.js';
import type { TrainSummary } from './summary.js';

export const RUN_FILES = {
  config: 'config.yaml',
  plugins: 'plugins.json',
  environment: 'environment.json',
  metrics: 'metrics.jsonl',
  summary: 'summary.json',
  samples: 'test-samples.json',
  last: path.join('checkpoints', 'last'),
  best: path.join('checkpoints', 'best'),
} as const;

/** The longest folder name most file systems take (NAME_MAX, in bytes). */
const NAME_MAX = 255;

/** Refuses a run name that is not one plain folder name. */
export function checkRunName(name: string, flag = '--name'): void {
  const problem =
    name === ''
      ? 'is empty'
      : name === '.' || name === '..' || /[/\\]/.test(name)
        ? 'must be a folder name, not a path'
        : hasControlCharacter(name)
          ? 'contains a control character'
          : Buffer.byteLength(name) > NAME_MAX
            ? `is ${Buffer.byteLength(name)} bytes long; a folder name takes at most ${NAME_MAX}`
            : undefined;
  if (problem) throw new MtlzooError('USAGE', `${flag}: ${JSON.stringify(name.slice(0, 60))} ${problem}`, 2);
}

/** Whether `text` holds a line break or another control character. */
function hasControlCharacter(text: string): boolean {
  return [...text].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
}

/** A path as a YAML comment shows it: quoted (JSON) when it holds a line break or another control character. */
function commentPath(file: string): string {
  return hasControlCharacter(file) ? JSON.stringify(file) : file;
}

export class RunDir {
  private lock?: FolderLock;
  /** Folders `create` made above the run folder, nearest first; `abandon` removes them again. */
  private madeParents: string[] = [];

  constructor(readonly dir: string) {}

  path(file: keyof typeof RUN_FILES): string {
    return path.join(this.dir, RUN_FILES[file]);
  }

  /**
   * A new run folder under `outputDir`, created and locked: `name`, or time, method and config hash (with
   * -2, -3… when two runs start in the same second). A named folder must be empty. `start` fills it once
   * the run has been built; `abandon` removes it if the build fails.
   */
  static async create(
    outputDir: string,
    loaded: LoadedConfig,
    log: Logger,
    name?: string,
    lock: LockOptions = {},
  ): Promise<RunDir> {
    if (name !== undefined) checkRunName(name);
    const parent = path.resolve(outputDir);
    const madeParents: string[] = [];
    for (let dir = parent; !existsSync(dir); dir = path.dirname(dir)) madeParents.push(dir);
    await ensureDir(parent);
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
    const base = name ?? `${stamp}-${loaded.config.method.name}-${loaded.hash.slice(0, 8)}`;
    for (let attempt = 1; ; attempt++) {
      const dir = path.join(parent, attempt === 1 ? base : `${base}-${attempt}`);
      try {
        await fs.mkdir(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
          throw await fileError('create folder', dir, error);
        if (name === undefined) continue;
      }
      const run = new RunDir(dir);
      run.madeParents = madeParents;
      await run.acquire(log, lock);
      // What a run killed before writing its config leaves (no run to resume) may be written over.
      const unstarted = [LOCK_FILE, RUN_FILES.plugins];
      const existing = (await fs.readdir(dir)).filter(
        (entry) => !unstarted.includes(entry) && parseTempName(entry) === undefined,
      );
      if (existing.length > 0) {
        run.release();
        throw new MtlzooError(
          'USAGE',
          `run directory ${dir} already exists and is not empty; resume it with --resume or pick another`,
          2,
        );
      }
      await removeOrphanTemps(dir);
      return run;
    }
  }

  /** An existing run folder (for reading); fails clearly when it is not one. */
  static async open(dir: string): Promise<RunDir> {
    const run = new RunDir(path.resolve(dir));
    const stat = await fs.stat(run.path('config')).catch(() => undefined);
    if (!stat?.isFile()) {
      throw new MtlzooError('USAGE', `${run.dir} is not a run directory (no ${RUN_FILES.config})`, 2);
    }
    return run;
  }

  /**
   * An existing run folder opened to continue writing it: locked (a second writer is refused), cleared of
   * what a killed writer left (temp files, unreferenced weights files), and its log's torn last record
   * cut. Each repair is reported.
   */
  static async openForWriting(dir: string, log: Logger, lock: LockOptions = {}): Promise<RunDir> {
    const run = await RunDir.open(dir);
    await run.acquire(log, lock);
    try {
      const removed = [
        ...(await removeOrphanTemps(run.dir)).map(({ file }) => path.basename(file)),
        ...(await cleanCheckpointFolder(run.path('last'))).map((f) => path.join(RUN_FILES.last, f)),
        ...(await cleanCheckpointFolder(run.path('best'))).map((f) => path.join(RUN_FILES.best, f)),
      ];
      if (removed.length > 0)
        log.info(
          `${run.dir}: removed ${removed.length} file(s) a stopped writer left: ${removed.join(', ')}`,
        );
      const { torn } = await readJsonl(run.path('metrics'));
      if (torn) {
        await cutTornTail(run.path('metrics'), torn);
        log.warn(
          `${run.path('metrics')}:${torn.line}: cut a torn last record (${torn.bytes} bytes) left when the run stopped mid-write`,
        );
      }
    } catch (error) {
      run.release();
      throw error;
    }
    return run;
  }

  private async acquire(log: Logger, lock: LockOptions): Promise<void> {
    this.lock = await FolderLock.acquire(this.dir, 'run', log, lock);
  }

  /** Gives up the lock (idempotent). */
  release(): void {
    this.lock?.release();
    this.lock = undefined;
  }

  /**
   * Removes a created folder that never started (only the lock in it), and the parents `create` made for
   * it while they stay empty; gives up the lock.
   */
  async abandon(): Promise<void> {
    const entries = await fs.readdir(this.dir).catch(() => [] as string[]);
    this.release();
    if (!entries.every((entry) => entry === LOCK_FILE)) return;
    await removePath(this.dir);
    for (const dir of this.madeParents) {
      if ((await fs.readdir(dir).catch(() => ['?'])).length > 0) return;
      await removePath(dir);
    }
  }

  /** Writes the resolved config and the plugin files it loaded. */
  async start(loaded: LoadedConfig): Promise<void> {
    await this.recordPlugins(loaded.pluginFiles);
    await writeFileAtomic(
      this.path('config'),
      `# mtlzoo resolved config, hash ${loaded.hash}\n# from ${loaded.files.map(commentPath).join(' ← ')}\n${stringify(loaded.config)}`,
    );
  }

  async recordPlugins(plugins: readonly PluginFile[]): Promise<void> {
    await writeFileAtomic(this.path('plugins'), `${JSON.stringify({ plugins }, null, 2)}\n`);
  }

  /** The plugin files recorded at the run's start; undefined when the folder has no record. */
  async recordedPlugins(): Promise<PluginFile[] | undefined> {
    const text = await fs.readFile(this.path('plugins'), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    try {
      return (JSON.parse(text) as { plugins: PluginFile[] }).plugins;
    } catch {
      throw new MtlzooError('DATA_INVALID', `${this.path('plugins')}: not valid JSON; the file is damaged`);
    }
  }

  async hasCheckpoint(which: 'best' | 'last'): Promise<boolean> {
    return (await fs.stat(path.join(this.path(which), 'model.json')).catch(() => undefined)) !== undefined;
  }

  /**
   * The checkpoint `which` names, checked to exist. `auto` is the one a run's result comes from: `best`
   * when the run validates (train.evalEvery > 0), else `last`. A missing `best` is an error, never a
   * silent fallback to `last`.
   */
  async chooseCheckpoint(which: 'auto' | 'best' | 'last', validates: boolean): Promise<'best' | 'last'> {
    const chosen = which === 'auto' ? (validates ? 'best' : 'last') : which;
    if (!(await this.hasCheckpoint(chosen))) {
      throw new MtlzooError(
        'USAGE',
        `${this.dir} has no ${chosen} checkpoint (${path.join(this.path(chosen), 'model.json')} is missing)${chosen === 'best' ? '; pass --checkpoint last to use the last one' : ''}`,
        2,
      );
    }
    return chosen;
  }

  async writeJson(file: 'environment' | 'summary' | 'samples', value: unknown): Promise<void> {
    // Samples are thousands of numbers: one line, not one number a line.
    const text = file === 'samples' ? JSON.stringify(value) : JSON.stringify(value, null, 2);
    await writeFileAtomic(this.path(file), `${text}\n`);
  }

  /** The summary of a finished run, or undefined while it has not finished. */
  async readSummary(): Promise<TrainSummary | undefined> {
    const text = await fs.readFile(this.path('summary'), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as TrainSummary;
    } catch {
      throw new MtlzooError('DATA_INVALID', `${this.path('summary')}: not valid JSON; the file is damaged`);
    }
  }

  async appendMetrics(record: object): Promise<void> {
    await appendLine(this.path('metrics'), JSON.stringify(record));
  }

  /** Flushes the log to disk. */
  async syncMetrics(): Promise<void> {
    await syncFile(this.path('metrics'));
  }

  /** The log's records; a torn last record (a run stopped mid-write) is left out. */
  async readMetrics(): Promise<Record<string, unknown>[]> {
    return (await readJsonl(this.path('metrics'))).records;
  }

  /**
   * Drops log records past `step` (written after the checkpoint a resume starts from), and the test
   * record, which a resumed run writes again.
   */
  async truncateMetricsAfter(step: number): Promise<void> {
    const kept = (await this.readMetrics()).filter(
      (r) => r.split !== 'test' && (typeof r.step !== 'number' || r.step <= step),
    );
    await writeFileAtomic(this.path('metrics'), kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }
}
