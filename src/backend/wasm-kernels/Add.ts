/** Add: float32 broadcasts on every core in the native pack, repeated-operand broadcasts on XNNPACK (binary.ts). */
import * as tf from '../../tf.js';
import { broadcastBinary } from './binary.js';

export const Add = broadcastBinary(tf.Add, 0);
