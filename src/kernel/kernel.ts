/**
 * The dependency-injection kernel. A root tsyringe container holds one registry per plugin kind, filled
 * with the built-ins and any third-party modules a config names. `build` resolves a validated config into
 * a child container that holds the run's components under the tokens of tokens.ts; the trainer and
 * evaluators are resolved from it.
 */
import path from 'node:path';
import { container as globalContainer, type DependencyContainer } from './di.js';
import { builtinPlugins } from '../../plugins/index.js';
import { selectBackend, type BackendChoice } from '../backend/select.js';
import { configHash } from '../config/hash.js';
import { loadedConfig, pluginSpecs, searchConfigFile, type LoadedConfig } from '../config/load.js';
import { resolveConfigPaths } from '../config/paths.js';
import type { ExperimentConfig } from '../config/schema.js';
import { resolveConfigFile, type MergedConfig, type ResolveOptions } from '../config/resolve.js';
import { defaultIssue, isSet, locateIssue, validateConfig } from '../config/validate.js';
import { ConfigError, MtlzooError, isMtlzooError } from '../errors.js';
import type { BackboneFactory } from '../kinds/backbone.js';
import { checkSplits } from '../data/check.js';
import { describeOpened } from '../data/split.js';
import type { Dataset, DatasetDescription } from '../kinds/dataset.js';
import type { Evaluator } from '../kinds/evaluator.js';
import type { TripletLossFunction } from '../kinds/loss.js';
import type { MtlModel } from '../kinds/method.js';
import type { Weighting } from '../kinds/weighting.js';
import { batchTasks } from '../train/sampler.js';
import { isPathSpec, loadPluginModule, resolvePluginSpec } from '../plugin/loader.js';
import { describePluginFile, type PluginFile } from '../plugin/record.js';
import { PluginRegistries } from '../plugin/registry.js';
import type { Logger } from '../plugin/types.js';
import { createConsoleLogger } from '../util/logger.js';
import { TOKENS } from './tokens.js';

export const BUILTIN_SOURCE = 'builtin';

export interface NamedEvaluator {
  readonly name: string;
  readonly evaluator: Evaluator;
}

/** The components of one run, also registered in `container`. */
export interface Experiment {
  readonly container: DependencyContainer;
  readonly loaded: LoadedConfig;
  readonly backend: BackendChoice;
  readonly backbone: BackboneFactory;
  readonly dataset: Dataset;
  readonly model: MtlModel;
  readonly loss: TripletLossFunction;
  readonly evaluators: readonly NamedEvaluator[];
  readonly weighting: Weighting;
  dispose(): void;
}

export interface KernelOptions {
  /** Register the built-in plugins (default true; false gives an empty kernel for plugin tests). */
  builtins?: boolean;
  logger?: Logger;
  /**
   * Load the plugins a run folder's config names even when they are not the ones the run recorded
   * (`--trust-plugins`); see src/plugin/record.ts.
   */
  trustRunPlugins?: boolean;
}

export interface LoadConfigOptions extends ResolveOptions {
  /** Sees the plugin files the config names before any is imported; throws to refuse them. */
  checkPlugins?(plugins: readonly PluginFile[]): void;
}

export class Kernel {
  readonly container: DependencyContainer;
  readonly trustRunPlugins: boolean;
  private readonly loadedModules = new Set<string>();

  constructor(options: KernelOptions = {}) {
    this.trustRunPlugins = options.trustRunPlugins ?? false;
    this.container = globalContainer.createChildContainer();
    const registries = new PluginRegistries();
    if (options.builtins ?? true) {
      for (const plugin of builtinPlugins) registries.register(plugin, BUILTIN_SOURCE);
    }
    this.container.registerInstance(TOKENS.registries, registries);
    this.container.registerInstance(TOKENS.logger, options.logger ?? createConsoleLogger());
  }

  get registries(): PluginRegistries {
    return this.container.resolve<PluginRegistries>(TOKENS.registries);
  }

  get logger(): Logger {
    return this.container.resolve<Logger>(TOKENS.logger);
  }

  /** Loads a third-party plugin module once; loading the same file again is a no-op. */
  async loadPlugins(spec: string, baseDir: string): Promise<void> {
    const { file } = resolvePluginSpec(spec, baseDir);
    if (this.loadedModules.has(file)) return;
    await loadPluginModule(spec, baseDir, this.registries);
    this.loadedModules.add(file);
  }

  /**
   * Loads, resolves and validates a config: the named file, or the one cosmiconfig finds from `cwd`.
   * Throws ConfigError listing every problem.
   */
  async loadConfig(
    file?: string,
    cwd = process.cwd(),
    options: LoadConfigOptions = {},
  ): Promise<LoadedConfig> {
    const target = file ?? (await searchConfigFile(cwd));
    if (!target) {
      throw new MtlzooError(
        'CONFIG_NOT_FOUND',
        `no config file given and none found in ${cwd} or above it up to its project's root (looked for mtlzoo.config.{json,yaml,js,ts}, .mtlzoorc*, and a "mtlzoo" key in package.json)`,
        2,
      );
    }
    const merged = await resolveConfigFile(path.resolve(cwd, target), options);
    const specs = pluginSpecs(merged);
    const located = async <T>(i: number, action: () => Promise<T>): Promise<T> => {
      try {
        return await action();
      } catch (error) {
        if (!isMtlzooError(error) || error.code === 'CONFIG_INVALID') throw error;
        throw new ConfigError([locateIssue(merged, { path: ['plugins', i], message: error.message })]);
      }
    };
    const pluginFiles: PluginFile[] = [];
    for (const [i, { spec, baseDir }] of specs.entries()) {
      pluginFiles.push(
        await located(i, () => describePluginFile(spec, resolvePluginSpec(spec, baseDir).file)),
      );
    }
    options.checkPlugins?.(pluginFiles);
    for (const [i, { spec, baseDir }] of specs.entries())
      await located(i, () => this.loadPlugins(spec, baseDir));
    const config = validateConfig(merged, this.registries);
    await this.checkSelectBy(merged, config);
    // Resolved, a local plugin path is absolute, so the config saved in a run directory still finds it.
    config.plugins = specs.map(({ spec, baseDir }) =>
      isPathSpec(spec) ? path.resolve(baseDir, spec) : spec,
    );
    // Data paths likewise, against the file that set them; where the data lies is not hashed.
    const dataPaths = resolveConfigPaths(merged, config, this.registries);
    const loaded = loadedConfig(merged, config, pluginFiles);
    return dataPaths.length > 0 ? { ...loaded, hash: configHash(config, dataPaths) } : loaded;
  }

  /** `train.selectBy` must name a metric the evaluators report, when they all say what they report. */
  private async checkSelectBy(merged: MergedConfig, config: ExperimentConfig): Promise<void> {
    const evaluators = await this.createEvaluators(config);
    if (evaluators.some((e) => e.evaluator.metricNames === undefined)) return;
    const names = evaluators.flatMap((e) => e.evaluator.metricNames!);
    if (!names.includes(config.train.selectBy)) {
      const keyPath = ['train', 'selectBy'];
      throw new ConfigError([
        isSet(merged, keyPath)
          ? locateIssue(merged, {
              path: keyPath,
              message: `expected a metric the evaluators report (${names.join(', ')}), got "${config.train.selectBy}"`,
            })
          : defaultIssue(
              merged,
              keyPath,
              config.train.selectBy,
              `no evaluator reports it (they report ${names.join(', ')})`,
            ),
      ]);
    }
  }

  async createBackbone(config: ExperimentConfig): Promise<BackboneFactory> {
    return this.registries.build('backbone', config.backbone, {});
  }

  private datasetContext(config: ExperimentConfig) {
    return { cacheDir: path.resolve(config.output.cacheDir), seed: config.seed, log: this.logger };
  }

  /**
   * The configured dataset's tasks and, when its data is present, every split's labels and triplets, read
   * from options and list files without decoding an image. A dataset plugin without `describe` is created
   * to learn the same.
   */
  async describeDataset(config: ExperimentConfig): Promise<DatasetDescription> {
    const described = await this.registries.describeDataset(config.dataset, this.datasetContext(config));
    return described ?? describeOpened(await this.createDataset(config, await this.createBackbone(config)));
  }

  /** The configured dataset, at the input size of `backbone`; `described`: what describeDataset gave. */
  async createDataset(
    config: ExperimentConfig,
    backbone: BackboneFactory,
    described?: DatasetDescription,
  ): Promise<Dataset> {
    const [height, width] = backbone.description.inputShape;
    return this.registries.build('dataset', config.dataset, {
      ...this.datasetContext(config),
      imageSize: [height, width],
      described,
    });
  }

  /**
   * What a run needs of its data, checked on the description before any image is decoded and again on the
   * opened dataset: one batch weight per task, and splits that training and evaluation can draw from.
   */
  private checkDataset(loaded: LoadedConfig, data: DatasetDescription | Dataset): void {
    const weights = loaded.config.train.batch.weights;
    if (weights && weights.length !== data.tasks.length) {
      throw new ConfigError([
        loaded.issueAt(
          ['train', 'batch', 'weights'],
          `expected ${data.tasks.length} weights (one per task of dataset ${data.name}: ${data.tasks.map((t) => t.name).join(', ')}), got ${weights.length}`,
        ),
      ]);
    }
    if (data.splits) checkSplits(data.name, data.tasks, data.splits);
  }

  /** The configured method over `backbone` for `taskCount` tasks (the active backend holds its variables). */
  async createModel(
    config: ExperimentConfig,
    backbone: BackboneFactory,
    taskCount: number,
  ): Promise<MtlModel> {
    return this.registries.build('method', config.method, { backbone, taskCount, seed: config.seed });
  }

  async createEvaluators(config: ExperimentConfig): Promise<NamedEvaluator[]> {
    const evaluators: NamedEvaluator[] = [];
    for (const ref of config.evaluators) {
      const evaluator = await this.registries.build('evaluator', ref, {});
      evaluators.push({ name: ref.name, evaluator });
    }
    return evaluators;
  }

  /** The configured weighting strategy, for the tasks that have a share of the batch. */
  async createWeighting(config: ExperimentConfig, taskCount: number): Promise<Weighting> {
    const { weighting, batch } = config.train;
    return this.registries.build('weighting', weighting, {
      taskCount: batchTasks(batch, taskCount).length,
      seed: config.seed,
    });
  }

  /** Selects the backend and builds every component of a run into a child container. */
  async build(loaded: LoadedConfig): Promise<Experiment> {
    const { config } = loaded;
    const registries = this.registries;
    const scope = this.container.createChildContainer();
    const backend = await selectBackend(config.backend, registries);

    const backbone = await this.createBackbone(config);
    const described = await registries.describeDataset(config.dataset, this.datasetContext(config));
    if (described) this.checkDataset(loaded, described);
    const dataset = await this.createDataset(config, backbone, described);
    this.checkDataset(loaded, dataset);
    const model = await this.createModel(config, backbone, dataset.tasks.length);
    const loss = await registries.build('loss', config.loss, {});
    const evaluators = await this.createEvaluators(config);
    const weighting = await this.createWeighting(config, dataset.tasks.length);

    scope.registerInstance(TOKENS.loadedConfig, loaded);
    scope.registerInstance(TOKENS.backend, backend);
    scope.registerInstance(TOKENS.backbone, backbone);
    scope.registerInstance(TOKENS.dataset, dataset);
    scope.registerInstance(TOKENS.model, model);
    scope.registerInstance(TOKENS.loss, loss);
    scope.registerInstance(TOKENS.evaluators, evaluators);
    scope.registerInstance(TOKENS.weighting, weighting);
    return {
      container: scope,
      loaded,
      backend,
      backbone,
      dataset,
      model,
      loss,
      evaluators,
      weighting,
      dispose: () => model.dispose(),
    };
  }
}
