/**
 * Gradients of Sum and Mean that broadcast `dy` instead of multiplying it by `ones(x.shape)`: the same
 * values, but tfjs's own version fills that array of ones in JavaScript and copies it to the backend on
 * every call, which on the wasm backend cost more than all the convolutions of a facenet-small step
 * (docs/performance.md). Registered globally, since the values are identical on every backend.
 */
import * as tf from '@tensorflow/tfjs';

function broadcastReduction(mean: boolean): tf.GradConfig['gradFunc'] {
  return (dy, saved, attrs) => {
    const x = saved[0]!;
    const axes = tf.util.parseAxisParam((attrs as unknown as tf.SumAttrs).axis, x.shape);
    const kept = x.shape.map((size, i) => (axes.includes(i) ? 1 : size));
    const count = axes.reduce((n, axis) => n * x.shape[axis]!, 1);
    return {
      x: () => {
        const small = tf.reshape(dy as tf.Tensor, kept);
        return tf.broadcastTo(mean ? tf.div(small, count) : small, x.shape);
      },
    };
  };
}

let registered = false;

/** Idempotent. */
export function registerReductionGradients(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({ kernelName: tf.Sum, inputsToSave: ['x'], gradFunc: broadcastReduction(false) });
  tf.registerGradient({ kernelName: tf.Mean, inputsToSave: ['x'], gradFunc: broadcastReduction(true) });
}
