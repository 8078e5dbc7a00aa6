/**
 * An independent, dense, float64 reference of the MoE++ layer for tests: every expert runs on
 * every token and the outputs are combined with routing weights computed here from scratch
 * (moepp-method.md §3–§6). Each expert kind's and gating mode's arithmetic comes from its own
 * `reference` — plain loops that share no code with the implementation — and capacity is
 * recomputed here from the kinds' cost classes.
 */
import { expertKind, isFfnLike, type ReferenceParams } from '../experts/index.ts';
import { gatingMode, gatingOptions } from '../gating/index.ts';

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
  // The routing family (docs/moe-family.md); absent = off.
  /** (D, H) first layer of the two-layer router: logits = tanh(x W_hidden) W_r. */
  wHidden?: Matrix | null;
  /** (D, E) each: the attention router's projections (then wR is empty). */
  attention?: { wQ: Matrix; wK: Matrix; wV: Matrix } | null;
  gatingOptions?: Record<string, number | boolean>;
  /** The gating mode's parameters, by key. */
  gatingParams?: Record<string, Matrix>;
  /** The gating mode's buffers, by key. */
  buffers?: Record<string, number[]>;
  expertInputTimesTopK?: boolean;
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

/** The layer on tokens x (N, D), with the previous layer's logits when the residual is on; `tokenIds` (N) for modes that route by them. */
export function referenceMoeLayer(layer: ReferenceLayer, x: Matrix, previousLogits: Matrix | null, tokenIds: number[] | null = null): ReferenceOutput {
  const kinds = layer.experts.map((e) => e.kind);
  const E = kinds.length;
  const K = layer.topK;
  const routerInput = layer.wHidden ? x.map((row) => matmul([row], layer.wHidden as Matrix)[0].map(Math.tanh)) : x;
  let logits = layer.attention
    ? referenceAttentionRouter(x, layer.attention)
    : layer.wR.length ? matmul(routerInput, layer.wR) : x.map(() => new Array<number>(E).fill(0));
  if (layer.wG && previousLogits) {
    const residual = matmul(previousLogits, layer.wG);
    logits = logits.map((row, n) => row.map((v, e) => v + residual[n][e]));
  }
  const mode = gatingMode(layer.gating);
  const options = gatingOptions(mode, layer.gatingOptions, { dModel: x[0].length, experts: E, topK: K });
  const routed = logits.map((row, n) =>
    mode.reference(row, kinds, K, { x: x[n], tokenId: tokenIds?.[n] ?? null, options, params: layer.gatingParams ?? {}, buffers: layer.buffers ?? {} }),
  );
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

  const scale = layer.expertInputTimesTopK ? K : 1;
  const output = x.map((row, n) => {
    const token = row.map((v) => v * scale);
    const y = new Array<number>(token.length).fill(0);
    layer.experts.forEach((expert, e) => {
      if (weights[n][e] === 0) return;
      const out = referenceExpert(expert, token);
      out.forEach((v, d) => (y[d] += weights[n][e] * v));
    });
    // Shared experts see x itself, whether or not the routed experts get K·x.
    const shared = layer.shared;
    if (shared) {
      const g = shared.gate ? 1 / (1 + Math.exp(-row.reduce((s, v, d) => s + v * (shared.gate as number[])[d], 0))) : 1;
      expertKind('ffn').reference(shared.ffn, row).forEach((v, d) => (y[d] += g * v));
    }
    return y;
  });
  return { output, logits, probs, weights, topK, dropped };
}

/** Yuan 2.0-M32's attention router for each token: G_i = Σ_j softmax_j(q_i k_j) v_j, q = x W_Q, k = x W_K, v = x W_V. */
function referenceAttentionRouter(x: Matrix, w: { wQ: Matrix; wK: Matrix; wV: Matrix }): Matrix {
  return x.map((token) => {
    const [q, k, v] = [w.wQ, w.wK, w.wV].map((m) => matmul([token], m)[0]);
    return q.map((qi) => {
      const scores = k.map((kj) => qi * kj);
      const top = Math.max(...scores);
      const exp = scores.map((s) => Math.exp(s - top));
      const total = exp.reduce((a, b) => a + b, 0);
      return exp.reduce((s, ej, j) => s + (ej / total) * v[j], 0);
    });
  });
}
