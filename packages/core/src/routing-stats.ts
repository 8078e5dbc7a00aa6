/**
 * Per-layer routing statistics, computed on the host from what routing already read there (the
 * logits, the plan) plus one read of the probabilities — enough for the paper's analyses: FFN
 * experts per token (overall and per token, for the POS breakdown), ZC share per kind, expert
 * load, dropped slots, router logit moments, routing-score variance, and the balance loss.
 */
import { expertKindNames, isFfnLike } from './experts/index.ts';
import type { DispatchPlan } from './dispatch.ts';
import { balanceWeights, balancedLossValue, expertTokenFractions } from './losses.ts';
import { meanTokenEntropy } from './routing-measures.ts';

export interface LayerRoutingStats {
  /** Index among MoE++ layers. */
  layer: number;
  /** Index of the decoder block holding it. */
  block: number;
  expertKinds: readonly string[];
  /** (N·K) chosen experts per token, best first. */
  topKIndex: Int32Array;
  /** (E) kept routing slots per expert. */
  tokensPerExpert: Int32Array;
  /** (N) FFN experts computed for each token (kept FFN slots). */
  ffnExpertsPerToken: Float32Array;
  ffnExpertsPerTokenMean: number;
  /** Share of all N·K slots that went (kept) to each registered kind; `dropped` is the rest. */
  slotShare: Record<string, number>;
  droppedSlots: number;
  routerLogitMean: number;
  routerLogitStd: number;
  /** Variance of the routing probabilities across tokens, averaged over experts. */
  routingScoreVariance: number;
  /** Raw heterogeneous balance loss Σ η_i f_i P_i of this layer. */
  balanceLoss: number;
  /** balanceLoss / its value under perfect heterogeneous balance (1.0 = balanced). */
  balanceLossNormalised: number;
  /** Mean over tokens of the entropy (nats) of the routing scores (routing-measures.ts). */
  routingEntropy: number;
}

export function computeRoutingStats(args: {
  layer: number;
  block: number;
  kinds: readonly string[];
  plan: DispatchPlan;
  hostLogits: Float32Array;
  hostProbs: Float32Array;
  tau: number;
}): LayerRoutingStats {
  const { plan, kinds, hostLogits, hostProbs, tau } = args;
  const { tokens, experts, topK } = plan;
  const tokensPerExpert = new Int32Array(experts);
  const ffnExpertsPerToken = new Float32Array(tokens);
  const ffnLike = kinds.map(isFfnLike);
  for (let n = 0; n < tokens; n++) {
    for (let e = 0; e < experts; e++) {
      if (plan.keptMask[n * experts + e] === 0) continue;
      tokensPerExpert[e]++;
      if (ffnLike[e]) ffnExpertsPerToken[n]++;
    }
  }
  const slots = tokens * topK;
  // Every registered kind gets a share (0 when absent), so runs with different expert sets line up.
  const slotShare: Record<string, number> = Object.fromEntries(expertKindNames().map((k) => [k, 0]));
  slotShare.dropped = plan.droppedSlots / slots;
  kinds.forEach((k, e) => (slotShare[k] += tokensPerExpert[e] / slots));

  const logitMoments = moments(hostLogits);
  const f = expertTokenFractions(plan);
  const eta = balanceWeights(kinds, tau);
  let routingScoreVariance = 0;
  let balanceLoss = 0;
  for (let e = 0; e < experts; e++) {
    const column = new Float64Array(tokens);
    for (let n = 0; n < tokens; n++) column[n] = hostProbs[n * experts + e];
    const m = moments(column);
    routingScoreVariance += m.variance / experts;
    balanceLoss += eta[e] * f[e] * m.mean;
  }
  return {
    layer: args.layer,
    block: args.block,
    expertKinds: kinds,
    topKIndex: plan.topKIndex,
    tokensPerExpert,
    ffnExpertsPerToken,
    ffnExpertsPerTokenMean: mean(ffnExpertsPerToken),
    slotShare,
    droppedSlots: plan.droppedSlots,
    routerLogitMean: logitMoments.mean,
    routerLogitStd: Math.sqrt(logitMoments.variance),
    routingScoreVariance,
    balanceLoss,
    balanceLossNormalised: balanceLoss / balancedLossValue(kinds, tau, topK),
    routingEntropy: meanTokenEntropy(hostProbs, tokens, experts),
  };
}

function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return a.length ? s / a.length : 0;
}

/** Mean and population variance, accumulated in float64. */
function moments(a: ArrayLike<number>): { mean: number; variance: number } {
  const m = mean(a);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - m) ** 2;
  return { mean: m, variance: a.length ? s / a.length : 0 };
}
