/**
 * The SwiGLU activation of the FFN: h = silu(gate) ⊙ up, and its backward. With s = σ(gate):
 *   dup = dh ⊙ gate·s,   dgate = dh ⊙ up ⊙ s·(1 + gate·(1 − s)).
 * In tf ops that is six elementwise kernels forward and about ten backward, each a full pass over
 * the (n, I) hidden activations of every expert; where the backend registers the fused SwiGLU
 * kernels (`blas`), each direction is one native pass that computes the sigmoid once.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hasTrainingKernel, TRAINING_KERNELS } from '@moepp/backends';

const fused = () => hasTrainingKernel(TRAINING_KERNELS.swiGlu) && hasTrainingKernel(TRAINING_KERNELS.swiGluGrad);

/** The activation and its gradients, as the backward of a hand-written layer needs them. */
export interface SwiGluGradients {
  /** (n, I) the forward's h again, for W_down's gradient */
  h: tf.Tensor2D;
  /** (n, I) */
  dGate: tf.Tensor2D;
  /** (n, I) */
  dUp: tf.Tensor2D;
}

/**
 * gate, up (n, I) → h (n, I) = silu(gate) ⊙ up; differentiable.
 *
 * @example
 * const h = swiGlu(tf.matMul(x, wGate), tf.matMul(x, wUp)); // (n, I)
 */
export function swiGlu(gate: tf.Tensor2D, up: tf.Tensor2D): tf.Tensor2D {
  if (!fused()) return tf.mul(tf.mul(gate, tf.sigmoid(gate)), up) as tf.Tensor2D;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [g, u] = args as [tf.Tensor2D, tf.Tensor2D];
    (args[2] as tf.GradSaveFunc)([g, u]);
    return {
      value: tf.engine().runKernel(TRAINING_KERNELS.swiGlu, { gate: g, up: u }) as tf.Tensor2D,
      gradFunc: (dh: tf.Tensor, [gSaved, uSaved]: tf.Tensor[]) => {
        const { h, dGate, dUp } = swiGluBackward(gSaved as tf.Tensor2D, uSaved as tf.Tensor2D, dh as tf.Tensor2D);
        h.dispose();
        return [dGate, dUp];
      },
    };
  });
  return op(gate, up) as tf.Tensor2D;
}

/**
 * The forward's h and the gradients of gate and up for an upstream dh, all (n, I).
 *
 * @example
 * const { h, dGate, dUp } = swiGluBackward(gate, up, dh);
 */
export function swiGluBackward(gate: tf.Tensor2D, up: tf.Tensor2D, dh: tf.Tensor2D): SwiGluGradients {
  if (fused()) {
    const [h, dGate, dUp] = tf.engine().runKernel(TRAINING_KERNELS.swiGluGrad, { gate, up, dh }) as tf.Tensor2D[];
    return { h, dGate, dUp };
  }
  return tf.tidy(() => {
    const s = tf.sigmoid(gate); // (n, I)
    const a = tf.mul(gate, s); // (n, I) silu(gate)
    const h = tf.mul(a, up) as tf.Tensor2D;
    const dUp = tf.mul(dh, a) as tf.Tensor2D;
    const dGate = tf.mul(tf.mul(dh, up), tf.mul(s, tf.add(1, tf.mul(gate, tf.sub(1, s))))) as tf.Tensor2D;
    return { h, dGate, dUp };
  });
}
