/**
 * Test support: a random MoE++ layer built twice from the same numbers — through
 * `createMoeLayer` for the implementation and as plain arrays for the float64 reference.
 */
import * as tf from '@tensorflow/tfjs-core';
import seedrandom from 'seedrandom';
import { expertKind, isFfnLike } from '../experts/index.ts';
import { createMoeLayer, type MoeLayer } from '../moe-layer.ts';
import { gatingMode, gatingOptions } from '../gating/index.ts';
import type { ExecutorName } from '../executors/index.ts';
import type { SharedExpertsSpec } from '../shared-experts.ts';
import type { Matrix, ReferenceLayer, ReferenceSharedExperts } from './reference-moe.ts';

export function randomMatrix(rng: () => number, rows: number, cols: number, scale = 1): Matrix {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => (rng() * 2 - 1) * scale));
}

export interface RandomLayer {
  layer: MoeLayer;
  reference: ReferenceLayer;
  x: Matrix;
  previousLogits: Matrix | null;
  variables: tf.Variable[];
  dispose(): void;
}

export function randomLayer(options: {
  seed: string;
  kinds: string[];
  tokens: number;
  dModel: number;
  hidden: number;
  topK: number;
  gating: string;
  tau?: number;
  capacityFactor?: number | null;
  residual?: boolean;
  executor?: ExecutorName;
  // The routing family (docs/moe-family.md); drawn after everything else, so other layers keep their numbers.
  gatingOptions?: Record<string, number | boolean>;
  routerHidden?: number;
  routerJitter?: number;
  expertInputTimesTopK?: boolean;
  sharedExperts?: SharedExpertsSpec;
  attentionRouter?: boolean;
}): RandomLayer {
  const rng = seedrandom(options.seed);
  const { kinds, tokens: N, dModel: D, hidden: I } = options;
  const E = kinds.length;
  // Drawn in a fixed order (router, residual, experts in layer order, parameters in spec order),
  // FFN-like weights at half scale so activations stay moderate.
  const values = new Map<string, Matrix | number[]>();
  values.set('router.w_r', randomMatrix(rng, D, E));
  if (options.residual) values.set('router.w_g', randomMatrix(rng, E, E, 0.5));
  const experts = kinds.map((kind, e) => {
    const params: Record<string, Matrix | number[]> = {};
    for (const p of expertKind(kind).parameters({ dModel: D, ffnHidden: I })) {
      const scale = isFfnLike(kind) ? 0.5 : 1;
      const value = p.shape.length === 1 ? randomMatrix(rng, 1, p.shape[0], scale)[0] : randomMatrix(rng, p.shape[0], p.shape[1], scale);
      params[p.key] = value;
      values.set(`experts.${e}.${p.name}`, value);
    }
    return { kind, params };
  });
  // Shared experts after the routed ones, so layers without them draw what they always drew.
  let shared: ReferenceSharedExperts | null = null;
  if (options.sharedExperts) {
    const width = options.sharedExperts.count * options.sharedExperts.hidden;
    const ffn = { wGate: randomMatrix(rng, D, width, 0.5), wUp: randomMatrix(rng, D, width, 0.5), wDown: randomMatrix(rng, width, D, 0.5) };
    values.set('shared_experts.w_gate', ffn.wGate);
    values.set('shared_experts.w_up', ffn.wUp);
    values.set('shared_experts.w_down', ffn.wDown);
    const gate = options.sharedExperts.gated ? randomMatrix(rng, D, 1) : null;
    if (gate) values.set('shared_experts.gate', gate);
    shared = { ffn, gate: gate?.map((row) => row[0]) ?? null };
  }
  const mode = gatingMode(options.gating);
  const dims = { dModel: D, experts: E, topK: options.topK };
  const gatingParams: Record<string, Matrix> = {};
  for (const p of mode.parameters?.(dims, gatingOptions(mode, options.gatingOptions, dims)) ?? []) {
    gatingParams[p.key] = randomMatrix(rng, p.shape[0], p.shape[1]);
    values.set(`router.${p.name}`, gatingParams[p.key]);
  }
  if (options.routerHidden !== undefined) {
    // The two-layer router's W_r is (H, E): redrawn at that shape, W_hidden after it.
    values.set('router.w_r', randomMatrix(rng, options.routerHidden, E));
    values.set('router.w_hidden', randomMatrix(rng, D, options.routerHidden));
  }
  if (options.attentionRouter) {
    for (const name of ['router.w_q', 'router.w_k', 'router.w_v']) values.set(name, randomMatrix(rng, D, E));
  }
  const tau = options.tau ?? 0.75;
  const capacityFactor = options.capacityFactor ?? null;
  const variables: tf.Variable[] = [];
  const layer = createMoeLayer(
    {
      dModel: D, kinds, topK: options.topK, ffnHidden: I, gating: options.gating, tau, capacityFactor, gatingResidual: options.residual === true, gatingResidualInitStd: 0, initStd: 0.02,
      gatingOptions: options.gatingOptions, routerHidden: options.routerHidden ?? null, routerJitter: options.routerJitter, expertInputTimesTopK: options.expertInputTimesTopK, attentionRouter: options.attentionRouter,
      sharedExperts: options.sharedExperts ?? null,
    },
    (name) => {
      const value = values.get(name);
      if (!value) throw new Error(`randomLayer: no value drawn for ${name}`);
      const v = tf.variable(tf.tensor(value));
      variables.push(v);
      return v;
    },
    options.executor ?? 'host',
  );
  const wR = mode.usesRouterLogits === false || options.attentionRouter ? [] : (values.get('router.w_r') as Matrix);
  const attention = options.attentionRouter ? { wQ: values.get('router.w_q') as Matrix, wK: values.get('router.w_k') as Matrix, wV: values.get('router.w_v') as Matrix } : null;
  const wHidden = (values.get('router.w_hidden') as Matrix | undefined) ?? null;
  const wG = (values.get('router.w_g') as Matrix | undefined) ?? null;
  // Router first, as the tests have always listed them (they sample entries in this order).
  const a = layer.params.router.attention;
  const router = [layer.params.router.wR, layer.params.router.wG, ...(a ? [a.wQ, a.wK, a.wV] : [])].filter((v) => v !== null);
  variables.sort((a, b) => Number(router.includes(b)) - Number(router.includes(a)));
  return {
    layer,
    reference: {
      wR, wG, experts, topK: options.topK, gating: options.gating, tau, capacityFactor,
      wHidden, attention, gatingOptions: options.gatingOptions, gatingParams, buffers: Object.fromEntries(Object.entries(layer.buffers).map(([k, v]) => [k, Array.from(v)])), expertInputTimesTopK: options.expertInputTimesTopK,
      shared,
    },
    x: randomMatrix(rng, N, D),
    previousLogits: options.residual ? randomMatrix(rng, N, E, 2) : null,
    variables,
    dispose: () => variables.forEach((v) => v.dispose()),
  };
}

/** Largest absolute difference between a tensor and a nested array of the same shape. */
export function maxAbsDiff(t: tf.Tensor, expected: Matrix): number {
  const got = t.arraySync() as Matrix;
  let worst = 0;
  got.forEach((row, i) => row.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - expected[i][j])))));
  return worst;
}

