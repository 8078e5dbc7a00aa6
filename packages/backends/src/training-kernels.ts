/**
 * Fused kernels of a training step that a backend may provide: the vocabulary cross-entropy,
 * AdamW's update and the squared norm for clipping. Written in tf ops, each is one of the
 * largest groups of small kernels in a step; a backend with native code for them (the `blas`
 * configuration: training-kernels in blas/) registers these names, and the model and the
 * optimizer use them where they are registered, tf ops everywhere else.
 *
 * Contracts (every implementation):
 * - `MoeppSoftmaxCrossEntropy` {logits (N, V) float32, targets (N) int32} → [loss (N), lse (N)]:
 *   lse = log Σ_j exp(logits), loss = lse − logits[target].
 * - `MoeppSoftmaxCrossEntropyGrad` {logits, lse, targets}, attrs {scale} → dlogits (N, V) =
 *   scale · (softmax(logits) − onehot(targets)).
 * - `MoeppSumOfSquares` [x₀, x₁, …] float32 → scalar float32: Σ x² over all, accumulated in float64.
 * - `MoeppAdamW` {param, grad, m, v}, attrs {beta1, beta2, epsilon, gradScale, lr, weightDecay,
 *   step} → [param′, m′, v′]: one AdamW step (adamw.ts of @moepp/experiments states the update),
 *   meant for `variable.assign`; an output may reuse its input's memory where nothing else holds it.
 */
import * as tf from '@tensorflow/tfjs-core';

export const TRAINING_KERNELS = {
  softmaxCrossEntropy: 'MoeppSoftmaxCrossEntropy',
  softmaxCrossEntropyGrad: 'MoeppSoftmaxCrossEntropyGrad',
  sumOfSquares: 'MoeppSumOfSquares',
  adamW: 'MoeppAdamW',
} as const;

export type TrainingKernel = (typeof TRAINING_KERNELS)[keyof typeof TRAINING_KERNELS];

/** Whether the active backend registers `kernel`. */
export function hasTrainingKernel(kernel: TrainingKernel): boolean {
  return tf.getKernel(kernel, tf.getBackend()) !== undefined;
}
