/** Small functional building blocks with explicit variables, shared by backbones and methods. */
export * from './variables.js';
export * from './conv.js';
export * from './layers.js';
export * from './staged.js';
export * from './routing.js';
export * from './per-task.js';
