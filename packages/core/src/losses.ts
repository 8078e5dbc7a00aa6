/**
 * Router losses as pure functions of one layer's router outputs (moepp-method.md §5); the model
 * averages them over MoE++ layers.
 */
import * as tf from '@tensorflow/tfjs-core';
import { isFfnLike } from './experts/index.ts';
import type { Selection } from './gating/index.ts';

/** η_i: 1 for an FFN-like expert, τ for a zero-computation expert (by the kind's cost class). */
export function balanceWeights(kinds: readonly string[], tau: number): Float32Array {
  return Float32Array.from(kinds, (k) => (isFfnLike(k) ? 1 : tau));
}

/** f_i: fraction of tokens whose top-K contains expert i (Σ f_i = K); a host constant, no gradient. */
export function expertTokenFractions(plan: Selection): Float32Array {
  const f = new Float32Array(plan.experts);
  for (let i = 0; i < plan.selectedMask.length; i++) f[i % plan.experts] += plan.selectedMask[i];
  return f.map((c) => c / plan.tokens);
}

/**
 * Heterogeneous load-balance loss `L_b = Σ_i η_i · f_i · P_i`, no ×E factor.
 *
 * @example
 * const lb = heterogeneousBalanceLoss(routerProbs, plan, kinds, 0.75); // scalar
 */
export function heterogeneousBalanceLoss(
  routerProbs: tf.Tensor2D,
  plan: Selection,
  kinds: readonly string[],
  tau: number,
): tf.Scalar {
  const eta = balanceWeights(kinds, tau);
  const f = expertTokenFractions(plan);
  const etaF = tf.tensor1d(eta.map((h, i) => h * f[i])); // (E)
  const meanProbs = tf.mean(routerProbs, 0); // (E) P_i
  return tf.sum(tf.mul(meanProbs, etaF)) as tf.Scalar;
}

/**
 * The value L_b takes when routing is perfectly balanced in the heterogeneous sense: expert i
 * receives a share ∝ 1/η_i of the N·K slots (FFN share τ·N_ffn/(τ·N_ffn + N_zc), §5) and P_i
 * matches its load, f_i / K. Then L_b* = K / Σ_j (1/η_j) — K/E for a vanilla MoE. Dividing by it
 * gives the normalised balance (1.0 = balanced) that runs are compared by.
 */
export function balancedLossValue(kinds: readonly string[], tau: number, topK: number): number {
  const inverseEtaSum = Array.from(balanceWeights(kinds, tau)).reduce((s, h) => s + 1 / h, 0);
  return topK / inverseEtaSum;
}

/**
 * ST-MoE router z-loss: mean over tokens of logsumexp(G)². One op with its gradient written out,
 * ∂/∂G_ij = (2/N)·lse_i·softmax_ij: tfjs's own gradient of logSumExp also differentiates the
 * row maximum it shifts by (a broadcast comparison per layer), whose terms cancel.
 */
export function routerZLoss(routerLogits: tf.Tensor2D): tf.Scalar {
  const [tokens] = routerLogits.shape;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const logits = args[0] as tf.Tensor2D;
    const save = args[1] as tf.GradSaveFunc;
    const lse = tf.logSumExp(logits, 1, true); // (N, 1)
    save([logits, lse]);
    return {
      value: tf.mean(tf.square(lse)) as tf.Scalar,
      gradFunc: (dy: tf.Tensor, [g, l]: tf.Tensor[]) => tf.mul(tf.exp(tf.sub(g, l)), tf.mul(l, tf.mul(dy, 2 / tokens))),
    };
  });
  return op(routerLogits) as tf.Scalar;
}
