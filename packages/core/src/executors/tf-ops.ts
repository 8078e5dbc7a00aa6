/**
 * The `tf-ops` executor: plain tf ops, differentiated by tfjs. Row-dispatched experts run on
 * their gathered slice of slots, whose weighted outputs are scatter-added to their tokens;
 * token-wise (O(D)) experts run on every token, weighted by their column of w (zero off the
 * top-K), which is exact and costs O(N·D) per such expert.
 */
import * as tf from '@tensorflow/tfjs-core';
import { gatherRows, scatterAddRows, type DispatchPlan } from '../dispatch.ts';
import type { ExpertExecutor, LayerExpert } from './executor.ts';

export const tfOpsExecutor: ExpertExecutor = {
  name: 'tf-ops',
  rowMoves: 'tf-ops',
  combine(x, plan, routingWeights, experts) {
    const tokens = x.shape[0];
    const parts: tf.Tensor2D[] = [];
    if (plan.rowSlotToken.length > 0) parts.push(rowExperts(x, plan, routingWeights, experts));
    experts.forEach(({ kind, params }, e) => {
      if (kind.dispatch !== 'tokenwise' || kind.outputIsZero) return;
      const w = tf.slice(routingWeights, [0, e], [tokens, 1]); // (N, 1)
      parts.push(tf.mul(w, kind.forward(x, params)) as tf.Tensor2D); // (N, D)
    });
    if (parts.length === 0) return tf.zerosLike(x);
    return (parts.length === 1 ? parts[0] : tf.addN(parts)) as tf.Tensor2D;
  },
};

/** Σ over row-dispatched experts of their weighted outputs, (N, D). */
function rowExperts(x: tf.Tensor2D, plan: DispatchPlan, routingWeights: tf.Tensor2D, experts: readonly LayerExpert[]): tf.Tensor2D {
  const [tokens, d] = x.shape;
  const slotInputs = gatherRows(x, plan.rowSlotToken, 'tf-ops'); // (S, D), grouped by expert
  const slotWeights = gatherRows(tf.reshape(routingWeights, [tokens * plan.experts, 1]), plan.rowSlotWeightIndex, 'tf-ops'); // (S, 1)
  const slotOutputs: tf.Tensor2D[] = [];
  experts.forEach(({ kind, params }, e) => {
    const begin = plan.expertSlotOffsets[e];
    const count = plan.expertSlotOffsets[e + 1] - begin;
    if (count === 0) return;
    const rows = tf.slice(slotInputs, [begin, 0], [count, d]); // (count, D)
    slotOutputs.push(kind.forward(rows, params));
  });
  const weighted = tf.mul(slotOutputs.length === 1 ? slotOutputs[0] : tf.concat(slotOutputs, 0), slotWeights); // (S, D)
  return scatterAddRows(weighted as tf.Tensor2D, plan.rowSlotToken, tokens, 'tf-ops'); // (N, D)
}
