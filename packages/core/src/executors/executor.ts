/**
 * How a layer's experts execute, given the dispatch plan: `y = Σ_e w[:, e] · E_e(x)`. Two
 * implementations of the same arithmetic, held to the same float64 reference by the tests:
 *   - `host`: dispatch, every expert and the combine as one op with a written-out backward (host
 *     row copies, no weight transposes) — fast where tfjs' gather and segment-sum kernels are
 *     slow (`wasm`, `cpu`);
 *   - `tf-ops`: plain tf ops (gather, slice, segment-sum), whose kernels are fast on native
 *     TensorFlow.
 * The choice is explicit (the model's `executor` option, recorded in every run), never a global.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { ExpertKind, ExpertParams } from '../experts/index.ts';
import type { DispatchPlan, RowMoves } from '../dispatch.ts';

export const EXECUTOR_NAMES = ['host', 'tf-ops'] as const;
export type ExecutorName = (typeof EXECUTOR_NAMES)[number];

/** One expert of a layer as executors see it. */
export interface LayerExpert {
  kind: ExpertKind;
  params: ExpertParams;
  /** Keys of `params` in `kind.parameters()` order: the order gradients are returned in. */
  paramKeys: string[];
}

export interface ExpertExecutor {
  readonly name: ExecutorName;
  /** How this executor moves rows elsewhere too (the LM's embedding lookup). */
  readonly rowMoves: RowMoves;
  /**
   * The expert forward as the paper times it (§7): dispatch, every expert, combine — for x (N, D),
   * the plan and the routing weights w (N, E), zero outside the kept slots. Returns (N, D).
   */
  combine(x: tf.Tensor2D, plan: DispatchPlan, routingWeights: tf.Tensor2D, experts: readonly LayerExpert[]): tf.Tensor2D;
}
