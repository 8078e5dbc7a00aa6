/**
 * Fused kernels of a training step that a backend may provide: the vocabulary cross-entropy,
 * AdamW's update, the squared norm for clipping, and the layers' RMSNorm, SwiGLU activation and
 * causal attention with RoPE, each with its backward. Written in tf ops, each is one of the
 * largest groups of small kernels in a step; a backend with native code for them (the `blas`
 * configuration: training-kernels and layer-kernels in blas/) registers these names, and the
 * model and the optimizer use them where they are registered, tf ops everywhere else.
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
 * - `MoeppRmsNorm` {x (N, D), gain (D)}, attrs {eps} → [y (N, D), rstd (N)]: rstd = (mean_j x² +
 *   eps)^(−1/2), y = x·rstd·gain.
 * - `MoeppRmsNormGrad` {x, gain, rstd, dy} → [dx (N, D), dgain (D)]: with dyg = dy·gain,
 *   dx = dyg·rstd − x·rstd³·mean_j(dyg·x), dgain = Σ_rows dy·x·rstd.
 * - `MoeppSwiGlu` {gate (n, I), up (n, I)} → h = silu(gate)·up.
 * - `MoeppSwiGluGrad` {gate, up, dh} → [h, dgate, dup]: with s = σ(gate), dup = dh·gate·s,
 *   dgate = dh·up·s·(1 + gate·(1 − s)) (h again, for W_down's gradient, from the same sigmoids).
 * - `MoeppCausalAttention` {q, k, v (B·T, D), cos, sin (T, hd)}, attrs {batch, seqLen, heads} →
 *   [out (B·T, D), probs (B, H, T, T), qRot, kRot (B·T, D)]: per batch and head (columns
 *   h·hd … of the projections), RoPE ("rotate half") on q and k, probs = causal
 *   softmax(qRot·kRotᵀ/√hd) with exact zeros above the diagonal, out = probs·v.
 * - `MoeppCausalAttentionGrad` {qRot, kRot, v, probs, dOut, cos, sin}, attrs {batch, seqLen,
 *   heads} → [dq, dk, dv (B·T, D)]: the backward of `MoeppCausalAttention` through RoPE.
 */
import * as tf from '@tensorflow/tfjs-core';

export const TRAINING_KERNELS = {
  softmaxCrossEntropy: 'MoeppSoftmaxCrossEntropy',
  softmaxCrossEntropyGrad: 'MoeppSoftmaxCrossEntropyGrad',
  sumOfSquares: 'MoeppSumOfSquares',
  adamW: 'MoeppAdamW',
  rmsNorm: 'MoeppRmsNorm',
  rmsNormGrad: 'MoeppRmsNormGrad',
  swiGlu: 'MoeppSwiGlu',
  swiGluGrad: 'MoeppSwiGluGrad',
  causalAttention: 'MoeppCausalAttention',
  causalAttentionGrad: 'MoeppCausalAttentionGrad',
} as const;

export type TrainingKernel = (typeof TRAINING_KERNELS)[keyof typeof TRAINING_KERNELS];

/** Whether the active backend registers `kernel`. */
export function hasTrainingKernel(kernel: TrainingKernel): boolean {
  return tf.getKernel(kernel, tf.getBackend()) !== undefined;
}
