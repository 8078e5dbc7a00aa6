/**
 * `Transpose` for tfjs's `wasm` backend (4.22): a host-side replacement found by profiling a
 * training step after the matMul fix (BENCHMARKS.md, "wasm backend: threads and kernel patches").
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapView } from '../../heap-io.ts';
import type { KernelArgs, KernelFunc, TensorInfo } from './kernel-utils.ts';

/**
 * `Transpose` on the host when it swaps the last two axes (after dropping size-1 axes, as tfjs
 * does) — the transposes of matMul gradients and of tied embeddings. The wasm kernel copies
 * element by element (~10 ns/element); a cache-blocked copy is 2–3× faster. Other permutations
 * keep the original kernel.
 */
export function patchedTranspose(original: KernelFunc): KernelFunc {
  return (args: KernelArgs) => {
    const backend = args.backend as BackendWasm;
    const { x } = args.inputs as { x: TensorInfo };
    const { perm } = args.attrs as { perm: number[] };
    if (x.dtype === 'string' || x.dtype === 'complex64') return original(args);
    const kept = perm.filter((axis) => x.shape[axis] !== 1);
    const rank = kept.length;
    // Rank the kept axes (perm values of size > 1) and test for "identity, then one swap at the end".
    const order = [...kept].sort((p, q) => p - q);
    const swapsLastTwo = rank >= 2 && kept.every((axis, i) => (i < rank - 2 ? axis === order[i] : axis === order[i === rank - 2 ? rank - 1 : rank - 2]));
    if (!swapsLastTwo) return original(args);
    const rows = x.shape[order[rank - 2]];
    const cols = x.shape[order[rank - 1]];
    const outShape = perm.map((axis) => x.shape[axis]);
    const out = backend.makeOutput(outShape, x.dtype);
    const src = heapView(backend, x);
    const dst = heapView(backend, out);
    const block = 16;
    for (let base = 0; base < src.length; base += rows * cols) {
      for (let i0 = 0; i0 < rows; i0 += block) {
        const i1 = Math.min(rows, i0 + block);
        for (let j0 = 0; j0 < cols; j0 += block) {
          const j1 = Math.min(cols, j0 + block);
          for (let i = i0; i < i1; i++) {
            const row = base + i * cols;
            for (let j = j0; j < j1; j++) dst[base + j * rows + i] = src[row + j];
          }
        }
      }
    }
    return out;
  };
}
