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
import { isMoeBlock, moeLayerSpec, type ModelConfig } from './config.ts';
import { expertKind, ffnExpert, ffnLikeCount, isFfnLike, type ExpertDims } from './experts/index.ts';
import { sharedExpertsFlopsPerToken, sharedExpertsParameterCount } from './shared-experts.ts';
import { gatingMode, gatingOptions } from './gating/index.ts';
import type { MoeLayerSpec } from './moe-layer.ts';

export interface ParameterCounts {
  total: number;
  /** Parameters a token touches: all non-expert ones plus the experts it is routed to (expected). */
  activePerToken: number;
  /** Expected FFN experts per token in each MoE++ layer used for `activePerToken`. */
  ffnExpertsPerToken: number[];
}

/**
 * Expected FFN experts per token under the balance the heterogeneous loss converges to:
 * K · τ·N_ffn / (τ·N_ffn + N_zc) — e.g. 2 · 0.75·16 / (0.75·16 + 4) = 1.5 for (16+4)E at τ = 0.75.
 */
export function balancedFfnExpertsPerToken(kinds: readonly string[], topK: number, tau: number): number {
  const nFfn = ffnLikeCount(kinds);
  const nZc = kinds.length - nFfn;
  return (topK * tau * nFfn) / (tau * nFfn + nZc);
}

/**
 * Expected experts of one zero-computation kind per token under the same balance (each ZC expert
 * gets a share ∝ 1, each FFN-like one ∝ τ): K · N_kind / (τ·N_ffn + N_zc).
 */
function balancedZeroComputationPerToken(kinds: readonly string[], kind: string, topK: number, tau: number): number {
  const nFfn = ffnLikeCount(kinds);
  const nKind = kinds.filter((k) => k === kind).length;
  return (topK * nKind) / (tau * nFfn + (kinds.length - nFfn));
}

/** Parameters of one expert of `kind`. */
function expertParameterCount(kind: string, dims: ExpertDims): number {
  return expertKind(kind).parameters(dims).reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
}

/** Mean of `f` over a layer's FFN-like experts: what one of its "FFN experts per token" costs. */
function meanOverFfnLike(kinds: readonly string[], f: (kind: string) => number): number {
  const ffnLike = kinds.filter(isFfnLike);
  return ffnLike.reduce((s, k) => s + f(k), 0) / ffnLike.length;
}

/** The distinct kinds of a layer, in layer order. */
const distinct = (kinds: readonly string[]): string[] => [...new Set(kinds)];

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
  const dense = expertParameterCount(ffnExpert.name, { dModel: D, ffnHidden: config.denseFfnHidden });
  let total = V * D + D + (config.tieEmbeddings ? 0 : D * V);
  let active = total;
  const ffnPerToken: number[] = [];
  let moeIndex = 0;
  for (let i = 0; i < config.nLayers; i++) {
    const shared = 2 * D + 4 * D * D; // two norms, attention
    total += shared;
    active += shared;
    if (!isMoeBlock(config, i) || !config.moe) {
      total += dense;
      active += dense;
      continue;
    }
    const spec = moeLayerSpec(config, moeIndex);
    const { kinds, topK, tau } = spec;
    const dims = { dModel: D, ffnHidden: spec.ffnHidden };
    const router = routerParameterCount(spec);
    const perFfn = meanOverFfnLike(kinds, (k) => expertParameterCount(k, dims));
    const ffnExperts = measuredFfnExpertsPerToken?.[moeIndex] ?? balancedFfnExpertsPerToken(kinds, topK, tau);
    let expertsTotal = 0;
    let zeroComputationActive = 0;
    for (const kind of distinct(kinds)) {
      const size = expertParameterCount(kind, dims);
      expertsTotal += kinds.filter((k) => k === kind).length * size;
      if (!isFfnLike(kind)) zeroComputationActive += balancedZeroComputationPerToken(kinds, kind, topK, tau) * size;
    }
    // Shared experts are on for every token: all of them are active.
    const sharedExperts = spec.sharedExperts ? sharedExpertsParameterCount(spec.sharedExperts, D) : 0;
    total += router + expertsTotal + sharedExperts;
    ffnPerToken.push(ffnExperts);
    active += router + ffnExperts * perFfn + zeroComputationActive + sharedExperts;
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
      flops += ffnExpert.flopsPerToken({ dModel: D, ffnHidden: config.denseFfnHidden });
      continue;
    }
    const spec = moeLayerSpec(config, moeIndex);
    const { kinds, topK, tau } = spec;
    const dims = { dModel: D, ffnHidden: spec.ffnHidden };
    const ffnExperts = measuredFfnExpertsPerToken?.[moeIndex] ?? balancedFfnExpertsPerToken(kinds, topK, tau);
    flops += routerFlopsPerToken(spec) + ffnExperts * meanOverFfnLike(kinds, (k) => expertKind(k).flopsPerToken(dims));
    if (spec.sharedExperts) flops += sharedExpertsFlopsPerToken(spec.sharedExperts, D);
    // Zero-computation kinds count 0 under this file's convention; a kind that declares FLOPs adds them.
    for (const kind of distinct(kinds)) {
      if (!isFfnLike(kind)) flops += balancedZeroComputationPerToken(kinds, kind, topK, tau) * expertKind(kind).flopsPerToken(dims);
    }
    moeIndex++;
  }
  return flops;
}

/**
 * Router parameters of one MoE++ layer: W_r (D·E, or D·H + H·E for the two-layer router), W_g
 * (E·E) with the gating residual, and the gating mode's own (W_noise); none for hash routing.
 */
function routerParameterCount(spec: MoeLayerSpec): number {
  const D = spec.dModel;
  const E = spec.kinds.length;
  const mode = gatingMode(spec.gating);
  const dims = { dModel: D, experts: E, topK: spec.topK };
  const own = (mode.parameters?.(dims, gatingOptions(mode, spec.gatingOptions, dims)) ?? []).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
  if (mode.usesRouterLogits === false) return own;
  const residual = spec.gatingResidual ? E * E : 0;
  if (spec.attentionRouter) return 3 * D * E + residual + own;
  const H = spec.routerHidden ?? null;
  return (H === null ? D * E : D * H + H * E) + residual + own;
}

/** Forward FLOPs of the router's logits per token (matmuls only; training-only noise not counted). */
function routerFlopsPerToken(spec: MoeLayerSpec): number {
  if (gatingMode(spec.gating).usesRouterLogits === false) return 0;
  const D = spec.dModel;
  const E = spec.kinds.length;
  // The attention router: three projections, then E·E products and an E·E weighted sum.
  if (spec.attentionRouter) return 3 * 2 * D * E + 2 * 2 * E * E;
  const H = spec.routerHidden ?? null;
  return H === null ? 2 * D * E : 2 * D * H + 2 * H * E;
}
