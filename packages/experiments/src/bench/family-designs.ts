/**
 * The MoE family's expert designs the benchmark times beside MoE top-2, each at the same active
 * FFN compute per token as top-2 of 8 experts of hidden I: K·I_e routed + I_s shared = 2I hidden
 * units of SwiGLU (docs/moe-family.md). What differs is how that compute is cut up — many small
 * expert matmuls, an always-on shared expert — and, for hash routing, that there is no router.
 */
import type { MoeLayerSpec } from '@moepp/core';

/** How a design's layer is made to route in the benchmark. */
export type FamilyRouting =
  /** The router is made to produce a drawn uniform top-K (layer-fixture.ts's designed logits). */
  | 'designed'
  /** No router: the token ids decide (hash routing); ids drawn uniformly from the vocabulary. */
  | 'hash';

export interface FamilyDesign {
  name: string;
  /** Where the design comes from. */
  source: string;
  routing: FamilyRouting;
  /** The layer at width (D, I), as createMoeLayer takes it. */
  spec(dModel: number, dFfn: number): MoeLayerSpec;
}

/** Vocabulary the hash design's token ids are drawn from (the small preset's). */
export const HASH_VOCAB = 8192;

const base = (dModel: number, dFfn: number, ffnExperts: number, topK: number): MoeLayerSpec => ({
  dModel, kinds: Array(ffnExperts).fill('ffn'), topK, ffnHidden: dFfn, gating: 'reference', tau: 1,
  capacityFactor: null, gatingResidual: false, gatingResidualInitStd: 0, initStd: 0,
});

/** The baseline first: every row's `time_vs_moe_top2` divides by its time. */
export const FAMILY_DESIGNS: readonly FamilyDesign[] = [
  { name: 'moe-top2', source: 'GShard / Mixtral: 8 experts of I, top-2', routing: 'designed', spec: (D, I) => base(D, I, 8, 2) },
  {
    name: 'fine-grained', source: 'DeepSeekMoE (Dai et al. 2024) segmentation alone: 32 experts of I/4, top-8', routing: 'designed',
    spec: (D, I) => base(D, I / 4, 32, 8),
  },
  {
    name: 'deepseekmoe', source: 'DeepSeekMoE: 32 experts of I/4, top-7, plus 1 shared expert of I/4', routing: 'designed',
    spec: (D, I) => ({ ...base(D, I / 4, 32, 7), sharedExperts: { count: 1, hidden: I / 4, gated: false } }),
  },
  {
    name: 'hash-top2', source: 'Hash layers (Roller et al. 2021): 8 experts of I, 2 by token id, no router', routing: 'hash',
    spec: (D, I) => ({ ...base(D, I, 8, 2), gating: 'hash' }),
  },
];

/** FFN hidden units of the always-on shared experts (0 without them). */
export function sharedFfnHidden(spec: MoeLayerSpec): number {
  return spec.sharedExperts ? spec.sharedExperts.count * spec.sharedExperts.hidden : 0;
}

/** FFN hidden units a token passes through: K routed experts plus the shared ones. */
export function activeFfnHidden(spec: MoeLayerSpec): number {
  return spec.topK * spec.ffnHidden + sharedFfnHidden(spec);
}
