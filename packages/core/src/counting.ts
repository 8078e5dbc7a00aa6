/**
 * Parameter counts and analytic FLOPs per token, from the config alone (no tensors), so studies
 * can report "total / active parameters" and compute without building a model.
 *
 * Conventions (stated, since papers differ): matmul FLOPs are 2·in·out per token; embeddings are
 * counted in the parameters (and the LM head, once, when tied) but an embedding lookup costs no
 * FLOPs; attention adds 2·2·T·D per layer for scores and mixing at context T (full, not causal-
 * halved — the Kaplan et al. convention); norms, softmaxes and ZC experts' O(D) work are omitted
 * from FLOPs.
 */
import { expertCountsOfLayer, isMoeBlock, type ModelConfig } from './config.js';
import { expertKindsFromCounts, type ExpertKind } from './experts/expert-kinds.js';

export interface ParameterCounts {
  total: number;
  /** Parameters a token touches: all non-expert ones plus the FFN/constant experts it is routed to (expected). */
  activePerToken: number;
  /** Expected FFN experts per token in each MoE++ layer used for `activePerToken`. */
  ffnExpertsPerToken: number[];
}

/**
 * Expected FFN experts per token under the balance the heterogeneous loss converges to:
 * K · τ·N_ffn / (τ·N_ffn + N_zc) — e.g. 2 · 0.75·16 / (0.75·16 + 4) = 1.5 for (16+4)E at τ = 0.75.
 */
export function balancedFfnExpertsPerToken(kinds: readonly ExpertKind[], topK: number, tau: number): number {
  const nFfn = kinds.filter((k) => k === 'ffn').length;
  const nZc = kinds.length - nFfn;
  return (topK * tau * nFfn) / (tau * nFfn + nZc);
}

/** Expected constant experts per token under the same balance (each ZC expert gets a share ∝ 1). */
function balancedConstantExpertsPerToken(kinds: readonly ExpertKind[], topK: number, tau: number): number {
  const nFfn = kinds.filter((k) => k === 'ffn').length;
  const nConstant = kinds.filter((k) => k === 'constant').length;
  return (topK * nConstant) / (tau * nFfn + (kinds.length - nFfn));
}

/**
 * Total and active parameters. `measuredFfnExpertsPerToken` (one per MoE++ layer) replaces the
 * balanced expectation when routing statistics of a trained model are available.
 *
 * @example
 * countParameters(resolveModelConfig({})).activePerToken;
 */
export function countParameters(config: ModelConfig, measuredFfnExpertsPerToken?: number[]): ParameterCounts {
  const D = config.dModel;
  const V = config.vocabSize;
  const perFfn = (hidden: number) => 3 * D * hidden;
  let total = V * D + D + (config.tieEmbeddings ? 0 : D * V);
  let active = total;
  const ffnPerToken: number[] = [];
  let moeIndex = 0;
  for (let i = 0; i < config.nLayers; i++) {
    const shared = 2 * D + 4 * D * D; // two norms, attention
    total += shared;
    active += shared;
    if (!isMoeBlock(config, i) || !config.moe) {
      total += perFfn(config.denseFfnHidden);
      active += perFfn(config.denseFfnHidden);
      continue;
    }
    const moe = config.moe;
    const kinds = expertKindsFromCounts(expertCountsOfLayer(moe, moeIndex));
    const E = kinds.length;
    const nFfn = kinds.filter((k) => k === 'ffn').length;
    const nConstant = kinds.filter((k) => k === 'constant').length;
    const router = D * E + (moe.gatingResidual && moeIndex > 0 ? E * E : 0);
    const constantSize = 3 * D; // W_c (D, 2) and v (D)
    total += router + nFfn * perFfn(moe.ffnHidden) + nConstant * constantSize;
    const ffnExperts = measuredFfnExpertsPerToken?.[moeIndex] ?? balancedFfnExpertsPerToken(kinds, moe.topK, moe.tau);
    ffnPerToken.push(ffnExperts);
    active += router + ffnExperts * perFfn(moe.ffnHidden) + balancedConstantExpertsPerToken(kinds, moe.topK, moe.tau) * constantSize;
    moeIndex++;
  }
  return { total, activePerToken: Math.round(active), ffnExpertsPerToken: ffnPerToken };
}

/** Forward FLOPs per token at context `seqLen` (default maxSeqLen); training ≈ 3× this. */
export function forwardFlopsPerToken(config: ModelConfig, seqLen = config.maxSeqLen, measuredFfnExpertsPerToken?: number[]): number {
  const D = config.dModel;
  let flops = 2 * D * config.vocabSize; // LM head
  let moeIndex = 0;
  for (let i = 0; i < config.nLayers; i++) {
    flops += 2 * 4 * D * D + 2 * 2 * seqLen * D; // projections; scores and mixing
    if (!isMoeBlock(config, i) || !config.moe) {
      flops += 2 * 3 * D * config.denseFfnHidden;
      continue;
    }
    const moe = config.moe;
    const kinds = expertKindsFromCounts(expertCountsOfLayer(moe, moeIndex));
    const ffnExperts = measuredFfnExpertsPerToken?.[moeIndex] ?? balancedFfnExpertsPerToken(kinds, moe.topK, moe.tau);
    flops += 2 * D * kinds.length + ffnExperts * 2 * 3 * D * moe.ffnHidden;
    moeIndex++;
  }
  return flops;
}
