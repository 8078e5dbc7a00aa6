/**
 * One SwiGLU FFN expert's forward on its routed rows in a single native call, where its three
 * weights are packed (`packWeights`): the host executor's forward-only path for FFN experts on
 * `blas`. Through tf ops the same expert is a row gather, three products, the activation and the
 * weighted scatter, each a dispatch with a fresh output tensor, per expert and per call; the
 * native call (native/src/packed_swiglu_expert.h) runs the same functions in the same order on
 * scratch kept in cache, so it gives the same bits as the tf ops on the same packs.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { blasKernelsAddon } from './blas-kernels.ts';
import { usablePack } from './packed-weights.ts';

/** A SwiGLU expert's weights: gate and up (D, I), down (I, D). */
export interface SwiGluExpertWeights {
  wGate: tf.Tensor;
  wUp: tf.Tensor;
  wDown: tf.Tensor;
}

/**
 * out[index[i]] += w[weightIndex[i]] · W_down(silu(x[index[i]] W_gate) ⊙ x[index[i]] W_up) for
 * each slot whose weight is not 0, and true; or false, changing nothing, where this path does not
 * apply now (a weight without a live pack, the `blas` kernels not registered, OpenBLAS on more than
 * one thread: where the products would not use the packs either). x and out are host views of
 * (N, D) rows (`readRows`), w of the routing weights; nothing is allocated, so the views stay valid.
 *
 * @example
 * if (!addPackedSwiGluExpert(out, x, w, index, weightIndex, params)) runWithTfOps();
 */
export function addPackedSwiGluExpert(out: Float32Array, x: Float32Array, w: Float32Array, index: Int32Array, weightIndex: Int32Array, weights: SwiGluExpertWeights): boolean {
  const addon = blasKernelsAddon();
  if (!addon || weights.wGate.rank !== 2) return false;
  const [d, hidden] = weights.wGate.shape as [number, number];
  const gate = usablePack(addon, weights.wGate.dataId, d, hidden);
  const up = gate && usablePack(addon, weights.wUp.dataId, d, hidden);
  const down = up && usablePack(addon, weights.wDown.dataId, hidden, d);
  if (!gate || !up || !down) return false;
  addon.packedSwiGluExpert(x, index, weightIndex, w, gate.panels, up.panels, down.panels, d, hidden, out);
  return true;
}
