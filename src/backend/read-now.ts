/**
 * Synchronous read-back, for the few places that need a value while a gradient function is being built.
 * tfjs's webgpu engine reads synchronously only through an OffscreenCanvas, which Node lacks; there a
 * synchronous read would fail deep inside tfjs, so it is refused here with what asked for it.
 */
import { MtlzooError } from '../errors.js';
import * as tf from '../tf.js';

/** Engines that read values back only asynchronously. */
const ASYNCHRONOUS_ONLY = new Set(['webgpu']);

/**
 * `tensor.dataSync()`, or a USAGE error naming `what` on an engine without synchronous reads. `instead`
 * says what the user can do.
 */
export function readNow(tensor: tf.Tensor, what: string, instead: string): tf.TypedArray {
  const engine = tf.getBackend();
  if (ASYNCHRONOUS_ONLY.has(engine)) {
    throw new MtlzooError(
      'USAGE',
      `${what} needs a value read back while the gradient is built, and the ${engine} engine reads back only asynchronously; ${instead}`,
      2,
    );
  }
  return tensor.dataSync();
}
