/**
 * tfjs's gradients, with two replaced: those of `Sum` and `Mean`.
 *
 * tfjs 4.22 differentiates both as dy · ones(x.shape), and `ones` builds that array in JS and
 * uploads it: on wasm, a JS Float32Array of the input's size per reduction in every backward
 * (the (N, D) ones alone are ~1 MiB each), which made most of a training step's garbage
 * collection (BENCHMARKS.md, "Third pass"). Here the ones come from `onesLike`, which every
 * backend fills in its own memory: the same product, the same values. (`broadcastTo` would skip
 * the product, but wasm's `Tile` kernel is several times slower than both.) Importing this module
 * registers them; the model's modules import it instead of tfjs's register_all_gradients.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';

/** dy reshaped to x's rank (1 on the reduced axes), times ones of x's shape. */
function broadcastDy(dy: tf.Tensor, x: tf.Tensor, axis: number | number[]): tf.Tensor {
  const axes = tf.util.parseAxisParam(axis, x.shape);
  const expanded = x.shape.map((n, i) => (axes.includes(i) ? 1 : n));
  const ones = x.dtype === 'float32' ? tf.onesLike(x) : tf.ones(x.shape, 'float32'); // (x.shape)
  return tf.mul(tf.reshape(dy, expanded), ones);
}

tf.registerGradient({
  kernelName: tf.Sum,
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => ({ x: () => broadcastDy(dy as tf.Tensor, x, (attrs as unknown as tf.SumAttrs).axis) }),
});

tf.registerGradient({
  kernelName: tf.Mean,
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => {
    const axis = (attrs as unknown as tf.MeanAttrs).axis;
    const axes = tf.util.parseAxisParam(axis, x.shape);
    const reduceSize = axes.reduce((s, a) => s * x.shape[a], 1);
    return { x: () => tf.div(broadcastDy(dy as tf.Tensor, x, axis), reduceSize) };
  },
});
