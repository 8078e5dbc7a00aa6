/**
 * Routing under test, independent of any trained router.
 *
 * `balanced(τ)`: each token's K experts are drawn without replacement, with weight 1 per FFN
 * expert and 1/τ per zero-computation expert — the load the heterogeneous balance loss converges
 * to (moepp-method.md §5): the FFN share of routing slots is then ≈ τ·N_ffn / (τ·N_ffn + N_zc),
 * e.g. 75 % for (16+4)E at τ = 0.75. A vanilla MoE (no ZC experts) gets uniform top-K.
 *
 * The router of the layer under test is then made to produce exactly this routing (see
 * `designedRouterLogits`), so the whole layer — router included — runs for real.
 */
import { isFfnLike } from '@moepp/core';

/** Sampling weight of each expert: 1 for FFN, 1/τ for ZC. */
export function balancedSamplingWeights(kinds: readonly string[], tau: number): Float64Array {
  if (!(tau > 0 && tau <= 1)) throw new Error(`τ must be in (0, 1], got ${tau}`);
  return Float64Array.from(kinds, (k) => (isFfnLike(k) ? 1 : 1 / tau));
}

/**
 * The FFN share of routing slots that the balance loss aims for: τ·N_ffn / (τ·N_ffn + N_zc).
 *
 * @example
 * targetFfnShare(expertKinds(16, 4), 0.75); // 0.75
 */
export function targetFfnShare(kinds: readonly string[], tau: number): number {
  const nFfn = kinds.filter(isFfnLike).length;
  const nZc = kinds.length - nFfn;
  return (tau * nFfn) / (tau * nFfn + nZc);
}

/**
 * Draws `topK` distinct experts per token (best first = drawn first) with the balanced weights.
 * Returns (N·K) expert indices, the layout of core's `DispatchPlan.topKIndex`.
 *
 * @example
 * const topKIndex = sampleBalancedTopK(kinds, 2048, 2, 0.75, seedrandom.alea('1'));
 */
export function sampleBalancedTopK(
  kinds: readonly string[],
  tokens: number,
  topK: number,
  tau: number,
  rng: () => number,
): Int32Array {
  const experts = kinds.length;
  if (topK > experts) throw new Error(`top-${topK} needs at least ${topK} experts, the layer has ${experts}`);
  const weights = balancedSamplingWeights(kinds, tau);
  const total = weights.reduce((a, b) => a + b, 0);
  const out = new Int32Array(tokens * topK);
  const taken = new Uint8Array(experts);
  for (let n = 0; n < tokens; n++) {
    taken.fill(0);
    let remaining = total;
    for (let j = 0; j < topK; j++) {
      let u = rng() * remaining;
      let pick = -1;
      for (let e = 0; e < experts; e++) {
        if (taken[e]) continue;
        pick = e; // the last untaken expert absorbs rounding at the top end
        u -= weights[e];
        if (u < 0) break;
      }
      taken[pick] = 1;
      remaining -= weights[pick];
      out[n * topK + j] = pick;
    }
  }
  return out;
}

/** Number of routing slots (of N·K) that go to FFN experts. */
export function countFfnSlots(topKIndex: Int32Array, kinds: readonly string[]): number {
  const ffnLike = kinds.map(isFfnLike);
  let s = 0;
  for (let i = 0; i < topKIndex.length; i++) if (ffnLike[topKIndex[i]]) s++;
  return s;
}

/**
 * Router logits (N·E, row-major) whose top-K is exactly `topKIndex`, in order: the j-th choice
 * (0-based) sits in [1.5 + K − j, 2.5 + K − j), the others in [−1, 1). Without ties,
 * every gating mode picks the same experts; the routing weights still vary from token to token.
 */
export function designedRouterLogits(
  topKIndex: Int32Array,
  tokens: number,
  experts: number,
  topK: number,
  rng: () => number,
): Float32Array {
  const out = new Float32Array(tokens * experts);
  for (let i = 0; i < out.length; i++) out[i] = rng() * 2 - 1;
  for (let n = 0; n < tokens; n++) {
    for (let j = 0; j < topK; j++) out[n * experts + topKIndex[n * topK + j]] = 1.5 + topK - j + rng() * 0.999;
  }
  return out;
}
