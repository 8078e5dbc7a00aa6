/**
 * `SplitV` for tfjs's `wasm` backend (4.22): a host-side replacement found by profiling a training
 * step after the matMul fix (BENCHMARKS.md, "wasm backend: threads and kernel patches").
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { sliceOnHeap } from './slice.ts';
import { heapDtype, type KernelArgs, type KernelFunc, type TensorInfo } from './kernel-utils.ts';

/** `SplitV` from heap slices (the wasm kernel calls its own copying `Slice` once per part). */
export function patchedSplitV(original: KernelFunc): KernelFunc {
  return (args: KernelArgs) => {
    const backend = args.backend as BackendWasm;
    const { x } = args.inputs as { x: TensorInfo };
    const { numOrSizeSplits, axis } = args.attrs as { numOrSizeSplits: number | number[]; axis: number };
    if (!heapDtype(x.dtype)) return original(args);
    const parsedAxis = tf.util.parseAxisParam(axis, x.shape)[0];
    const splitSizes = tf.backend_util.prepareSplitSize(x, numOrSizeSplits, parsedAxis);
    const begin = new Array<number>(x.shape.length).fill(0);
    return splitSizes.map((s) => {
      const box = [...x.shape];
      box[parsedAxis] = s;
      const part = sliceOnHeap(x, [...begin], box, backend);
      begin[parsedAxis] += s;
      return part;
    });
  };
}
