/**
 * The dispatch plan: which routing slots exist, which survive capacity, and the order in which
 * FFN slots are laid out so that each FFN expert runs one matmul chain on a contiguous slice.
 * Computed on the host from the router logits: top-K and sorting are integer bookkeeping that
 * tfjs cannot differentiate anyway (`topk` has no gradient), and the host does it in O(N·E).
 */
import type { ExpertKind } from './experts/expert-kinds.js';

export interface DispatchPlan {
  tokens: number; // N
  experts: number; // E
  topK: number; // K
  /** (N·K) chosen experts per token, best first; ties go to the lower expert index. */
  topKIndex: Int32Array;
  /** (N·E) 1 where expert e is in token n's top-K. */
  selectedMask: Float32Array;
  /** (N·E) 1 where the slot is selected and within capacity (equal to selectedMask when dropless). */
  keptMask: Float32Array;
  /** (S) token of each kept FFN slot, grouped by FFN expert in layer order. */
  ffnSlotToken: Int32Array;
  /** (S) `n·E + e` of each kept FFN slot: where its routing weight sits in the flattened (N·E) weights. */
  ffnSlotWeightIndex: Int32Array;
  /** (E + 1) slot range of expert e in the FFN slot list: [offsets[e], offsets[e+1]); empty for ZC experts. */
  expertSlotOffsets: Int32Array;
  /** Selected slots dropped by capacity. */
  droppedSlots: number;
  /** Per-expert capacity in slots, or null when dropless. */
  capacity: Int32Array | null;
}

/**
 * Top-K expert indices per row of a (N, E) score matrix, highest first, ties to the lower index.
 * Ranking by router logits equals ranking by routing probabilities in every gating mode, since
 * each mode's probabilities are a per-token increasing function of the logits.
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
 * The paper's heterogeneous capacity (moepp-method.md §6), in slots per expert:
 * FFN `ceil(γ·τ·S / (τ·N_ffn + N_zc))`, ZC `ceil(γ·S / (τ·N_ffn + N_zc))`, with S = N·K routing
 * slots (we read the paper's ambiguous S as slots, not tokens, so that γ = 1 with balanced routing
 * fits every slot exactly).
 */
export function heterogeneousCapacity(
  kinds: readonly ExpertKind[],
  tokens: number,
  topK: number,
  tau: number,
  gamma: number,
): Int32Array {
  const nFfn = kinds.filter((k) => k === 'ffn').length;
  const nZc = kinds.length - nFfn;
  const slots = tokens * topK;
  const denominator = tau * nFfn + nZc;
  return Int32Array.from(kinds, (kind) =>
    Math.ceil(((kind === 'ffn' ? gamma * tau : gamma) * slots) / denominator),
  );
}

/**
 * Builds the plan from top-K indices. With capacity, slots are admitted rank-major (every token's
 * first choice in token order, then second choices, …), as in GShard, so a token loses its
 * weaker choices before anyone loses a first choice.
 */
export function planDispatch(
  topKIndex: Int32Array,
  tokens: number,
  kinds: readonly ExpertKind[],
  topK: number,
  capacity: Int32Array | null,
): DispatchPlan {
  const experts = kinds.length;
  const selectedMask = new Float32Array(tokens * experts);
  const keptMask = new Float32Array(tokens * experts);
  const load = new Int32Array(experts);
  let droppedSlots = 0;
  for (let j = 0; j < topK; j++) {
    for (let n = 0; n < tokens; n++) {
      const e = topKIndex[n * topK + j];
      selectedMask[n * experts + e] = 1;
      if (capacity !== null && load[e] >= capacity[e]) {
        droppedSlots++;
        continue;
      }
      load[e]++;
      keptMask[n * experts + e] = 1;
    }
  }

  const expertSlotOffsets = new Int32Array(experts + 1);
  for (let e = 0; e < experts; e++) {
    expertSlotOffsets[e + 1] = expertSlotOffsets[e] + (kinds[e] === 'ffn' ? load[e] : 0);
  }
  const ffnSlots = expertSlotOffsets[experts];
  const ffnSlotToken = new Int32Array(ffnSlots);
  const ffnSlotWeightIndex = new Int32Array(ffnSlots);
  const cursor = expertSlotOffsets.slice(0, experts);
  for (let n = 0; n < tokens; n++) {
    for (let j = 0; j < topK; j++) {
      const e = topKIndex[n * topK + j];
      if (kinds[e] !== 'ffn' || keptMask[n * experts + e] === 0) continue;
      const s = cursor[e]++;
      ffnSlotToken[s] = n;
      ffnSlotWeightIndex[s] = n * experts + e;
    }
  }
  return {
    tokens, experts, topK, topKIndex, selectedMask, keptMask,
    ffnSlotToken, ffnSlotWeightIndex, expertSlotOffsets, droppedSlots, capacity,
  };
}
