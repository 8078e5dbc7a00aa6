/**
 * An independent, dense, float64 reference of the MoE++ layer for tests: every expert runs on
 * every token and the outputs are combined with routing weights computed here from scratch
 * (moepp-method.md §3–§6). Each expert kind's and gating mode's arithmetic comes from its own
 * `reference` — plain loops that share no code with the implementation — and capacity is
 * recomputed here from the kinds' cost classes.
 */
import { expertKind, isFfnLike, type ReferenceParams } from '../experts/index.ts';
import { gatingMode } from '../gating/index.ts';

export type Matrix = number[][];

export interface ReferenceExpert {
  kind: string;
  /** By `ParameterSpec.key`, e.g. `{ wGate, wUp, wDown }` for an FFN expert. */
  params: ReferenceParams;
}

export interface ReferenceLayer {
  wR: Matrix; // (D, E)
  wG: Matrix | null; // (E, E)
  experts: ReferenceExpert[];
  topK: number;
  gating: string;
  tau: number;
  capacityFactor: number | null;
  /** Shared experts (one SwiGLU of hidden S·I_s) and their gate's (D) weights; null or absent = none. */
  shared?: ReferenceSharedExperts | null;
}

export interface ReferenceSharedExperts {
  /** `{ wGate, wUp, wDown }` of the S experts side by side. */
  ffn: ReferenceParams;
  /** (D) w_shared of the sigmoid gate; null = ungated. */
  gate: number[] | null;
}

export function matmul(a: Matrix, b: Matrix): Matrix {
  return a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
}

/** E_e(x) for one token x (D). */
export function referenceExpert(expert: ReferenceExpert, x: number[]): number[] {
  return expertKind(expert.kind).reference(expert.params, x);
}

export interface ReferenceOutput {
  output: Matrix; // (N, D)
  logits: Matrix; // (N, E)
  probs: Matrix; // (N, E)
  weights: Matrix; // (N, E)
  topK: number[][]; // (N, K)
  dropped: number;
}

/** The layer on tokens x (N, D), with the previous layer's logits when the residual is on. */
export function referenceMoeLayer(layer: ReferenceLayer, x: Matrix, previousLogits: Matrix | null): ReferenceOutput {
  const kinds = layer.experts.map((e) => e.kind);
  const E = kinds.length;
  const K = layer.topK;
  let logits = matmul(x, layer.wR);
  if (layer.wG && previousLogits) {
    const residual = matmul(previousLogits, layer.wG);
    logits = logits.map((row, n) => row.map((v, e) => v + residual[n][e]));
  }
  const mode = gatingMode(layer.gating);
  const routed = logits.map((row) => mode.reference(row, kinds, K));
  const probs = routed.map((r) => r.probs);
  const topK = routed.map((r) => r.topK);
  const weights = routed.map((r) => [...r.weights]);

  let dropped = 0;
  if (layer.capacityFactor !== null) {
    const nFfn = kinds.filter(isFfnLike).length;
    const slots = x.length * K;
    const denominator = layer.tau * nFfn + (E - nFfn);
    const capacity = kinds.map((k) => Math.ceil(((isFfnLike(k) ? layer.capacityFactor! * layer.tau : layer.capacityFactor!) * slots) / denominator));
    const load = new Array<number>(E).fill(0);
    for (let j = 0; j < K; j++) {
      for (let n = 0; n < x.length; n++) {
        const e = topK[n][j];
        if (load[e] >= capacity[e]) {
          weights[n][e] = 0;
          dropped++;
        } else load[e]++;
      }
    }
  }

  const output = x.map((token, n) => {
    const y = new Array<number>(token.length).fill(0);
    layer.experts.forEach((expert, e) => {
      if (weights[n][e] === 0) return;
      const out = referenceExpert(expert, token);
      out.forEach((v, d) => (y[d] += weights[n][e] * v));
    });
    const shared = layer.shared;
    if (shared) {
      const g = shared.gate ? 1 / (1 + Math.exp(-token.reduce((s, v, d) => s + v * (shared.gate as number[])[d], 0))) : 1;
      expertKind('ffn').reference(shared.ffn, token).forEach((v, d) => (y[d] += g * v));
    }
    return y;
  });
  return { output, logits, probs, weights, topK, dropped };
}
