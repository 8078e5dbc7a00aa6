/**
 * Constant expert: `[a1, a2] = softmax(x W_c)`, output `a1·x + a2·v` — it replaces the token by a
 * learned vector to a degree the token itself decides. `W_c` (D, 2), `v` (D).
 *
 * On the host the 2-way softmax is written with one logit gap, `l = x·(W_c[:,0] − W_c[:,1])`,
 * `a1 = sigmoid(l)`, `a2 = sigmoid(−l)`: the expert is `a1·x + a2·v`, of the form `a(x)·x + b(x)`
 * the host executor combines. The gaps of all tokens are one pass of row dot products (@moepp/
 * backends' `laneDot` order, forward and backward alike).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ExpertDims, ExpertKind, ExpertParams, ReferenceParams, TokenwiseExpertHost } from './expert-kind.ts';

export interface ConstantExpertParams {
  /** (D, 2) */
  wC: tf.Tensor;
  /** (D) */
  v: tf.Tensor;
}

/**
 * @example
 * const y = constantExpertForward(x, params); // x (n, D) -> y (n, D)
 */
export function constantExpertForward(x: tf.Tensor2D, p: ConstantExpertParams): tf.Tensor2D {
  const mix = tf.softmax(tf.matMul(x, p.wC)); // (n, 2)
  const [keepInput, takeConstant] = tf.split(mix, 2, 1); // (n, 1) each
  return tf.add(tf.mul(keepInput, x), tf.mul(takeConstant, p.v)) as tf.Tensor2D; // (n, D)
}

interface ConstantHostState {
  /** (D) W_c[:,0] − W_c[:,1], rounded to float32 as the tensors are. */
  gap: Float32Array;
  /** (D) host view of v. */
  v: Float32Array;
  d: number;
}

/**
 * Backward, with p = ⟨x, g⟩ and q = ⟨v, g⟩ per token: d(weight) = a1·p + a2·q;
 * dl = w·a1·a2·(p − q), dW_c[:,0] = −dW_c[:,1] = Σ dl·x, dv = Σ w·a2·g, dx += w·a1·g + dl·gap.
 */
const constantHost: TokenwiseExpertHost<ConstantHostState> = {
  prepare([wC, v], d) {
    const gap = new Float32Array(d);
    for (let j = 0; j < d; j++) gap[j] = wC[2 * j] - wC[2 * j + 1];
    return { gap, v, d };
  },
  forward({ gap, v, d }, x, w, out, keep, ops) {
    const tokens = w.length;
    const l = new Float64Array(tokens); // (N) logit gaps, 0 where w is 0
    ops.rowDots(x, gap, w, d, l);
    const takeConstant = new Float64Array(tokens); // (N) w·a2
    for (let n = 0; n < tokens; n++) {
      if (w[n] === 0) continue;
      takeConstant[n] = w[n] / (1 + Math.exp(l[n]));
      keep[n] += w[n] / (1 + Math.exp(-l[n]));
    }
    ops.addScaledVector(out, takeConstant, v, d);
  },
  backward({ gap, v, d }, x, g, w, xg, dx, dWeight, keep, [dWc, dv], ops) {
    const tokens = w.length;
    const every = new Float32Array(tokens).fill(1); // the weight's gradient is wanted where w is 0 too
    const l = new Float64Array(tokens); // (N) the forward's logit gaps, bit for bit
    ops.rowDots(x, gap, every, d, l);
    const vg = new Float64Array(tokens); // (N) ⟨v, g⟩
    ops.rowDots(g, v, every, d, vg);
    const dl = new Float64Array(tokens); // (N) d(loss)/d(logit gap)
    const takeConstant = new Float64Array(tokens); // (N) w·a2
    for (let n = 0; n < tokens; n++) {
      const a1 = 1 / (1 + Math.exp(-l[n]));
      const a2 = 1 / (1 + Math.exp(l[n]));
      dWeight[n] += a1 * xg[n] + a2 * vg[n];
      if (w[n] === 0) continue;
      keep[n] += w[n] * a1;
      dl[n] = w[n] * a1 * a2 * (xg[n] - vg[n]);
      takeConstant[n] = w[n] * a2;
    }
    ops.addScaledVector(dx, dl, gap, d);
    ops.addWeightedRowSum(dv, takeConstant, g, d);
    const dGap = new Float32Array(d); // (D) Σ dl·x: W_c[:,0]'s gradient, and minus W_c[:,1]'s
    ops.addWeightedRowSum(dGap, dl, x, d);
    for (let j = 0; j < d; j++) {
      dWc[2 * j] += dGap[j];
      dWc[2 * j + 1] -= dGap[j];
    }
  },
};

/** The constant expert kind: a zero-computation expert with a learned vector. */
export const constantExpert: ExpertKind = {
  name: 'constant',
  description: 'constant expert, a1·x + a2·v with [a1, a2] = softmax(x W_c)',
  costClass: 'zero-computation',
  layoutOrder: 1,
  dispatch: 'tokenwise',
  outputIsZero: false,
  parameters: ({ dModel: D }: ExpertDims) => [
    { key: 'wC', name: 'w_c', shape: [D, 2] },
    { key: 'v', name: 'v', shape: [D] },
  ],
  // O(D) work; the project's FLOP convention counts matmuls only (counting.ts).
  flopsPerToken: () => 0,
  forward: (x: tf.Tensor2D, p: ExpertParams) => constantExpertForward(x, p as unknown as ConstantExpertParams),
  host: { tokenwise: constantHost as TokenwiseExpertHost },
  reference(p: ReferenceParams, x: number[]): number[] {
    const wC = p.wC as number[][];
    const v = p.v as number[];
    const logits = [0, 1].map((j) => x.reduce((s, xi, i) => s + xi * wC[i][j], 0));
    const m = Math.max(...logits);
    const e = logits.map((l) => Math.exp(l - m));
    const [a1, a2] = e.map((z) => z / (e[0] + e[1]));
    return x.map((xi, i) => a1 * xi + a2 * v[i]);
  },
};
