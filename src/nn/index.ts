/**
 * Small functional building blocks with explicit variables, shared by backbones and methods, and the
 * helpers that keep a method plugin small. Public as `mtlzoo/nn` (and re-exported by `mtlzoo`); the
 * built-in methods import them from there, like any third-party plugin.
 */
export * from './variables.js';
export * from './conv.js';
export * from './layers.js';
export * from './staged.js';
export * from './routing.js';
export * from './per-task.js';
export * from './stage-options.js';
export * from './parameters.js';
