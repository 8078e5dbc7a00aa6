/**
 * The MoE++ layer: the router decides, the experts compute, the layer dispatches and combines.
 * Vanilla MoE is this layer with only FFN experts and no gating residual.
 *
 * Dispatch is dropless and sparse: the kept FFN slots are gathered into expert order, each FFN
 * expert runs on its own contiguous slice, and the weighted results are scatter-added back to
 * their tokens — so a token routed to a zero-computation expert never enters an FFN matmul, and
 * the FFN cost scales with the slots actually sent to FFN experts. ZC experts run densely over
 * all tokens at O(D) each; their zero weights off the top-K make that exact.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone registers no gradients; the layer must be trainable wherever it is used.
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import type { ExpertKind } from './experts/expert-kinds.js';
import { ffnForward, type FfnParams } from './experts/ffn-expert.js';
import { constantExpertForward, type ConstantExpertParams } from './experts/constant-expert.js';
import { copyExpertForward } from './experts/zero-computation-experts.js';
import { route, type RouterParams, type RouterSettings, type RouterOutput } from './router.js';
import { gatherRows, scatterAddRows } from './row-permutation.js';

export interface MoeLayerParams {
  router: RouterParams;
  /** One entry per expert, in layer order: FFN params, constant params, or null (zero / copy). */
  experts: (FfnParams | ConstantExpertParams | null)[];
}

export interface MoeLayerOutput extends RouterOutput {
  /** (N, D) Σ_e w[:, e] · E_e(x) */
  output: tf.Tensor2D;
}

/**
 * @example
 * const { output, routerLogits } = moeLayerForward(x, params, previousLogits, settings); // x (N, D)
 */
export function moeLayerForward(
  x: tf.Tensor2D,
  params: MoeLayerParams,
  previousLogits: tf.Tensor2D | null,
  settings: RouterSettings,
): MoeLayerOutput {
  const routing = route(x, params.router, previousLogits, settings);
  const output = combineExperts(x, routing, params, settings.kinds);
  return { ...routing, output };
}

/**
 * The expert forward as the paper times it (§7): dispatch, FFN and ZC experts, combine — given
 * the router's decisions.
 */
export function combineExperts(
  x: tf.Tensor2D,
  routing: Pick<RouterOutput, 'plan' | 'routingWeights'>,
  params: MoeLayerParams,
  kinds: readonly ExpertKind[],
): tf.Tensor2D {
  const { plan, routingWeights } = routing;
  const [tokens, d] = x.shape;
  const parts: tf.Tensor2D[] = [];

  const ffnSlots = plan.ffnSlotToken.length;
  if (ffnSlots > 0) {
    const slotInputs = gatherRows(x, plan.ffnSlotToken); // (S, D), grouped by expert
    const slotWeights = gatherRows(tf.reshape(routingWeights, [tokens * plan.experts, 1]), plan.ffnSlotWeightIndex); // (S, 1)
    const slotOutputs: tf.Tensor2D[] = [];
    kinds.forEach((kind, e) => {
      const begin = plan.expertSlotOffsets[e];
      const count = plan.expertSlotOffsets[e + 1] - begin;
      if (kind !== 'ffn' || count === 0) return;
      const rows = tf.slice(slotInputs, [begin, 0], [count, d]); // (count, D)
      slotOutputs.push(ffnForward(rows, params.experts[e] as FfnParams));
    });
    const weighted = tf.mul(slotOutputs.length === 1 ? slotOutputs[0] : tf.concat(slotOutputs, 0), slotWeights); // (S, D)
    parts.push(scatterAddRows(weighted as tf.Tensor2D, plan.ffnSlotToken, tokens)); // (N, D)
  }

  const copyColumns = kinds.flatMap((k, e) => (k === 'copy' ? [e] : []));
  if (copyColumns.length > 0) {
    const copyWeight = sumColumns(routingWeights, copyColumns); // (N, 1)
    parts.push(tf.mul(copyWeight, copyExpertForward(x)) as tf.Tensor2D);
  }
  kinds.forEach((kind, e) => {
    if (kind !== 'constant') return;
    const w = tf.slice(routingWeights, [0, e], [tokens, 1]); // (N, 1)
    parts.push(tf.mul(w, constantExpertForward(x, params.experts[e] as ConstantExpertParams)) as tf.Tensor2D);
  });
  // Zero experts add nothing.

  if (parts.length === 0) return tf.zerosLike(x);
  return (parts.length === 1 ? parts[0] : tf.addN(parts)) as tf.Tensor2D;
}

function sumColumns(m: tf.Tensor2D, columns: number[]): tf.Tensor2D {
  const cols = columns.map((e) => tf.slice(m, [0, e], [m.shape[0], 1]));
  return (cols.length === 1 ? cols[0] : tf.addN(cols)) as tf.Tensor2D;
}
