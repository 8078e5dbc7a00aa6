/**
 * The router decides; the experts compute (MegaBlocks' split). Given the normalised input x and,
 * with the gating residual, the previous MoE++ layer's logits, it makes the logits passed on
 * (moepp-method.md §4) and lets the layer's gating mode rank and weigh the experts (§3).
 *
 * Two optional router shapes from the family (docs/moe-family.md), both off by default: input
 * jitter (Switch Transformer's multiplicative noise on the router input, training only) and the
 * released MoE++ 7B's two-layer router `tanh(x W_hidden) W_r`; and Yuan 2.0-M32's attention
 * router (`attentionRouterLogits`).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ForwardContext, GatingDecision, GatingMode, GatingOptions, Selection } from './gating/index.ts';

export interface RouterParams {
  /** (D, E) router projection, or (H, E) after the hidden layer of a two-layer router; null when the mode uses no logits. */
  wR: tf.Tensor | null;
  /** (E, E) gating-residual projection; null when the layer has no residual. */
  wG: tf.Tensor | null;
  /** (D, H) first layer of the two-layer router; null for the linear router. */
  wHidden?: tf.Tensor | null;
  /** The gating mode's own parameters, by key. */
  gating?: Record<string, tf.Variable>;
  /** (D, E) each: the attention router's Q, K, V projections (Yuan 2.0-M32); then wR is null. */
  attention?: { wQ: tf.Tensor; wK: tf.Tensor; wV: tf.Tensor } | null;
}

/** How the router is set up beyond its parameters; every field optional, defaults are the linear router without jitter. */
export interface RouterSetup {
  /** Input jitter ε: in training the router sees x ⊙ U(1 − ε, 1 + ε); 0 = off. */
  jitter?: number;
  /** (N) token ids of the rows, when known (hash routing needs them). */
  tokenIds?: Int32Array | null;
  /** The gating mode's options, defaults filled in. */
  options?: GatingOptions;
  /** The gating mode's buffers (host arrays), by key. */
  buffers?: Record<string, Float32Array>;
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
  setup: RouterSetup = {},
): RouterDecision {
  const routerInput = context.training && (setup.jitter ?? 0) > 0 ? jittered(x, setup.jitter as number, context.rng) : x; // (N, D)
  let routerLogits = routerLogitsOf(routerInput, params, kinds.length); // (N, E)
  if (params.wG !== null && previousLogits !== null) {
    routerLogits = tf.add(routerLogits, tf.matMul(previousLogits, params.wG)) as tf.Tensor2D; // (N, E)
  }
  const hostLogits = routerLogits.dataSync() as Float32Array; // sync read: dispatch
  // Only the probabilities and weights outlive the gating arithmetic (the tape keeps what the
  // backward needs regardless), so a forward's (N, E) intermediates go at once.
  // The host selection leaves the tidy through a variable: a tidy's result is walked entry by
  // entry, and its (N·E) arrays would be too.
  let selection: Selection | null = null;
  const input = {
    routerLogits, hostLogits, kinds, topK, routerInput,
    tokenIds: setup.tokenIds ?? null, params: params.gating ?? {}, buffers: setup.buffers ?? {}, options: setup.options ?? {},
  };
  const { routerProbs, gateWeights } = tf.tidy(() => {
    const d = gating.gate(input, context);
    selection = d.selection;
    return { routerProbs: d.routerProbs, gateWeights: d.gateWeights };
  });
  return { selection: selection as unknown as Selection, routerProbs, gateWeights, routerLogits, hostLogits };
}

/** G = x W_r, or tanh(x W_hidden) W_r for the two-layer router; zeros (no gradient) for a mode without logits. */
function routerLogitsOf(x: tf.Tensor2D, params: RouterParams, experts: number): tf.Tensor2D {
  if (params.attention) return tf.tidy(() => attentionRouterLogits(x, params.attention as NonNullable<RouterParams['attention']>));
  if (params.wR === null) return tf.zeros([x.shape[0], experts]) as tf.Tensor2D; // (N, E)
  if (params.wHidden) return tf.tidy(() => tf.matMul(tf.tanh(tf.matMul(x, params.wHidden as tf.Tensor)), params.wR as tf.Tensor) as tf.Tensor2D); // (N, E)
  return tf.matMul(x, params.wR) as tf.Tensor2D; // (N, E)
}

/**
 * Yuan 2.0-M32's attention router (Wu et al. 2024, arXiv 2405.17976, §2.1): per token,
 * q = x W_Q, k = x W_K, v = x W_V (E each, one entry per expert), and the logits are attention
 * among the experts, G_i = Σ_j softmax_j(q_i · k_j) · v_j — so an expert's score depends on how it
 * relates to the others, not on x alone as in a linear router.
 */
function attentionRouterLogits(x: tf.Tensor2D, { wQ, wK, wV }: NonNullable<RouterParams['attention']>): tf.Tensor2D {
  const q = tf.matMul(x, wQ); // (N, E)
  const k = tf.matMul(x, wK); // (N, E)
  const v = tf.matMul(x, wV); // (N, E)
  const scores = tf.mul(tf.expandDims(q, 2), tf.expandDims(k, 1)); // (N, E, E): q_i · k_j
  const attention = tf.softmax(scores); // (N, E, E), over j
  return tf.sum(tf.mul(attention, tf.expandDims(v, 1)), 2) as tf.Tensor2D; // (N, E)
}

/**
 * x ⊙ U(1 − ε, 1 + ε), elementwise (Switch Transformer's router jitter; MegaBlocks' `moe_jitter_eps`).
 * The noise is drawn on the host from the step's seeded source, so a resumed run draws it again.
 */
function jittered(x: tf.Tensor2D, epsilon: number, rng: () => number): tf.Tensor2D {
  const noise = new Float32Array(x.size);
  for (let i = 0; i < noise.length; i++) noise[i] = 1 - epsilon + 2 * epsilon * rng();
  return tf.tidy(() => tf.mul(x, tf.tensor2d(noise, x.shape)) as tf.Tensor2D); // (N, D)
}
