/**
 * The router decides; the experts compute (MegaBlocks' split). Given the normalised input x and,
 * with the gating residual, the previous MoE++ layer's logits, it produces the logits passed on,
 * the routing probabilities (for the balance loss), the dispatch plan and the routing weights.
 * moepp-method.md §3–§4.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GatingMode } from './config.js';
import type { ExpertKind } from './experts/expert-kinds.js';
import { heterogeneousCapacity, planDispatch, topKIndices, type DispatchPlan } from './dispatch-plan.js';

export interface RouterParams {
  /** (D, E) router projection. */
  wR: tf.Variable;
  /** (E, E) gating-residual projection; absent when the layer has no residual. */
  wG: tf.Variable | null;
}

export interface RouterSettings {
  kinds: readonly ExpertKind[];
  topK: number;
  gating: GatingMode;
  tau: number;
  capacityFactor: number | null;
}

export interface RouterOutput {
  /** (N, E) G after the residual, before normalisation: what the next MoE++ layer receives. */
  routerLogits: tf.Tensor2D;
  /** (N, E) routing probabilities p over all experts (the balance loss's P_i averages them). */
  routerProbs: tf.Tensor2D;
  /** (N, E) routing weights w: zero outside the kept top-K. y = Σ_e w[:, e] · E_e(x). */
  routingWeights: tf.Tensor2D;
  /** Host-side plan (top-K, masks, FFN slot order). */
  plan: DispatchPlan;
  /** (N·E) the logits as read to the host for the plan; reused by routing statistics. */
  hostLogits: Float32Array;
}

/** λ of the reference gating: z = G / (std_E(G) / λ). */
const REFERENCE_LAMBDA = 1;
/** Floor on std_E(G): a token whose E logits are all equal would otherwise divide by zero. */
const MIN_LOGIT_STD = 1e-6;

/**
 * Routes the tokens of `x` (N, D).
 *
 * @example
 * const out = route(x, { wR, wG: null }, null, { kinds: ['ffn','ffn','zero'], topK: 2, gating: 'reference', tau: 0.75, capacityFactor: null });
 * out.routingWeights; // (N, 3)
 */
export function route(
  x: tf.Tensor2D,
  params: RouterParams,
  previousLogits: tf.Tensor2D | null,
  settings: RouterSettings,
): RouterOutput {
  const { kinds, topK } = settings;
  const tokens = x.shape[0];
  const experts = kinds.length;

  let routerLogits = tf.matMul(x, params.wR) as tf.Tensor2D; // (N, E)
  if (params.wG !== null && previousLogits !== null) {
    routerLogits = tf.add(routerLogits, tf.matMul(previousLogits, params.wG)) as tf.Tensor2D; // (N, E)
  }

  const hostLogits = routerLogits.dataSync() as Float32Array; // sync read: dispatch
  const topKIndex = topKIndices(hostLogits, tokens, experts, topK);
  const capacity =
    settings.capacityFactor === null
      ? null
      : heterogeneousCapacity(kinds, tokens, topK, settings.tau, settings.capacityFactor);
  const plan = planDispatch(topKIndex, tokens, kinds, topK, capacity);

  // Only the probabilities and weights outlive the gating arithmetic (the tape keeps what the
  // backward needs regardless), so a forward's (N, E) intermediates go at once.
  const { routerProbs, routingWeights } = tf.tidy(() => ({ ...gateWeights(routerLogits, plan, kinds, settings.gating) })) as unknown as ReturnType<typeof gateWeights>;
  return { routerLogits, routerProbs, routingWeights, plan, hostLogits };
}

/** Routing probabilities and weights for one gating mode, from the logits and the plan's masks. */
export function gateWeights(
  routerLogits: tf.Tensor2D,
  plan: DispatchPlan,
  kinds: readonly ExpertKind[],
  gating: GatingMode,
): { routerProbs: tf.Tensor2D; routingWeights: tf.Tensor2D } {
  const shape: [number, number] = [plan.tokens, plan.experts];
  const selected = tf.tensor2d(plan.selectedMask, shape); // (N, E)
  const kept = tf.tensor2d(plan.keptMask, shape); // (N, E)

  if (gating === 'reference') {
    const routerProbs = tf.softmax(referenceNormalise(routerLogits)) as tf.Tensor2D; // (N, E)
    // A selected zero expert gets weight 0, then the K weights are renormalised to sum to 1.
    const notZero = tf.tensor1d(kinds.map((k) => (k === 'zero' ? 0 : 1))); // (E)
    const raw = tf.mul(tf.mul(routerProbs, selected), notZero); // (N, E)
    const total = tf.sum(raw, 1, true); // (N, 1)
    // A token whose top-K holds only zero experts has all weights 0: divide by 1, not 0, so its
    // output is 0, never NaN. Known on the host, which keeps the condition out of the gradient.
    const onlyZeroSelected = tf.tensor2d(onlyZeroExpertsSelected(plan, kinds), [plan.tokens, 1]); // (N, 1)
    const safeTotal = tf.add(total, onlyZeroSelected);
    const routingWeights = tf.mul(tf.div(raw, safeTotal), kept) as tf.Tensor2D;
    return { routerProbs, routingWeights };
  }
  if (gating === 'paper') {
    const routerProbs = tf.softmax(routerLogits) as tf.Tensor2D; // (N, E)
    return { routerProbs, routingWeights: tf.mul(routerProbs, kept) as tf.Tensor2D };
  }
  // mixtral: softmax over the K selected logits only.
  const routerProbs = tf.softmax(routerLogits) as tf.Tensor2D; // (N, E)
  const masked = tf.add(routerLogits, tf.mul(tf.sub(selected, 1), 1e9)); // (N, E), -1e9 off the top-K
  const routingWeights = tf.mul(tf.softmax(masked), kept) as tf.Tensor2D;
  return { routerProbs, routingWeights };
}

/** (N) 1 where every selected expert of the token is a zero expert. */
function onlyZeroExpertsSelected(plan: DispatchPlan, kinds: readonly ExpertKind[]): Float32Array {
  const out = new Float32Array(plan.tokens);
  for (let n = 0; n < plan.tokens; n++) {
    let allZero = 1;
    for (let j = 0; j < plan.topK; j++) if (kinds[plan.topKIndex[n * plan.topK + j]] !== 'zero') allZero = 0;
    out[n] = allZero;
  }
  return out;
}

/** z = G / (std_E(G) / λ), std with the unbiased (E − 1) estimator as in the released 7B. */
function referenceNormalise(routerLogits: tf.Tensor2D): tf.Tensor2D {
  const experts = routerLogits.shape[1];
  const mean = tf.mean(routerLogits, 1, true); // (N, 1)
  const centred = tf.sub(routerLogits, mean);
  const variance = tf.div(tf.sum(tf.square(centred), 1, true), Math.max(experts - 1, 1)); // (N, 1)
  // Clamp before the sqrt: its gradient at 0 is infinite, and 0·∞ would turn into NaN.
  const std = tf.sqrt(tf.maximum(variance, MIN_LOGIT_STD * MIN_LOGIT_STD));
  return tf.div(routerLogits, tf.div(std, REFERENCE_LAMBDA)) as tf.Tensor2D;
}
