/**
 * Root hooks: every test file starts on the pure-JS cpu backend, the reference the project checks other
 * engines against. Tests that exercise another backend switch explicitly and switch back.
 */
import * as tf from '../src/tf.js';

export const mochaHooks = {
  async beforeAll(): Promise<void> {
    await tf.setBackend('cpu');
  },
};
