/**
 * The router decides; the experts compute (MegaBlocks' split). Given the normalised input x and,
 * with the gating residual, the previous MoE++ layer's logits, it makes the logits passed on
 * (moepp-method.md §4) and lets the layer's gating mode rank and weigh the experts (§3).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ForwardContext, GatingDecision, GatingMode, Selection } from './gating/index.ts';

export interface RouterParams {
  /** (D, E) router projection. */
  wR: tf.Tensor;
  /** (E, E) gating-residual projection; null when the layer has no residual. */
  wG: tf.Tensor | null;
}

export interface RouterDecision extends GatingDecision {
  /** (N, E) G after the residual, before normalisation: what the next MoE++ layer receives. */
  routerLogits: tf.Tensor2D;
  /** (N·E) the logits as read to the host for the ranking; reused by routing statistics. */
  hostLogits: Float32Array;
}

/**
 * Routes the tokens of `x` (N, D).
 *
 * @example
 * const r = route(x, { wR, wG: null }, null, gatingMode('reference'), ['ffn', 'ffn', 'zero'], 2, context);
 * r.selection.topKIndex; // (N·2)
 */
export function route(
  x: tf.Tensor2D,
  params: RouterParams,
  previousLogits: tf.Tensor2D | null,
  gating: GatingMode,
  kinds: readonly string[],
  topK: number,
  context: ForwardContext,
): RouterDecision {
  let routerLogits = tf.matMul(x, params.wR) as tf.Tensor2D; // (N, E)
  if (params.wG !== null && previousLogits !== null) {
    routerLogits = tf.add(routerLogits, tf.matMul(previousLogits, params.wG)) as tf.Tensor2D; // (N, E)
  }
  const hostLogits = routerLogits.dataSync() as Float32Array; // sync read: dispatch
  // Only the probabilities and weights outlive the gating arithmetic (the tape keeps what the
  // backward needs regardless), so a forward's (N, E) intermediates go at once.
  // The host selection leaves the tidy through a variable: a tidy's result is walked entry by
  // entry, and its (N·E) arrays would be too.
  let selection: Selection | null = null;
  const { routerProbs, gateWeights } = tf.tidy(() => {
    const d = gating.gate({ routerLogits, hostLogits, kinds, topK }, context);
    selection = d.selection;
    return { routerProbs: d.routerProbs, gateWeights: d.gateWeights };
  });
  return { selection: selection as unknown as Selection, routerProbs, gateWeights, routerLogits, hostLogits };
}
