/**
 * `UnsortedSegmentSum` for tfjs's `wasm` backend (4.22), which has none: the gradient of
 * `tf.gather` needs it, so without it a gather-based model trains on `cpu` but fails on `wasm`.
 * Computed on the host over the wasm heap.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapView } from '../../heap-io.ts';
import { size, type KernelArgs, type KernelFunc, type TensorInfo } from './kernel-utils.ts';

/**
 * `UnsortedSegmentSum` for wasm, on the host: `out[s, …] = Σ_{i: ids[i] = s} x[i, …]`. `ids` covers
 * the leading axes of `x`; ids outside `[0, numSegments)` are dropped, as the cpu backend does.
 */
export const unsortedSegmentSum: KernelFunc = (args: KernelArgs) => {
  const backend = args.backend as BackendWasm;
  const { x, segmentIds } = args.inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = args.attrs as { numSegments: number };
  if (x.dtype !== 'float32' && x.dtype !== 'int32') throw new Error(`UnsortedSegmentSum (wasm patch): unsupported dtype ${x.dtype}`);
  if (segmentIds.dtype !== 'int32') throw new Error(`UnsortedSegmentSum (wasm patch): segmentIds must be int32, got ${segmentIds.dtype}`);
  const idRank = segmentIds.shape.length;
  tf.util.assert(
    segmentIds.shape.every((d, i) => d === x.shape[i]),
    () => `UnsortedSegmentSum: segmentIds shape ${segmentIds.shape} must be a prefix of x shape ${x.shape}`,
  );
  const inner = size(x.shape.slice(idRank));
  const out = backend.makeOutput([numSegments, ...x.shape.slice(idRank)], x.dtype);
  // Views after the allocation: it may have grown (and replaced) the heap.
  const dst = heapView(backend, out);
  const src = heapView(backend, x);
  const ids = heapView(backend, segmentIds) as Int32Array;
  dst.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const from = i * inner;
    const to = s * inner;
    for (let j = 0; j < inner; j++) dst[to + j] += src[from + j];
  }
  return out;
};
