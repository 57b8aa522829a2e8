/** Square: on every core in the native pack for large float32 tensors; the shipped kernel otherwise. */
import * as tf from '../../tf.js';
import { nativeUnary } from './unary.js';

export const Square = nativeUnary(tf.Square, 2);
