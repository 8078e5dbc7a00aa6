/**
 * Test support: a random MoE++ layer built twice from the same numbers — as tf variables for the
 * implementation and as plain arrays for the float64 reference.
 */
import * as tf from '@tensorflow/tfjs-core';
import seedrandom from 'seedrandom';
import type { GatingMode } from '../config.js';
import type { ExpertKind } from '../experts/expert-kinds.js';
import type { MoeLayerParams } from '../moe-layer.js';
import type { RouterSettings } from '../router.js';
import type { Matrix, ReferenceLayer } from './reference-moe.js';

export function randomMatrix(rng: () => number, rows: number, cols: number, scale = 1): Matrix {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => (rng() * 2 - 1) * scale));
}

export interface RandomLayer {
  params: MoeLayerParams;
  settings: RouterSettings;
  reference: ReferenceLayer;
  x: Matrix;
  previousLogits: Matrix | null;
  variables: tf.Variable[];
  dispose(): void;
}

export function randomLayer(options: {
  seed: string;
  kinds: ExpertKind[];
  tokens: number;
  dModel: number;
  hidden: number;
  topK: number;
  gating: GatingMode;
  tau?: number;
  capacityFactor?: number | null;
  residual?: boolean;
}): RandomLayer {
  const rng = seedrandom(options.seed);
  const { kinds, tokens: N, dModel: D, hidden: I } = options;
  const E = kinds.length;
  const variables: tf.Variable[] = [];
  const variable = (m: Matrix | number[]) => {
    const v = tf.variable(tf.tensor(m));
    variables.push(v);
    return v;
  };
  const wR = randomMatrix(rng, D, E);
  const wG = options.residual ? randomMatrix(rng, E, E, 0.5) : null;
  const experts = kinds.map((kind) => {
    if (kind === 'ffn') return { kind, wGate: randomMatrix(rng, D, I, 0.5), wUp: randomMatrix(rng, D, I, 0.5), wDown: randomMatrix(rng, I, D, 0.5) };
    if (kind === 'constant') return { kind, wC: randomMatrix(rng, D, 2), v: randomMatrix(rng, 1, D)[0] };
    return { kind };
  });
  const params: MoeLayerParams = {
    router: { wR: variable(wR), wG: wG ? variable(wG) : null },
    experts: experts.map((e) => {
      if (e.kind === 'ffn') return { wGate: variable(e.wGate!), wUp: variable(e.wUp!), wDown: variable(e.wDown!) };
      if (e.kind === 'constant') return { wC: variable(e.wC!), v: variable(e.v!) };
      return null;
    }),
  };
  const tau = options.tau ?? 0.75;
  const capacityFactor = options.capacityFactor ?? null;
  return {
    params,
    settings: { kinds, topK: options.topK, gating: options.gating, tau, capacityFactor },
    reference: { wR, wG, experts, topK: options.topK, gating: options.gating, tau, capacityFactor },
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
