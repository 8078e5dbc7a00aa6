/**
 * AdamW: Adam with decoupled weight decay (Loshchilov & Hutter), the optimizer of the paper.
 * tfjs ships Adam but not AdamW, and a run must be able to save and restore the moments exactly
 * for resume, so the few lines live here, keyed by parameter name.
 *
 * Weight decay applies to matrices only (rank ≥ 2): norms' gains and the constant experts'
 * vectors are left undecayed, as in GPT-2/LLaMA training recipes.
 *
 * The update is tf ops, ten kernels per parameter, except where the backend registers the fused
 * AdamW kernel (`blas`: one native loop per parameter, the same operations in the same order).
 * A host JS loop over the weights was measured slower on wasm than the tf ops, dispatch
 * included (BENCHMARKS.md, "The whole training step").
 */
import * as tf from '@tensorflow/tfjs-core';
import { hasTrainingKernel, TRAINING_KERNELS } from '@moepp/backends';
import type { NamedArray } from '@moepp/core';

export interface AdamWSettings {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
}

export const DEFAULT_ADAMW: AdamWSettings = { beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1 };

export class AdamW {
  private readonly firstMoment = new Map<string, tf.Variable>();
  private readonly secondMoment = new Map<string, tf.Variable>();
  /** Updates applied so far (bias correction uses it). */
  step = 0;

  constructor(readonly settings: AdamWSettings = DEFAULT_ADAMW) {}

  /**
   * One update of every parameter in `params` from `grads` (same names), at learning rate `lr`;
   * the gradients are multiplied by `gradScale` as they are read (global-norm clipping,
   * gradient-clipping.ts), so no scaled copies of them are made.
   *
   * m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², p ← p − lr·(m̂ / (√v̂ + ε) + λp), with m̂ = m / (1−β₁ᵗ),
   * v̂ = v / (1−β₂ᵗ); the decay is decoupled: not scaled by the moments.
   */
  apply(params: Map<string, tf.Variable>, grads: Map<string, tf.Tensor>, lr: number, gradScale = 1): void {
    const { beta1, beta2, epsilon, weightDecay } = this.settings;
    this.step++;
    const correction1 = 1 - beta1 ** this.step;
    const correction2 = 1 - beta2 ** this.step;
    const fused = hasTrainingKernel(TRAINING_KERNELS.adamW);
    for (const [name, param] of params) {
      const g = grads.get(name);
      if (!g) throw new Error(`AdamW: no gradient for parameter '${name}'`);
      if (fused) {
        const m = this.moment(this.firstMoment, name, param);
        const v = this.moment(this.secondMoment, name, param);
        const attrs = { beta1, beta2, epsilon, gradScale, lr, weightDecay: param.rank >= 2 ? weightDecay : 0, step: this.step };
        const [p2, m2, v2] = tf.engine().runKernel(TRAINING_KERNELS.adamW, { param, grad: g, m, v }, attrs) as tf.Tensor[];
        for (const [variable, next] of [[param, p2], [m, m2], [v, v2]] as const) {
          variable.assign(next);
          next.dispose();
        }
        continue;
      }
      tf.tidy(() => {
        const m = this.moment(this.firstMoment, name, param);
        const v = this.moment(this.secondMoment, name, param);
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, (1 - beta1) * gradScale)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), (1 - beta2) * gradScale * gradScale)));
        const direction = tf.div(m, tf.add(tf.sqrt(tf.mul(v, 1 / correction2)), epsilon)); // m / (√v̂ + ε)
        const decay = param.rank >= 2 ? weightDecay : 0;
        // p·(1 − lr·λ) − (lr / (1−β₁ᵗ))·direction: the same update in fewer kernels.
        const decayed = decay === 0 ? param : tf.mul(param, 1 - lr * decay);
        param.assign(tf.sub(decayed, tf.mul(direction, lr / correction1)));
      });
    }
  }

  /** Moments as named host arrays (`m.<name>`, `v.<name>`) for a `.safetensors` checkpoint. */
  stateArrays(): Map<string, NamedArray> {
    const out = new Map<string, NamedArray>();
    for (const [prefix, moments] of [['m', this.firstMoment], ['v', this.secondMoment]] as const) {
      for (const [name, t] of moments) out.set(`${prefix}.${name}`, { shape: t.shape, data: t.dataSync() as Float32Array });
    }
    return out;
  }

  /** Restores moments saved by `stateArrays` and the step count. */
  loadState(arrays: Map<string, NamedArray>, step: number): void {
    this.dispose();
    for (const [key, a] of arrays) {
      const target = key.startsWith('m.') ? this.firstMoment : key.startsWith('v.') ? this.secondMoment : null;
      if (!target) throw new Error(`optimizer state holds an unexpected tensor '${key}'`);
      const initial = tf.tensor(a.data, a.shape, 'float32');
      target.set(key.slice(2), tf.variable(initial, false));
      initial.dispose(); // the variable holds its own reference
    }
    this.step = step;
  }

  dispose(): void {
    for (const t of [...this.firstMoment.values(), ...this.secondMoment.values()]) t.dispose();
    this.firstMoment.clear();
    this.secondMoment.clear();
  }

  private moment(store: Map<string, tf.Variable>, name: string, like: tf.Variable): tf.Variable {
    let m = store.get(name);
    if (!m) {
      const initial = tf.zerosLike(like);
      m = tf.variable(initial, false);
      initial.dispose(); // the variable holds its own reference (also where no tidy frees it)
      store.set(name, m);
    }
    return m;
  }
}
