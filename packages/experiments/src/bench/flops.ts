/**
 * FLOPs of the benchmarked work, with core's conventions (counting.ts): a matmul is 2·in·out
 * per row, ZC experts' O(D) work is omitted. The theoretical throughput increase of MoE++ is the
 * FLOPs ratio of the two layers on the routing actually used: for the expert forward that is the
 * ratio of FFN slots, since both layers have the same FFN experts.
 */
import type { Measure } from './bench-options.ts';

/** Forward FLOPs of `slots` rows through a SwiGLU FFN expert (three D×I matmuls). */
export function ffnForwardFlops(slots: number, dModel: number, dFfn: number): number {
  return slots * 3 * 2 * dModel * dFfn;
}

/** Forward FLOPs of the router: x W_r, plus G_prev W_g with the gating residual. */
export function routerForwardFlops(tokens: number, dModel: number, experts: number, residual: boolean): number {
  return tokens * 2 * experts * (dModel + (residual ? experts : 0));
}

export interface LayerWork {
  tokens: number;
  ffnSlots: number;
  dModel: number;
  dFfn: number;
  experts: number;
  residual: boolean;
}

/** FLOPs of one call of a layer measure (a backward pass costs twice its forward). */
export function layerMeasureFlops(measure: Exclude<Measure, 'train_step'>, w: LayerWork): { total: number; ffn: number } {
  const ffn = ffnForwardFlops(w.ffnSlots, w.dModel, w.dFfn);
  if (measure === 'expert_forward') return { total: ffn, ffn };
  const forward = ffn + routerForwardFlops(w.tokens, w.dModel, w.experts, w.residual);
  if (measure === 'layer_forward') return { total: forward, ffn };
  return { total: 3 * forward, ffn: 3 * ffn };
}

/**
 * `FLOPs_MoE / FLOPs_MoE++ − 1`: the increase a cost-proportional implementation would deliver.
 *
 * @example
 * theoreticalIncrease(4096, 3072); // 0.333…: 25 % fewer FLOPs is a third more throughput
 */
export function theoreticalIncrease(moeFlops: number, moeppFlops: number): number {
  return moeFlops / moeppFlops - 1;
}
