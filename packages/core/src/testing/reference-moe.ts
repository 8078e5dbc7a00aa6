/**
 * An independent, dense, float64 reference of the MoE++ layer for tests: every expert runs on
 * every token and the outputs are combined with routing weights computed here from scratch
 * (moepp-method.md §3–§6, written as plain loops with no code shared with the implementation).
 */
import type { GatingMode } from '../config.js';
import type { ExpertKind } from '../experts/expert-kinds.js';

export type Matrix = number[][];

export interface ReferenceExpert {
  kind: ExpertKind;
  wGate?: Matrix; // (D, I)
  wUp?: Matrix; // (D, I)
  wDown?: Matrix; // (I, D)
  wC?: Matrix; // (D, 2)
  v?: number[]; // (D)
}

export interface ReferenceLayer {
  wR: Matrix; // (D, E)
  wG: Matrix | null; // (E, E)
  experts: ReferenceExpert[];
  topK: number;
  gating: GatingMode;
  tau: number;
  capacityFactor: number | null;
}

export function matmul(a: Matrix, b: Matrix): Matrix {
  return a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
}

const silu = (z: number) => z / (1 + Math.exp(-z));
function softmax(row: number[]): number[] {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** E_e(x) for one token x (D). */
export function referenceExpert(expert: ReferenceExpert, x: number[]): number[] {
  switch (expert.kind) {
    case 'zero':
      return x.map(() => 0);
    case 'copy':
      return [...x];
    case 'constant': {
      const logits = [0, 1].map((j) => x.reduce((s, xi, i) => s + xi * expert.wC![i][j], 0));
      const [a1, a2] = softmax(logits);
      return x.map((xi, i) => a1 * xi + a2 * expert.v![i]);
    }
    case 'ffn': {
      const hidden = expert.wGate![0].map((_, j) => {
        const g = x.reduce((s, xi, i) => s + xi * expert.wGate![i][j], 0);
        const u = x.reduce((s, xi, i) => s + xi * expert.wUp![i][j], 0);
        return silu(g) * u;
      });
      return x.map((_, d) => hidden.reduce((s, h, j) => s + h * expert.wDown![j][d], 0));
    }
  }
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
  const probs = logits.map((row) => {
    if (layer.gating !== 'reference') return softmax(row);
    const mean = row.reduce((a, b) => a + b, 0) / E;
    const std = Math.sqrt(row.reduce((s, v) => s + (v - mean) ** 2, 0) / (E - 1));
    return softmax(row.map((v) => v / std));
  });
  const topK = logits.map((row) =>
    row
      .map((v, e) => ({ v, e }))
      .sort((a, b) => b.v - a.v || a.e - b.e)
      .slice(0, K)
      .map((o) => o.e),
  );
  const weights = logits.map((row, n) => {
    const w = new Array<number>(E).fill(0);
    const sel = topK[n];
    if (layer.gating === 'paper') for (const e of sel) w[e] = probs[n][e];
    if (layer.gating === 'mixtral') {
      const s = softmax(sel.map((e) => row[e]));
      sel.forEach((e, i) => (w[e] = s[i]));
    }
    if (layer.gating === 'reference') {
      for (const e of sel) w[e] = kinds[e] === 'zero' ? 0 : probs[n][e];
      const total = sel.reduce((s, e) => s + w[e], 0);
      for (const e of sel) w[e] = total > 0 ? w[e] / total : 0;
    }
    return w;
  });

  let dropped = 0;
  if (layer.capacityFactor !== null) {
    const nFfn = kinds.filter((k) => k === 'ffn').length;
    const slots = x.length * K;
    const denominator = layer.tau * nFfn + (E - nFfn);
    const capacity = kinds.map((k) => Math.ceil(((k === 'ffn' ? layer.capacityFactor! * layer.tau : layer.capacityFactor!) * slots) / denominator));
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
    return y;
  });
  return { output, logits, probs, weights, topK, dropped };
}
