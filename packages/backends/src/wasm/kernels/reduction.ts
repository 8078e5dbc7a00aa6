/**
 * `Sum` and `Mean` for tfjs's `wasm` backend (4.22): host-side replacements found by profiling a
 * training step after the matMul fix (BENCHMARKS.md, "wasm backend: threads and kernel patches").
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapView } from '../../heap-io.ts';
import { size, type KernelArgs, type KernelFunc, type TensorInfo } from './kernel-utils.ts';

/**
 * `Sum` / `Mean` on the host when the reduced axes are one contiguous block that is not at the
 * end (`sum(x, 0)` of a bias gradient, `mean(x, 1)` of a (B, T, D) tensor). The wasm kernel first
 * transposes the reduced axes to the end (slow, see `Transpose`); summing whole rows in place
 * avoids that. Float64 accumulators, as the cpu backend's JS numbers. Reductions over trailing
 * axes (already fast) and anything not float32 keep the original kernel.
 */
export function patchedReduction(original: KernelFunc, mean: boolean): KernelFunc {
  return (args: KernelArgs) => {
    const backend = args.backend as BackendWasm;
    const { x } = args.inputs as { x: TensorInfo };
    const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
    if (x.dtype !== 'float32' || size(x.shape) === 0) return original(args);
    const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((p, q) => p - q);
    const first = axes[0];
    const last = axes[axes.length - 1];
    const contiguous = axes.length > 0 && last - first === axes.length - 1;
    if (!contiguous || last === x.shape.length - 1) return original(args);
    const outer = size(x.shape.slice(0, first));
    const reduced = size(x.shape.slice(first, last + 1));
    const inner = size(x.shape.slice(last + 1));
    const outShape = keepDims ? x.shape.map((d, i) => (i >= first && i <= last ? 1 : d)) : x.shape.filter((_, i) => i < first || i > last);
    const out = backend.makeOutput(outShape, 'float32');
    const src = heapView(backend, x);
    const dst = heapView(backend, out);
    const acc = new Float64Array(inner);
    const scale = mean ? 1 / reduced : 1;
    for (let o = 0; o < outer; o++) {
      acc.fill(0);
      let r = 0;
      // Four rows per pass: a quarter of the accumulator traffic (2.5× faster in V8 here).
      for (; r + 3 < reduced; r += 4) {
        const r0 = (o * reduced + r) * inner;
        const r1 = r0 + inner;
        const r2 = r1 + inner;
        const r3 = r2 + inner;
        for (let j = 0; j < inner; j++) acc[j] += src[r0 + j] + src[r1 + j] + (src[r2 + j] + src[r3 + j]);
      }
      for (; r < reduced; r++) {
        const row = (o * reduced + r) * inner;
        for (let j = 0; j < inner; j++) acc[j] += src[row + j];
      }
      for (let j = 0; j < inner; j++) dst[o * inner + j] = acc[j] * scale;
    }
    return out;
  };
}
