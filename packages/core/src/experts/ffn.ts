/**
 * FFN expert: SwiGLU without biases, `W_down( silu(x W_gate) ⊙ (x W_up) )` — 3·D·I parameters.
 * Also the dense FFN of non-MoE blocks.
 */
import * as tf from '@tensorflow/tfjs-core';
import { addPackedSwiGluExpert, transposedOperandsAreFree } from '@moepp/backends';
import type { ExpertDims, ExpertKind, ExpertParams, ReferenceParams } from './expert-kind.ts';
import { swiGlu, swiGluBackward } from './swiglu.ts';

export interface FfnParams {
  /** (D, I) */
  wGate: tf.Tensor;
  /** (D, I) */
  wUp: tf.Tensor;
  /** (I, D) */
  wDown: tf.Tensor;
}

/**
 * SwiGLU forward on the rows routed to this expert.
 *
 * @example
 * const y = ffnForward(x, params); // x (n, D) -> y (n, D)
 */
export function ffnForward(x: tf.Tensor2D, p: FfnParams): tf.Tensor2D {
  const gate = tf.matMul(x, p.wGate) as tf.Tensor2D; // (n, I)
  const up = tf.matMul(x, p.wUp) as tf.Tensor2D; // (n, I)
  const hidden = swiGlu(gate, up); // (n, I) silu(gate) ⊙ up
  return tf.matMul(hidden, p.wDown) as tf.Tensor2D; // (n, D)
}

/** The forward's intermediate projections a hand-written backward needs. */
export interface FfnActivations {
  /** (n, I) x W_gate */
  gate: tf.Tensor2D;
  /** (n, I) x W_up */
  up: tf.Tensor2D;
  /** (n, D) the expert's output */
  y: tf.Tensor2D;
}

/**
 * `ffnForward` that also returns the gate and up projections, for layers that write their own
 * backward (`ffnBackward`).
 *
 * @example
 * const { y, gate, up } = ffnForwardParts(x, params);
 */
export function ffnForwardParts(x: tf.Tensor2D, p: FfnParams): FfnActivations {
  const gate = tf.matMul(x, p.wGate) as tf.Tensor2D; // (n, I)
  const up = tf.matMul(x, p.wUp) as tf.Tensor2D; // (n, I)
  const y = tf.tidy(() => tf.matMul(swiGlu(gate, up), p.wDown)) as tf.Tensor2D; // (n, D)
  return { gate, up, y };
}

export interface FfnGradients {
  dx: tf.Tensor2D; // (n, D)
  dWGate: tf.Tensor2D; // (D, I)
  dWUp: tf.Tensor2D; // (D, I)
  dWDown: tf.Tensor2D; // (I, D)
}

/**
 * The SwiGLU backward, given the forward's input x, its gate and up projections and the output
 * gradient dy. With h = silu(gate) ⊙ up and du, dg from swiglu.ts:
 * dh = dy·W_downᵀ, dW_down = hᵀ·dy, dW_gate = xᵀ·dg, dW_up = xᵀ·du, dx = dg·W_gateᵀ + du·W_upᵀ.
 * Where a transposed operand costs a copy (plain wasm, whose matmul transposes it explicitly),
 * products with a transposed weight are computed as (W·aᵀ)ᵀ: only the (n × D|I) activations are
 * transposed, never a (D, I) weight, which would cost D·I per call however few rows the expert
 * has. Where transposes are free (`blas`, cpu, native TensorFlow) the products take the flags.
 *
 * @example
 * const { dx, dWGate, dWUp, dWDown } = tf.tidy(() => ffnBackward(x, gate, up, dy, params));
 */
export function ffnBackward(x: tf.Tensor2D, gate: tf.Tensor2D, up: tf.Tensor2D, dy: tf.Tensor2D, p: FfnParams): FfnGradients {
  if (transposedOperandsAreFree()) {
    const dh = tf.matMul(dy, p.wDown, false, true) as tf.Tensor2D; // (n, I)
    const { h, dGate: dg, dUp: du } = swiGluBackward(gate, up, dh); // (n, I) each
    const dWDown = tf.matMul(h, dy, true, false) as tf.Tensor2D; // (I, D)
    const dWGate = tf.matMul(x, dg, true, false) as tf.Tensor2D; // (D, I)
    const dWUp = tf.matMul(x, du, true, false) as tf.Tensor2D; // (D, I)
    const dx = tf.add(tf.matMul(dg, p.wGate, false, true), tf.matMul(du, p.wUp, false, true)) as tf.Tensor2D; // (n, D)
    return { dx, dWGate, dWUp, dWDown };
  }
  const dh = tf.transpose(tf.matMul(p.wDown, dy, false, true)) as tf.Tensor2D; // (n, I) = (W_down · dyᵀ)ᵀ
  const { h, dGate: dg, dUp: du } = swiGluBackward(gate, up, dh); // (n, I) each
  const dWDown = tf.matMul(h, dy, true, false) as tf.Tensor2D; // (I, D)
  const xT = tf.transpose(x); // (D, n)
  const dWGate = tf.matMul(xT, dg) as tf.Tensor2D; // (D, I)
  const dWUp = tf.matMul(xT, du) as tf.Tensor2D; // (D, I)
  const dx = tf.transpose(tf.add(tf.matMul(p.wGate, dg, false, true), tf.matMul(p.wUp, du, false, true))) as tf.Tensor2D; // (n, D)
  return { dx, dWGate, dWUp, dWDown };
}

/** The FFN expert kind: SwiGLU on the rows routed to it. */
export const ffnExpert: ExpertKind = {
  name: 'ffn',
  description: 'SwiGLU FFN expert, W_down(silu(x W_gate) ⊙ x W_up)',
  costClass: 'ffn',
  layoutOrder: 0,
  dispatch: 'rows',
  outputIsZero: false,
  parameters: ({ dModel: D, ffnHidden: I }: ExpertDims) => [
    { key: 'wGate', name: 'w_gate', shape: [D, I] },
    { key: 'wUp', name: 'w_up', shape: [D, I] },
    { key: 'wDown', name: 'w_down', shape: [I, D] },
  ],
  // Three (D, I) matmuls at 2 FLOPs per multiply-add.
  flopsPerToken: ({ dModel, ffnHidden }: ExpertDims) => 2 * 3 * dModel * ffnHidden,
  forward: (x: tf.Tensor2D, p: ExpertParams) => ffnForward(x, p as unknown as FfnParams),
  host: {
    rows: {
      forward(rows, p) {
        const { y, gate, up } = ffnForwardParts(rows, p as unknown as FfnParams);
        return { y, saved: [gate, up] };
      },
      backward(rows, [gate, up], dy, p) {
        const g = ffnBackward(rows, gate as tf.Tensor2D, up as tf.Tensor2D, dy, p as unknown as FfnParams);
        return { dx: g.dx, paramGrads: [g.dWGate, g.dWUp, g.dWDown] };
      },
      // One native call per expert where its weights are packed for forward-only use (`blas`).
      forwardAdd: (out, x, w, index, weightIndex, p) => addPackedSwiGluExpert(out, x, w, index, weightIndex, p as unknown as FfnParams),
    },
  },
  reference(p: ReferenceParams, x: number[]): number[] {
    const wGate = p.wGate as number[][];
    const wUp = p.wUp as number[][];
    const wDown = p.wDown as number[][];
    const silu = (z: number) => z / (1 + Math.exp(-z));
    const hidden = wGate[0].map((_, j) => {
      const g = x.reduce((s, xi, i) => s + xi * wGate[i][j], 0);
      const u = x.reduce((s, xi, i) => s + xi * wUp[i][j], 0);
      return silu(g) * u;
    });
    return x.map((_, d) => hidden.reduce((s, h, j) => s + h * wDown[j][d], 0));
  },
};
