/**
 * Top-K on the host. tfjs' `topk` has no gradient and the dispatch plan is integer bookkeeping
 * anyway, so modes rank the (N, E) scores they choose (logits, noisy logits, biased scores) here.
 */
import type { Selection } from './gating-mode.ts';

/**
 * Top-K expert indices per row of a (N, E) score matrix, highest first, ties to the lower index.
 *
 * @example
 * topKIndices(Float32Array.of(1, 3, 3, 2), 1, 4, 3); // Int32Array [1, 2, 3]
 */
export function topKIndices(scores: Float32Array, tokens: number, experts: number, k: number): Int32Array {
  const out = new Int32Array(tokens * k);
  for (let n = 0; n < tokens; n++) {
    const row = n * experts;
    for (let j = 0; j < k; j++) {
      let best = -1;
      let bestScore = -Infinity;
      for (let e = 0; e < experts; e++) {
        let taken = false;
        for (let i = 0; i < j; i++) if (out[n * k + i] === e) taken = true;
        if (taken) continue;
        const s = scores[row + e];
        // NaN logits would silently route nowhere; fail loudly instead.
        if (Number.isNaN(s)) throw new Error(`router logit is NaN at token ${n}, expert ${e}`);
        if (best < 0 || s > bestScore) {
          best = e;
          bestScore = s;
        }
      }
      out[n * k + j] = best;
    }
  }
  return out;
}

/**
 * The selection that ranks by `scores`: top-K per token and its (N·E) mask.
 *
 * @example
 * selectTopK(hostLogits, tokens, experts, 2).topKIndex; // (N·2)
 */
export function selectTopK(scores: Float32Array, tokens: number, experts: number, topK: number): Selection {
  return selectionFromTopK(topKIndices(scores, tokens, experts, topK), tokens, experts, topK);
}

/**
 * The selection of given top-K indices (N·K), with its (N·E) mask.
 *
 * @example
 * selectionFromTopK(Int32Array.from([0, 2]), 1, 3, 2).selectedMask; // Float32Array [1, 0, 1]
 */
export function selectionFromTopK(topKIndex: Int32Array, tokens: number, experts: number, topK: number): Selection {
  if (topKIndex.length !== tokens * topK) throw new Error(`selection: ${topKIndex.length} indices for ${tokens} tokens × top-${topK}`);
  const selectedMask = new Float32Array(tokens * experts);
  for (let i = 0; i < topKIndex.length; i++) selectedMask[Math.floor(i / topK) * experts + topKIndex[i]] = 1;
  return { tokens, experts, topK, topKIndex, selectedMask };
}

/** Float64 reference ranking of one token: indices of the K largest values, ties to the lower index. */
export function referenceTopK(scores: number[], topK: number): number[] {
  return scores
    .map((v, e) => ({ v, e }))
    .sort((a, b) => b.v - a.v || a.e - b.e)
    .slice(0, topK)
    .map((o) => o.e);
}
