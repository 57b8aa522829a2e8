/** Test helpers for plugin authors: `import { checkBackboneContract } from 'mtlzoo/testing'`. */
export { checkBackboneContract, checkMethodContract, type ContractOptions } from './contract.js';
