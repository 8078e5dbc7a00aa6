/**
 * The three layer-level measures, each a closure that does one call and reads one value of its
 * result before returning (so the clock around it sees finished work):
 *   expert_forward          dispatch, FFN and ZC experts, combine (router excluded) — paper §7
 *   layer_forward           router + the above
 *   layer_forward_backward  the layer's forward and the gradient of ⟨y, dy⟩ w.r.t. every
 *                           parameter and x
 * wasm, blas, cpu and tensorflow execute kernels eagerly and synchronously; on webgpu reading a
 * value of dx and of dW_r waits for the whole backward. Parameter gradients stay on the backend, as
 * a training step keeps them. Only one value is read: copying a whole (N, D) output to the host
 * costs a fresh allocation per call (BENCHMARKS.md, "Fourth pass"), which the PyTorch peer,
 * whose tensors are host memory, never pays.
 */
import * as tf from '@tensorflow/tfjs-core';
import { trainingContext } from '@moepp/core';
import type { Measure } from './bench-options.ts';
import type { BenchLayer, RoutingCase } from './layer-fixture.ts';

export type LayerMeasure = Exclude<Measure, 'train_step'>;

/** Every measure times what a training step runs. */
const context = () => trainingContext('bench', 0);

/** Host results of one call, for the equivalence check against the PyTorch peer. */
export interface LayerResults {
  output?: Float32Array;
  dx?: Float32Array;
  grads?: Map<string, Float32Array>;
}

/**
 * One call of `measure` on `layer` with `c`'s inputs.
 *
 * @example
 * const run = layerCall('expert_forward', pair.moepp, c); run(); // times one expert forward
 */
export function layerCall(measure: LayerMeasure, layer: BenchLayer, c: RoutingCase): () => void {
  if (measure === 'expert_forward') {
    return () => {
      const y = tf.tidy(() => layer.layer.combine(c.x as tf.Tensor2D, c.routing));
      readOneValue(y);
      y.dispose();
    };
  }
  if (measure === 'layer_forward') {
    return () => {
      const y = tf.tidy(() => layer.layer.forward(c.x as tf.Tensor2D, c.previousLogits, context()).output);
      readOneValue(y);
      y.dispose();
    };
  }
  return () => {
    const { dx, dWr, rest } = forwardBackward(layer, c);
    readOneValue(dx);
    readOneValue(dWr);
    tf.dispose([dx, dWr, ...rest]);
  };
}

/** Reads t's first value to the host: it exists only once every kernel t depends on has run. */
export function readOneValue(t: tf.Tensor): void {
  const first = tf.tidy(() => tf.slice(tf.reshape(t, [-1]), 0, 1));
  first.dataSync();
  first.dispose();
}

function forwardBackward(layer: BenchLayer, c: RoutingCase): { dx: tf.Tensor; dWr: tf.Tensor; rest: tf.Tensor[]; grads: Record<string, tf.Tensor> } {
  const { value, grads } = tf.variableGrads(
    () => tf.sum(tf.mul(layer.layer.forward(c.x as tf.Tensor2D, c.previousLogits, context()).output, c.dy)) as tf.Scalar,
    [c.x, ...layer.variables],
  );
  value.dispose();
  const dx = grads[c.x.name];
  const wR = layer.layer.params.router.wR;
  if (wR === null) throw new Error('the benchmark times layers with a router projection W_r');
  const dWr = grads[wR.name];
  const rest = Object.entries(grads).filter(([n]) => n !== c.x.name && n !== wR.name).map(([, g]) => g);
  return { dx, dWr, rest, grads };
}

/** One untimed call that keeps its results on the host (for the peer's equivalence check). */
export function layerResults(measure: LayerMeasure, layer: BenchLayer, c: RoutingCase, names: Map<string, tf.Variable>): LayerResults {
  if (measure === 'expert_forward') {
    const y = tf.tidy(() => layer.layer.combine(c.x as tf.Tensor2D, c.routing));
    const output = y.dataSync() as Float32Array;
    y.dispose();
    return { output: Float32Array.from(output) };
  }
  if (measure === 'layer_forward') {
    const y = tf.tidy(() => layer.layer.forward(c.x as tf.Tensor2D, c.previousLogits, context()).output);
    const output = Float32Array.from(y.dataSync() as Float32Array);
    y.dispose();
    return { output };
  }
  const { grads } = forwardBackward(layer, c);
  const out = new Map<string, Float32Array>();
  for (const [name, v] of names) {
    const g = grads[v.name];
    if (g) out.set(name, Float32Array.from(g.dataSync() as Float32Array));
  }
  const dx = Float32Array.from(grads[c.x.name].dataSync() as Float32Array);
  tf.dispose(Object.values(grads));
  return { dx, grads: out };
}

/**
 * Extra tensor bytes a call holds at its peak over what was allocated before it (the layer's
 * parameters and inputs are already there): the engine's byte count after each kernel, maximum.
 */
export async function transientPeakBytes(run: () => void): Promise<number> {
  const before = tf.memory().numBytes;
  const info = await tf.profile(run);
  const peak = info.kernels.length ? info.peakBytes : before;
  return Math.max(0, peak - before);
}
