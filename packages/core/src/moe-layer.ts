/**
 * The MoE++ layer: the router decides, dispatch plans, the experts compute, the executor
 * combines. Vanilla MoE is this layer with only FFN experts and no gating residual; every other
 * variant is a configuration too (expert kinds in `experts/`, gating modes in `gating/`).
 *
 * Dispatch is dropless by default and sparse: each FFN-like expert runs on exactly the rows of
 * the tokens routed to it, so a token routed to a zero-computation expert never enters an FFN
 * matmul and the FFN cost scales with the slots actually sent to FFN experts; zero-computation
 * experts cost O(D) per token that chose them.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone registers no gradients; the layer must be trainable wherever it is used.
import './tfjs-gradients.ts';
import { expertKind } from './experts/index.ts';
import { gatingMode, gatingOptions, type ForwardContext, type GatingMode, type GatingOptions } from './gating/index.ts';
import { route, type RouterParams } from './router.ts';
import { heterogeneousCapacity, keptWeights, planDispatch, type DispatchPlan } from './dispatch.ts';
import { expertExecutor, type ExecutorName, type ExpertExecutor, type LayerExpert } from './executors/index.ts';
import type { Initializer } from './parameters.ts';
import { createSharedExperts, sharedExpertsForward, type SharedExpertsParams, type SharedExpertsSpec } from './shared-experts.ts';

/** Everything that defines one MoE++ layer (see `moeLayerSpec` for the LM's layers). */
export interface MoeLayerSpec {
  /** Model width D. */
  dModel: number;
  /** One kind name per expert, in weight-layout order (`expertKindsFromCounts`). */
  kinds: readonly string[];
  /** Experts chosen per token. */
  topK: number;
  /** Hidden width I of each FFN expert. */
  ffnHidden: number;
  /** A registered gating mode (`gating/`). */
  gating: string;
  /** η of zero-computation experts in the balance loss, and their share of capacity. */
  tau: number;
  /** Heterogeneous capacity factor γ; null = dropless. */
  capacityFactor: number | null;
  /** Whether this layer's router adds the previous MoE++ layer's logits (the first never does). */
  gatingResidual: boolean;
  /** Std of W_g's initialisation; 0 routes an untrained model as without residual. */
  gatingResidualInitStd: number;
  /** Std of the normal initialisation of W_r and of expert parameters without their own. */
  initStd: number;
  // The routing family (docs/moe-family.md); absent = off, so layers built before them are unchanged.
  /** Options of the gating mode (`moe.gatingOptions`); absent = its defaults. */
  gatingOptions?: Record<string, number | boolean>;
  /** Router input jitter ε (training only); absent or 0 = off. */
  routerJitter?: number;
  /** Hidden width H of the two-layer router `tanh(x W_hidden) W_r` (the released 7B: 8E); absent or null = linear. */
  routerHidden?: number | null;
  /** Yuan 2.0-M32's attention router (Q, K, V projections over the experts) in place of W_r; absent = false. */
  attentionRouter?: boolean;
  /** Multiply the experts' input by K (the released 7B with `moe_feature_no_mul_topk` off); absent = false. */
  expertInputTimesTopK?: boolean;
  // Expert designs.
  /** Always-on experts added to the routed output (`shared-experts.ts`); absent or null = none. */
  sharedExperts?: SharedExpertsSpec | null;
}

/**
 * Makes one named parameter of the layer: `router.w_r`, `router.w_g`, `experts.<e>.<name>`. The
 * LM passes its seeded ParameterStore (prefixing `layers.<i>.moe.`); the benchmark its fixture.
 */
export type CreateParameter = (name: string, shape: number[], init: Initializer) => tf.Variable;

export interface MoeLayerParams {
  router: RouterParams & {
    wR: tf.Variable | null;
    wG: tf.Variable | null;
    wHidden: tf.Variable | null;
    attention: { wQ: tf.Variable; wK: tf.Variable; wV: tf.Variable } | null;
    gating: Record<string, tf.Variable>;
  };
  /** One entry per expert, in layer order, by `ParameterSpec.key` (empty for parameter-free kinds). */
  experts: Record<string, tf.Variable>[];
  /** The shared experts; null when the layer has none. */
  shared: SharedExpertsParams | null;
}

/** The router's decisions, as dispatch turned them into slots. */
export interface RouterOutput {
  /** (N, E) G after the residual, before normalisation: what the next MoE++ layer receives. */
  routerLogits: tf.Tensor2D;
  /** (N, E) routing probabilities p over all experts (the balance loss's P_i averages them). */
  routerProbs: tf.Tensor2D;
  /** (N, E) routing weights w: zero outside the kept top-K. y = Σ_e w[:, e] · E_e(x). */
  routingWeights: tf.Tensor2D;
  /** Host-side plan (top-K, masks, row slot order). */
  plan: DispatchPlan;
  /** (N·E) the logits as read to the host; reused by routing statistics. */
  hostLogits: Float32Array;
}

export interface MoeLayerOutput extends RouterOutput {
  /** (N, D) Σ_e w[:, e] · E_e(x) */
  output: tf.Tensor2D;
}

export class MoeLayer {
  readonly kinds: readonly string[];
  readonly params: MoeLayerParams;
  readonly gating: GatingMode;
  /** The gating mode's options, defaults filled in. */
  readonly gatingOptions: GatingOptions;
  /** The gating mode's non-learned state (host arrays, by key), saved with the weights as `router.<name>`. */
  readonly buffers: Record<string, Float32Array>;
  /** Buffer names on disk (`router.<name>`), by key. */
  readonly bufferNames: Record<string, string>;
  readonly executor: ExpertExecutor;
  /** Every variable the layer created, in creation order. */
  readonly variables: tf.Variable[] = [];
  private readonly experts: LayerExpert[];

  constructor(
    readonly spec: MoeLayerSpec,
    createParameter: CreateParameter,
    executor: ExecutorName = 'host',
  ) {
    const { dModel: D, kinds } = spec;
    const E = kinds.length;
    const create: CreateParameter = (name, shape, init) => {
      const v = createParameter(name, shape, init);
      this.variables.push(v);
      return v;
    };
    const normal = { kind: 'normal', std: spec.initStd } as const;
    // Experts first, then the router: the creation order is the order of the weights on disk.
    const expertParams = kinds.map((name, e) => {
      const specs = expertKind(name).parameters({ dModel: D, ffnHidden: spec.ffnHidden });
      return Object.fromEntries(specs.map((p) => [p.key, create(`experts.${e}.${p.name}`, p.shape, p.init ?? normal)]));
    });
    this.experts = kinds.map((name, e) => ({ kind: expertKind(name), params: expertParams[e], paramKeys: Object.keys(expertParams[e]) }));
    this.gating = gatingMode(spec.gating);
    const dims = { dModel: D, experts: E, topK: spec.topK };
    this.gatingOptions = gatingOptions(this.gating, spec.gatingOptions, dims);
    const usesLogits = this.gating.usesRouterLogits !== false;
    const hidden = spec.routerHidden ?? null;
    const wHidden = usesLogits && hidden !== null ? create('router.w_hidden', [D, hidden], normal) : null;
    const attention = usesLogits && spec.attentionRouter
      ? { wQ: create('router.w_q', [D, E], normal), wK: create('router.w_k', [D, E], normal), wV: create('router.w_v', [D, E], normal) }
      : null;
    this.params = {
      router: {
        wR: usesLogits && attention === null ? create('router.w_r', [hidden ?? D, E], normal) : null,
        attention,
        wG: spec.gatingResidual && usesLogits ? create('router.w_g', [E, E], { kind: 'normal', std: spec.gatingResidualInitStd }) : null,
        wHidden,
        gating: Object.fromEntries(
          (this.gating.parameters?.(dims, this.gatingOptions) ?? []).map((p) => [p.key, create(`router.${p.name}`, p.shape, p.init ?? normal)]),
        ),
      },
      experts: expertParams,
      shared: spec.sharedExperts ? createSharedExperts(spec.sharedExperts, D, create, normal) : null,
    };
    const bufferSpecs = this.gating.buffers?.(dims, this.gatingOptions) ?? [];
    this.buffers = Object.fromEntries(bufferSpecs.map((b) => [b.key, new Float32Array(b.size)]));
    this.bufferNames = Object.fromEntries(bufferSpecs.map((b) => [b.key, `router.${b.name}`]));
    this.kinds = kinds;
    this.executor = expertExecutor(executor);
  }

  /**
   * The router's decisions for x (N, D): logits (with the residual), the gating mode's ranking
   * and weights, and the dispatch plan with capacity applied.
   */
  route(x: tf.Tensor2D, previousLogits: tf.Tensor2D | null, context: ForwardContext, tokenIds: Int32Array | null = null): RouterOutput {
    const { spec, kinds } = this;
    const tokens = x.shape[0];
    const setup = { jitter: spec.routerJitter, tokenIds, options: this.gatingOptions, buffers: this.buffers };
    const decision = route(x, this.params.router, previousLogits, this.gating, kinds, spec.topK, context, setup);
    const capacity = spec.capacityFactor === null ? null : heterogeneousCapacity(kinds, tokens, spec.topK, spec.tau, spec.capacityFactor);
    const plan = planDispatch(decision.selection, kinds, capacity);
    const routingWeights = tf.tidy(() => keptWeights(decision.gateWeights, plan)); // (N, E)
    if (decision.gateWeights !== decision.routerProbs) decision.gateWeights.dispose();
    return { routerLogits: decision.routerLogits, routerProbs: decision.routerProbs, routingWeights, plan, hostLogits: decision.hostLogits };
  }

  /**
   * The expert forward as the paper times it (§7): dispatch, every expert, combine — given the
   * router's decisions — plus the shared experts, which every token passes through. Returns (N, D).
   */
  combine(x: tf.Tensor2D, routing: Pick<RouterOutput, 'plan' | 'routingWeights'>): tf.Tensor2D {
    // The released 7B feeds its experts K·x unless `moe_feature_no_mul_topk` is set; shared experts (not in the 7B) see x.
    const expertInput = this.spec.expertInputTimesTopK ? (tf.mul(x, this.spec.topK) as tf.Tensor2D) : x; // (N, D)
    const routed = this.executor.combine(expertInput, routing.plan, routing.routingWeights, this.experts); // (N, D)
    const shared = this.params.shared;
    if (shared === null) return routed;
    return tf.tidy(() => tf.add(routed, sharedExpertsForward(x, shared))) as tf.Tensor2D; // (N, D)
  }

  /**
   * Updates the gating mode's buffers after an optimizer step (DeepSeek-V3's balancing bias) from
   * the step's selected slots per expert (E); a no-op for modes without state.
   */
  updateBuffers(load: Float64Array): void {
    this.gating.updateBuffers?.(this.buffers, load, this.gatingOptions);
  }

  /**
   * route → dispatch → experts → combine.
   *
   * @example
   * const { output, routerLogits } = layer.forward(x, previousLogits, context); // x (N, D)
   */
  forward(x: tf.Tensor2D, previousLogits: tf.Tensor2D | null, context: ForwardContext, tokenIds: Int32Array | null = null): MoeLayerOutput {
    const routing = this.route(x, previousLogits, context, tokenIds);
    return { ...routing, output: this.combine(x, routing) };
  }
}

/**
 * Builds an MoE++ layer — the one the LM uses, and the one the benchmark times.
 *
 * @example
 * const store = new ParameterStore(1);
 * const layer = createMoeLayer(spec, (name, shape, init) => store.create(`moe.${name}`, shape, init));
 */
export function createMoeLayer(spec: MoeLayerSpec, createParameter: CreateParameter, executor: ExecutorName = 'host'): MoeLayer {
  return new MoeLayer(spec, createParameter, executor);
}
