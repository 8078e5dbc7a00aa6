/**
 * Weights packed once for forward-only products on `blas`: evaluation, inference and the
 * benchmark's forward measures, where the same weight meets many inputs. `cblas_sgemm` packs its
 * right operand into OpenBLAS's blocked layout inside every call; for an FFN expert with few rows
 * that pass over a whole (D, I) weight, streamed from memory, is a large share of the call. With
 * `packWeights`, `BatchMatMul` (and `_FusedMatMul`) use the addon's packed kernel
 * (native/src/packed_gemm.h) wherever the right operand is one of the packed tensors, untransposed
 * and unbatched, and the left operand untransposed. XNNPACK does the same under plain `wasm`.
 *
 * The packs are copies: they are valid only while the weights keep their values. tfjs tensors are
 * immutable, and the one kernel that writes a parameter in place (the addon's AdamW) refuses a
 * packed one, so training with packs alive fails loudly instead of running stale weights.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapView } from '../heap-io.ts';
import type { BlasAddon } from './addon.ts';
import { blasKernelsAddon } from './blas-kernels.ts';

/** One packed weight: (k, n) and its panels (packed_gemm.h's layout). */
export interface PackedWeight {
  k: number;
  n: number;
  panels: Float32Array;
}

/** Packs by the weight's dataId, with how many live handles hold each. */
const packs = new Map<object, { pack: PackedWeight; holders: number }>();

/** What `packWeights` did: how many weights it packed, their bytes, or why it packed none. */
export interface PackedWeights {
  count: number;
  bytes: number;
  /** Why nothing was packed (null when something was). */
  reason: string | null;
  /** Drops this handle's packs (idempotent). */
  dispose(): void;
}

/** Floats of the packed form of a (k, n) weight: n rounded up to whole 16-column panels. */
export function packedSize(k: number, n: number): number {
  return Math.ceil(n / 16) * 16 * k;
}

/** Why products cannot use packed weights now, or null when they can. */
export function packedWeightsUnavailable(addon: BlasAddon | null = blasKernelsAddon()): string | null {
  if (!addon || tf.getBackend() !== 'wasm') return 'the blas kernels are not registered';
  if (addon.gpuProducts) return 'the products run on the GPU (cuda), which packed weights do not reach';
  if (!addon.packedGemmSupported()) return 'this CPU lacks AVX2/FMA, which the packed kernel needs';
  if (addon.getNumThreads() !== 1) return `OpenBLAS runs ${addon.getNumThreads()} threads and the packed kernel one, so OpenBLAS's own packing is faster`;
  return null;
}

/**
 * Packs every 2-D float32 tensor of `weights` for the `blas` products, until `dispose()`. Where
 * packing does not apply (another backend, more than one OpenBLAS thread, no AVX2), packs nothing
 * and says why; products then run as before.
 *
 * @example
 * const packed = packWeights(layer.variables);
 * try { evaluate(); } finally { packed.dispose(); }
 */
export function packWeights(weights: readonly tf.Tensor[]): PackedWeights {
  const addon = blasKernelsAddon();
  const reason = packedWeightsUnavailable(addon);
  const held: object[] = [];
  let bytes = 0;
  if (!reason && addon) {
    const backend = tf.backend() as unknown as BackendWasm;
    for (const w of weights) {
      if (w.rank !== 2 || w.dtype !== 'float32' || held.includes(w.dataId)) continue;
      const [k, n] = w.shape as [number, number];
      const entry = packs.get(w.dataId);
      if (entry) entry.holders++;
      else {
        const panels = new Float32Array(packedSize(k, n));
        addon.packWeight(heapView(backend, w) as Float32Array, k, n, panels);
        packs.set(w.dataId, { pack: { k, n, panels }, holders: 1 });
      }
      held.push(w.dataId);
      bytes += packedSize(k, n) * 4;
    }
  }
  let disposed = false;
  return {
    count: held.length,
    bytes,
    reason: reason ?? (held.length === 0 ? 'no 2-D float32 weight among those given' : null),
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const id of held) {
        const entry = packs.get(id);
        if (entry && --entry.holders === 0) packs.delete(id);
      }
    },
  };
}

/** The pack of the tensor with this dataId, if one is held. */
export function packedWeightOf(dataId: object): PackedWeight | undefined {
  return packs.get(dataId)?.pack;
}

/**
 * The pack a product may use now for the tensor with this dataId as its (k, n) right operand: held,
 * of that shape (the same data under another shape, a reshape, is not the packed weight),
 * OpenBLAS on one thread (with more, OpenBLAS's own packing is the faster choice), and the
 * products not on the GPU (`cuda`).
 */
export function usablePack(addon: BlasAddon, dataId: object, k: number, n: number): PackedWeight | undefined {
  const pack = packs.get(dataId)?.pack;
  return pack && pack.k === k && pack.n === n && addon.getNumThreads() === 1 && !addon.gpuProducts ? pack : undefined;
}
