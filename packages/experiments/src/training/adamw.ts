/**
 * AdamW: Adam with decoupled weight decay (Loshchilov & Hutter), the optimizer of the paper.
 * tfjs ships Adam but not AdamW, and a run must be able to save and restore the moments exactly
 * for resume, so the few lines live here, keyed by parameter name.
 *
 * Weight decay applies to matrices only (rank ≥ 2): norms' gains and the constant experts'
 * vectors are left undecayed, as in GPT-2/LLaMA training recipes.
 *
 * Two implementations of the same update, chosen like the expert executors: `host` runs one loop
 * per parameter over host views of the weights and gradients (wasm / cpu: as tf ops the update is
 * ~15 small kernels per parameter, which cost more in dispatch than in arithmetic — BENCHMARKS.md,
 * "The whole training step"); `tf-ops` keeps everything on the backend (native TensorFlow, GPU).
 */
import * as tf from '@tensorflow/tfjs-core';
import { readRows, writeRows } from '@moepp/backends';
import type { ExecutorName, NamedArray } from '@moepp/core';

export interface AdamWSettings {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
}

export const DEFAULT_ADAMW: AdamWSettings = { beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1 };

export class AdamW {
  /** Moments by parameter name: host arrays (`host`) or backend variables (`tf-ops`). */
  private readonly firstMoment = new Map<string, Float32Array | tf.Variable>();
  private readonly secondMoment = new Map<string, Float32Array | tf.Variable>();
  /** Shapes of the parameters the moments belong to (a host moment is a flat array). */
  private readonly shapes = new Map<string, number[]>();
  /** Updates applied so far (bias correction uses it). */
  step = 0;

  constructor(
    readonly settings: AdamWSettings = DEFAULT_ADAMW,
    readonly where: ExecutorName = 'host',
  ) {}

  /**
   * One update of every parameter in `params` from `grads` (same names), at learning rate `lr`;
   * the gradients are multiplied by `gradScale` first (global-norm clipping, gradient-clipping.ts).
   */
  apply(params: Map<string, tf.Variable>, grads: Map<string, tf.Tensor>, lr: number, gradScale = 1): void {
    this.step++;
    for (const [name, param] of params) {
      const g = grads.get(name);
      if (!g) throw new Error(`AdamW: no gradient for parameter '${name}'`);
      if (this.where === 'host') this.updateOnHost(name, param, g, lr, gradScale);
      else this.updateWithTfOps(name, param, g, lr, gradScale);
    }
  }

  /** m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², p ← p − lr·(m̂ / (√v̂ + ε) + λp), m̂, v̂ bias-corrected. */
  private updateOnHost(name: string, param: tf.Variable, grad: tf.Tensor, lr: number, gradScale: number): void {
    const { beta1, beta2, epsilon, weightDecay } = this.settings;
    const correction1 = 1 - beta1 ** this.step;
    const correction2 = 1 - beta2 ** this.step;
    const m = this.hostMoment(this.firstMoment, name, param);
    const v = this.hostMoment(this.secondMoment, name, param);
    const decay = param.rank >= 2 ? weightDecay : 0;
    const [next] = writeRows([param.shape], ([out]) => {
      const p = readRows(param);
      const gv = readRows(grad);
      for (let i = 0; i < out.length; i++) {
        const gi = gv[i] * gradScale;
        m[i] = beta1 * m[i] + (1 - beta1) * gi;
        v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
        const update = m[i] / correction1 / (Math.sqrt(v[i] / correction2) + epsilon);
        // Decoupled decay: p ← p − lr·(update + λ·p), the decay not scaled by the moments.
        out[i] = p[i] - lr * (update + decay * p[i]);
      }
    });
    param.assign(next as tf.Tensor);
    next.dispose();
  }

  private updateWithTfOps(name: string, param: tf.Variable, grad: tf.Tensor, lr: number, gradScale: number): void {
    const { beta1, beta2, epsilon, weightDecay } = this.settings;
    const correction1 = 1 - beta1 ** this.step;
    const correction2 = 1 - beta2 ** this.step;
    tf.tidy(() => {
      const g = gradScale === 1 ? grad : tf.mul(grad, gradScale);
      const m = this.tfMoment(this.firstMoment, name, param);
      const v = this.tfMoment(this.secondMoment, name, param);
      m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
      v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
      const update = tf.div(tf.div(m, correction1), tf.add(tf.sqrt(tf.div(v, correction2)), epsilon));
      const decay = param.rank >= 2 ? weightDecay : 0;
      param.assign(tf.sub(param, tf.mul(tf.add(update, tf.mul(param, decay)), lr)));
    });
  }

  /** Moments as named host arrays (`m.<name>`, `v.<name>`) for a `.safetensors` checkpoint. */
  stateArrays(): Map<string, NamedArray> {
    const out = new Map<string, NamedArray>();
    for (const [prefix, moments] of [['m', this.firstMoment], ['v', this.secondMoment]] as const) {
      for (const [name, t] of moments) {
        out.set(`${prefix}.${name}`, t instanceof Float32Array ? { shape: this.shapes.get(name)!, data: t } : { shape: t.shape, data: t.dataSync() as Float32Array });
      }
    }
    return out;
  }

  /** Restores moments saved by `stateArrays` and the step count. */
  loadState(arrays: Map<string, NamedArray>, step: number): void {
    this.dispose();
    for (const [key, a] of arrays) {
      const target = key.startsWith('m.') ? this.firstMoment : key.startsWith('v.') ? this.secondMoment : null;
      if (!target) throw new Error(`optimizer state holds an unexpected tensor '${key}'`);
      const name = key.slice(2);
      this.shapes.set(name, a.shape);
      target.set(name, this.where === 'host' ? Float32Array.from(a.data) : tf.variable(tf.tensor(a.data, a.shape, 'float32'), false));
    }
    this.step = step;
  }

  dispose(): void {
    for (const t of [...this.firstMoment.values(), ...this.secondMoment.values()]) if (!(t instanceof Float32Array)) t.dispose();
    this.firstMoment.clear();
    this.secondMoment.clear();
  }

  private hostMoment(store: Map<string, Float32Array | tf.Variable>, name: string, like: tf.Variable): Float32Array {
    let m = store.get(name);
    if (!m) {
      m = new Float32Array(like.size);
      store.set(name, m);
      this.shapes.set(name, like.shape);
    }
    if (!(m instanceof Float32Array)) throw new Error(`AdamW: moment of '${name}' is not on the host`);
    return m;
  }

  private tfMoment(store: Map<string, Float32Array | tf.Variable>, name: string, like: tf.Variable): tf.Variable {
    let m = store.get(name);
    if (!m) {
      m = tf.keep(tf.variable(tf.zerosLike(like), false));
      store.set(name, m);
      this.shapes.set(name, like.shape);
    }
    if (m instanceof Float32Array) throw new Error(`AdamW: moment of '${name}' is not a tensor`);
    return m;
  }
}
