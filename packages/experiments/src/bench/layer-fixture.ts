/**
 * A pair of layers of the same size — vanilla MoE (nE) and MoE++ ((n+z)E) — that share their FFN
 * experts' weights (same size means same FFN experts; sharing halves the memory at paper width),
 * and the per-routing inputs that make each layer's router produce a chosen routing.
 *
 * The router is made to route as told without leaving the real code path: W_r (D, E) is the
 * identity on the first E input dimensions, and those dimensions of x carry router logits
 * designed so that their top-K is the sampled routing (balanced-routing.ts). The MoE++ layer has
 * the gating residual with W_g = 0 (as an untrained model initialises it), so the residual's
 * cost is paid and the routing is unchanged.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  createMoeLayer,
  expertKind,
  expertKindsFromCounts,
  trainingContext,
  type ExecutorName,
  type MoeLayer,
  type RouterOutput,
} from '@moepp/core';
import seedrandom from 'seedrandom';
import { countFfnSlots, designedRouterLogits } from './balanced-routing.ts';
import { EXPERT_SETS, TOP_K, WIDTHS, type ExpertSet, type Width } from './bench-options.ts';

export type Impl = 'moe' | 'moepp';

/** One of the two layers of a pair. */
export interface BenchLayer {
  impl: Impl;
  kinds: readonly string[];
  /** The layer, built by core's `createMoeLayer` exactly as the LM builds its layers. */
  layer: MoeLayer;
  /** Every trainable variable of this layer (shared FFN weights included). */
  variables: tf.Variable[];
  /** Bytes of this layer's parameters. */
  paramBytes: number;
  /** Parameters by their name inside the layer (`router.w_r`, `experts.3.w_gate`), as the peer names them. */
  named: Map<string, tf.Variable>;
}

export interface LayerPair {
  width: Width;
  dModel: number;
  dFfn: number;
  experts: ExpertSet;
  moe: BenchLayer;
  moepp: BenchLayer;
  /**
   * Host copies of the weights for the PyTorch peer: parameters both layers have (the FFN
   * experts) as `experts.{e}.w_gate`, the rest as `{impl}.router.w_r`, `{impl}.experts.{e}.w_c`, …
   */
  hostWeights: Map<string, { shape: number[]; data: Float32Array }>;
  dispose(): void;
}

/** Fast deterministic uniform fill in [−a, a) (xorshift32): paper-width layers hold ~10⁸ weights. */
export function uniformArray(size: number, a: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = (seed * 2654435761) >>> 0 || 1;
  const scale = (2 * a) / 4294967296;
  for (let i = 0; i < size; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) * scale - a;
  }
  return out;
}

/**
 * Builds the MoE / MoE++ pair of one width and expert count. Parameters of the same name and
 * shape in both layers (the FFN experts, which come first in both) are one shared variable.
 * Initialisation: uniform with the variance of N(0, 1/fan_in) for matrices (rows are fan-in, as
 * in x·W) and of N(0, 1) for vectors, so activations keep unit scale (values do not change
 * timings, but denormals or overflow would).
 */
export function buildLayerPair(width: Width, experts: ExpertSet, seed: number, executor: ExecutorName = 'host'): LayerPair {
  const { dModel: D, dFfn: I } = WIDTHS[width];
  const counts = EXPERT_SETS[experts];
  const owned: tf.Variable[] = [];
  const host = new Map<string, { shape: number[]; data: Float32Array }>();
  let seedCounter = seed * 1000;
  const variable = (name: string, shape: number[], a: number): tf.Variable => {
    const data = a === 0 ? new Float32Array(shape.reduce((x, y) => x * y, 1)) : uniformArray(shape.reduce((x, y) => x * y, 1), a, ++seedCounter);
    host.set(name, { shape, data });
    const v = tf.variable(tf.tensor(data, shape, 'float32'), true, `bench.${name}.${uniqueId++}`);
    owned.push(v);
    return v;
  };
  const scale = (shape: number[]) => (shape.length === 1 ? 1 : Math.sqrt(3 / shape[0]));
  const identityRouter = (name: string, E: number): tf.Variable => {
    const data = new Float32Array(D * E);
    for (let e = 0; e < E; e++) data[e * E + e] = 1;
    host.set(name, { shape: [D, E], data });
    const v = tf.variable(tf.tensor2d(data, [D, E]), true, `bench.${name}.${uniqueId++}`);
    owned.push(v);
    return v;
  };

  // Expert parameters both layers have (by name and shape) are shared.
  const expertParameterShapes = (impl: Impl) =>
    new Map(expertKindsFromCounts(counts[impl]).flatMap((k, e) => expertKind(k).parameters({ dModel: D, ffnHidden: I }).map((p) => [`experts.${e}.${p.name}`, p.shape.join('x')] as const)));
  const moeShapes = expertParameterShapes('moe');
  const sharedNames = new Set<string>([...expertParameterShapes('moepp')].filter(([name, shape]) => moeShapes.get(name) === shape).map(([name]) => name));
  const shared = new Map<string, tf.Variable>();

  const layer = (impl: Impl): BenchLayer => {
    const kinds = expertKindsFromCounts(counts[impl]);
    const E = kinds.length;
    if (E > D) throw new Error(`the designed router needs D ≥ E (D ${D}, E ${E})`);
    const named = new Map<string, tf.Variable>();
    const moeLayer = createMoeLayer(
      // The MoE++ layer has the gating residual with W_g = 0 (as an untrained model initialises it).
      { dModel: D, kinds, topK: TOP_K, ffnHidden: I, gating: 'reference', tau: 0.75, capacityFactor: null, gatingResidual: impl === 'moepp', gatingResidualInitStd: 0, initStd: 0 },
      (name, shape) => {
        let v: tf.Variable;
        if (name === 'router.w_r') v = identityRouter(`${impl}.router.w_r`, E);
        else if (name === 'router.w_g') v = variable(`${impl}.router.w_g`, shape, 0);
        else if (sharedNames.has(name)) {
          if (!shared.has(name)) shared.set(name, variable(name, shape, scale(shape)));
          v = shared.get(name) as tf.Variable;
        }
        else v = variable(`${impl}.${name}`, shape, scale(shape));
        named.set(name, v);
        return v;
      },
      executor,
    );
    const variables = moeLayer.variables;
    return { impl, kinds, layer: moeLayer, variables, paramBytes: variables.reduce((s, v) => s + v.size * 4, 0), named };
  };
  const moe = layer('moe');
  const moepp = layer('moepp');

  return {
    width, dModel: D, dFfn: I, experts, moe, moepp,
    hostWeights: host,
    dispose: () => owned.forEach((v) => v.dispose()),
  };
}
let uniqueId = 0;

/** The inputs of one routing case: x whose router logits give `topKIndex`, and what else the layer needs. */
export interface RoutingCase {
  tokens: number;
  topKIndex: Int32Array;
  ffnSlots: number;
  /** (N, D) the layer input, a variable so that forward+backward also yields dx. */
  x: tf.Variable;
  /** (N, E) previous-layer logits for the MoE++ gating residual; null for MoE. */
  previousLogits: tf.Tensor2D | null;
  /** (N, D) upstream gradient for forward+backward. */
  dy: tf.Tensor2D;
  /** The router's output on x, computed once outside the clock (the expert forward excludes the router). */
  routing: RouterOutput;
  /** Host copies for the PyTorch peer. */
  hostX: Float32Array;
  hostPrevious: Float32Array | null;
  hostDy: Float32Array;
  dispose(): void;
}

/**
 * Inputs that make `layer` route as `topKIndex` says.
 *
 * @example
 * const c = buildRoutingCase(pair.moepp, pair.dModel, topKIndex, 2048, 7);
 */
export function buildRoutingCase(layer: BenchLayer, dModel: number, topKIndex: Int32Array, tokens: number, seed: number): RoutingCase {
  const E = layer.kinds.length;
  const rng = seedrandom.alea(`case:${seed}`);
  const hostX = uniformArray(tokens * dModel, Math.sqrt(3), seed * 7 + 1);
  const logits = designedRouterLogits(topKIndex, tokens, E, TOP_K, rng);
  for (let n = 0; n < tokens; n++) hostX.set(logits.subarray(n * E, n * E + E), n * dModel);
  const hostPrevious = layer.layer.params.router.wG ? uniformArray(tokens * E, 2, seed * 7 + 2) : null;
  const hostDy = uniformArray(tokens * dModel, Math.sqrt(3), seed * 7 + 3);
  const x = tf.variable(tf.tensor2d(hostX, [tokens, dModel]), true, `bench.x.${uniqueId++}`);
  const previousLogits = hostPrevious ? tf.tensor2d(hostPrevious, [tokens, E]) : null;
  const dy = tf.tensor2d(hostDy, [tokens, dModel]);
  let routing: RouterOutput | null = null;
  tf.tidy(() => {
    const r = layer.layer.route(x as tf.Tensor2D, previousLogits, trainingContext('bench', 0));
    routing = { ...r, routerLogits: tf.keep(r.routerLogits), routerProbs: tf.keep(r.routerProbs), routingWeights: tf.keep(r.routingWeights) };
  });
  const routed = routing as unknown as RouterOutput;
  for (let i = 0; i < topKIndex.length; i++) {
    if (routed.plan.topKIndex[i] !== topKIndex[i]) throw new Error(`designed routing failed at slot ${i}: router chose ${routed.plan.topKIndex[i]}, wanted ${topKIndex[i]}`);
  }
  return {
    tokens, topKIndex, ffnSlots: countFfnSlots(topKIndex, layer.kinds), x, previousLogits, dy, routing: routed,
    hostX, hostPrevious, hostDy,
    dispose: () => tf.dispose([x, dy, routed.routerLogits, routed.routerProbs, routed.routingWeights, ...(previousLogits ? [previousLogits] : [])]),
  };
}
