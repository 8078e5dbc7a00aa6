/**
 * `GatherV2` for tfjs's `wasm` backend (4.22): a host-side replacement found by profiling a
 * training step after the matMul fix (BENCHMARKS.md, "wasm backend: threads and kernel patches").
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapView } from '../../heap-io.ts';
import type { KernelArgs, KernelFunc, TensorInfo } from './kernel-utils.ts';

/**
 * `GatherV2` on the host: copies whole slices (rows, for an embedding lookup) instead of the wasm
 * kernel's strided element loop, ~10× faster for rows of a few hundred floats. Same index check
 * and error as the cpu and wasm kernels.
 */
export function patchedGather(original: KernelFunc): KernelFunc {
  return (args: KernelArgs) => {
    const backend = args.backend as BackendWasm;
    const { x, indices } = args.inputs as { x: TensorInfo; indices: TensorInfo };
    const { axis, batchDims } = args.attrs as { axis: number; batchDims: number };
    if ((x.dtype !== 'float32' && x.dtype !== 'int32' && x.dtype !== 'bool') || indices.dtype !== 'int32') return original(args);
    const parsedAxis = tf.util.parseAxisParam(axis, x.shape)[0];
    const axisDim = x.shape[parsedAxis];
    const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(x, indices, parsedAxis, batchDims);
    const out = backend.makeOutput(info.outputShape, x.dtype);
    const src = heapView(backend, x);
    const ids = heapView(backend, indices) as Int32Array;
    const dst = heapView(backend, out);
    const perBatch = ids.length / info.batchSize;
    const slice = info.sliceSize;
    let o = 0;
    for (let b = 0; b < info.batchSize; b++) {
      for (let outerIndex = 0; outerIndex < info.outerSize; outerIndex++) {
        const base = (b * info.outerSize + outerIndex) * info.dimSize;
        for (let i = 0; i < perBatch; i++) {
          const index = ids[b * perBatch + i];
          if (!(index >= 0 && index <= axisDim - 1)) {
            backend.disposeData(out.dataId);
            throw new Error(`GatherV2: the index value ${index} is not in [0, ${axisDim - 1}]`);
          }
          const from = (base + index) * slice;
          if (slice < 32) for (let j = 0; j < slice; j++) dst[o + j] = src[from + j];
          else dst.set(src.subarray(from, from + slice), o);
          o += slice;
        }
      }
    }
    return out;
  };
}
