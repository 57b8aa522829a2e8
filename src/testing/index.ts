/**
 * Contract harnesses for plugin authors, one per kind: `import { checkLossContract } from 'mtlzoo/testing'`.
 * mtlzoo runs them on its own built-ins (test/contract-harness.test.ts). They throw `AssertionError` and use
 * no test-runner globals, so they work under any runner.
 */
export type { ContractOptions } from './assertions.js';
export { checkBackboneContract } from './backbone.js';
export { checkBackendContract, type BackendContractReport } from './backend.js';
export { checkDatasetContract, type DatasetContractOptions, type DatasetContractReport } from './dataset.js';
export {
  CONTRACT_REPORT,
  checkEvaluatorContract,
  type EvaluatorContractOptions,
  type EvaluatorContractReport,
} from './evaluator.js';
export { checkLossContract, type LossContractOptions, type LossContractReport } from './loss.js';
export { checkMethodContract } from './method.js';
export {
  checkWeightingContract,
  type WeightingContractOptions,
  type WeightingContractReport,
} from './weighting.js';
