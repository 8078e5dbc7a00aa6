/**
 * Shared experts (DeepSeekMoE, Dai et al. 2024; Qwen2-MoE): FFN experts that every token passes
 * through, outside the router, whose output is added to the routed experts' output:
 *
 *   y = Σ_e w[:, e] · E_e(x) + g(x) · Σ_s FFN_s(x),   g(x) = sigmoid(x w_shared) or 1
 *
 * S shared SwiGLU experts of hidden width I_s are stored as one SwiGLU of hidden width S·I_s:
 * the sum of SwiGLUs over disjoint hidden units is one SwiGLU over their concatenation, which is
 * how DeepSeekMoE's and Qwen2-MoE's code store them too (one MLP of `n_shared · I`). Qwen2-MoE
 * gates its shared expert with one sigmoid per token (`shared_expert_gate`, D → 1); DeepSeekMoE
 * does not gate.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ffnExpert, ffnForward, type FfnParams } from './experts/index.ts';
import type { CreateParameter } from './moe-layer.ts';
import type { Initializer } from './parameters.ts';

/** The shared experts of one MoE layer. */
export interface SharedExpertsSpec {
  /** Number S of shared experts (≥ 1). */
  count: number;
  /** Hidden width I_s of each. */
  hidden: number;
  /** Scale their sum by sigmoid(x w_shared) per token (Qwen2-MoE) instead of 1 (DeepSeekMoE). */
  gated: boolean;
}

export interface SharedExpertsParams {
  /** The S experts as one SwiGLU of hidden width S·I_s: w_gate, w_up (D, S·I_s), w_down (S·I_s, D). */
  ffn: FfnParams;
  /** (D, 1) the gate's projection; null when ungated. */
  wGate: tf.Variable | null;
}

/**
 * Creates the shared experts' parameters under `shared_experts.` (after the router's, so a layer
 * without them keeps its parameter list).
 *
 * @example
 * const p = createSharedExperts({ count: 2, hidden: 16, gated: true }, 8, create, normal);
 */
export function createSharedExperts(spec: SharedExpertsSpec, dModel: number, create: CreateParameter, init: Initializer): SharedExpertsParams {
  const fused = ffnExpert.parameters({ dModel, ffnHidden: spec.count * spec.hidden });
  const ffn = Object.fromEntries(fused.map((p) => [p.key, create(`shared_experts.${p.name}`, p.shape, init)])) as unknown as FfnParams;
  const wGate = spec.gated ? create('shared_experts.gate', [dModel, 1], init) : null;
  return { ffn, wGate };
}

/**
 * g(x) · Σ_s FFN_s(x) for x (N, D): what every token gets on top of its routed experts.
 *
 * @example
 * const y = sharedExpertsForward(x, params); // x (N, D) -> y (N, D)
 */
export function sharedExpertsForward(x: tf.Tensor2D, params: SharedExpertsParams): tf.Tensor2D {
  const y = ffnForward(x, params.ffn); // (N, D)
  if (params.wGate === null) return y;
  return tf.mul(y, tf.sigmoid(tf.matMul(x, params.wGate))) as tf.Tensor2D; // (N, D) · (N, 1)
}

/** Parameters of a layer's shared experts: 3·D·S·I_s, plus D for the gate. */
export function sharedExpertsParameterCount(spec: SharedExpertsSpec, dModel: number): number {
  return 3 * dModel * spec.count * spec.hidden + (spec.gated ? dModel : 0);
}

/** Forward FLOPs per token of a layer's shared experts (matmuls only, as `counting.ts` counts). */
export function sharedExpertsFlopsPerToken(spec: SharedExpertsSpec, dModel: number): number {
  return ffnExpert.flopsPerToken({ dModel, ffnHidden: spec.count * spec.hidden }) + (spec.gated ? 2 * dModel : 0);
}
