/** Pure metric functions on plain arrays: the evaluators and analyses compute through these. */
export * from './gradients.js';
export * from './retrieval.js';
export * from './statistics.js';
export * from './summary.js';
export * from './triplet.js';
