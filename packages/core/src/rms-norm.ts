/**
 * RMSNorm (LLaMA): `x / sqrt(mean(x²) + eps) · g`, no bias, no mean subtraction.
 *
 * One op with a written-out backward. Differentiated by tfjs, its `mean` alone builds a (N, D)
 * array of ones on the host and uploads it for every norm of every step, and each broadcast
 * product adds its own reduction; the backward below is a handful of kernels and builds nothing
 * on the host (BENCHMARKS.md, "The whole training step"). With r = (mean(x²) + eps)^(−1/2):
 *   dg = Σ_rows dy · x · r
 *   dx = r · (dy·g) − x · r³ · mean((dy·g) · x)      (row means)
 * Where the backend registers the fused RMSNorm kernels (`blas`), the forward and the backward
 * are one native pass each.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hasTrainingKernel, TRAINING_KERNELS } from '@moepp/backends';
import { isRecordingGradients } from './tape.ts';

/** x (N, D), gain (D) -> (N, D) */
export function rmsNorm(x: tf.Tensor2D, gain: tf.Variable | tf.Tensor1D, eps: number): tf.Tensor2D {
  const recording = isRecordingGradients();
  if (hasTrainingKernel(TRAINING_KERNELS.rmsNorm) && hasTrainingKernel(TRAINING_KERNELS.rmsNormGrad)) return fusedRmsNorm(x, gain, eps, recording);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, g] = args as [tf.Tensor2D, tf.Tensor1D];
    const save = args[2] as tf.GradSaveFunc;
    const r = tf.rsqrt(tf.add(tf.mean(tf.square(input), 1, true), eps)); // (N, 1)
    save(recording ? [input, g, r] : []);
    return {
      value: tf.mul(tf.mul(input, r), g) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor, [xSaved, gSaved, rSaved]: tf.Tensor[]) => {
        const dyg = tf.mul(dy, gSaved); // (N, D)
        const dGain = tf.sum(tf.mul(dy, tf.mul(xSaved, rSaved)), 0); // (D)
        const rowMean = tf.mean(tf.mul(dyg, xSaved), 1, true); // (N, 1)
        const dx = tf.sub(tf.mul(dyg, rSaved), tf.mul(xSaved, tf.mul(rowMean, tf.pow(rSaved, 3)))); // (N, D)
        return [dx, dGain];
      },
    };
  });
  return op(x, gain) as tf.Tensor2D;
}

/** The same op through the backend's fused kernels (training-kernels.ts of @moepp/backends). */
function fusedRmsNorm(x: tf.Tensor2D, gain: tf.Variable | tf.Tensor1D, eps: number, recording: boolean): tf.Tensor2D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, g] = args as [tf.Tensor2D, tf.Tensor1D];
    const save = args[2] as tf.GradSaveFunc;
    const [y, r] = tf.engine().runKernel(TRAINING_KERNELS.rmsNorm, { x: input, gain: g }, { eps }) as tf.Tensor[]; // (N, D), (N)
    save(recording ? [input, g, r] : []);
    return {
      value: y as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor, [xSaved, gSaved, rSaved]: tf.Tensor[]) =>
        tf.engine().runKernel(TRAINING_KERNELS.rmsNormGrad, { x: xSaved, gain: gSaved, rstd: rSaved, dy }) as tf.Tensor[], // dx (N, D), dgain (D)
    };
  });
  return op(x, gain) as tf.Tensor2D;
}
