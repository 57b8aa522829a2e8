/** Injection tokens of the kernel's container: one per component a run is built from. */
export const TOKENS = {
  registries: Symbol.for('mtlzoo.PluginRegistries'),
  logger: Symbol.for('mtlzoo.Logger'),
  loadedConfig: Symbol.for('mtlzoo.LoadedConfig'),
  backend: Symbol.for('mtlzoo.BackendChoice'),
  backbone: Symbol.for('mtlzoo.BackboneFactory'),
  dataset: Symbol.for('mtlzoo.Dataset'),
  model: Symbol.for('mtlzoo.MtlModel'),
  loss: Symbol.for('mtlzoo.TripletLossFunction'),
  evaluators: Symbol.for('mtlzoo.Evaluators'),
  weighting: Symbol.for('mtlzoo.Weighting'),
} as const;
