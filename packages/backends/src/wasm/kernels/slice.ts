/**
 * `Slice` for tfjs's `wasm` backend (4.22): a host-side replacement found by profiling a training
 * step after the matMul fix (BENCHMARKS.md, "wasm backend: threads and kernel patches"). Its heap
 * copy is shared with `SplitV` (split-v.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapView, type HeapArray } from '../../heap-io.ts';
import { heapDtype, size, type KernelArgs, type KernelFunc, type TensorInfo } from './kernel-utils.ts';

/** Copies the box `begin`…`begin + size` of a row-major `shape` array into `dst`, run by run. */
function copyBox(src: HeapArray, shape: number[], begin: number[], boxSize: number[], dst: HeapArray): void {
  const rank = shape.length;
  if (rank === 0) {
    dst[0] = src[0];
    return;
  }
  const strides = [...tf.util.computeStrides(shape), 1];
  // Trailing axes taken whole are contiguous with the last partial one: copy them as one run.
  let k = rank - 1;
  while (k > 0 && begin[k] === 0 && boxSize[k] === shape[k]) k--;
  const run = boxSize[k] * strides[k];
  const count = size(boxSize.slice(0, k));
  const index = new Array<number>(k).fill(0);
  let o = 0;
  for (let c = 0; c < count; c++) {
    let from = begin[k] * strides[k];
    for (let d = 0; d < k; d++) from += (begin[d] + index[d]) * strides[d];
    // Short runs: a plain loop beats creating a subarray per run.
    if (run < 32) for (let j = 0; j < run; j++) dst[o + j] = src[from + j];
    else dst.set(src.subarray(from, from + run), o);
    o += run;
    for (let d = k - 1; d >= 0; d--) {
      if (++index[d] < boxSize[d]) break;
      index[d] = 0;
    }
  }
}

/** A slice of `x` as a new tensor, read straight from the heap. */
export function sliceOnHeap(x: TensorInfo, begin: number[], boxSize: number[], backend: BackendWasm): TensorInfo {
  const out = backend.makeOutput(boxSize, x.dtype);
  if (size(boxSize) > 0) copyBox(heapView(backend, x), x.shape, begin, boxSize, heapView(backend, out));
  return out;
}

/**
 * `Slice` without the wasm kernel's `backend.readSync(x)`, which copies the *whole* input out of
 * the heap before taking the slice (a (4096, 128) tensor for a 16-row slice).
 */
export function patchedSlice(original: KernelFunc): KernelFunc {
  return (args: KernelArgs) => {
    const backend = args.backend as BackendWasm;
    const { x } = args.inputs as { x: TensorInfo };
    const { begin, size: sliceSize } = args.attrs as { begin: number | number[]; size?: number | number[] };
    if (!heapDtype(x.dtype)) return original(args);
    const [begin_, size_] = tf.slice_util.parseSliceParams(x, begin, sliceSize);
    return sliceOnHeap(x, begin_, size_, backend);
  };
}
