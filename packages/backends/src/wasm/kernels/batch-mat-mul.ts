/**
 * `BatchMatMul` for tfjs's `wasm` backend (4.22), measured before and after in BENCHMARKS.md
 * ("wasm backend: threads and kernel patches").
 *
 * The wasm `BatchMatMul` (and `_FusedMatMul`) kernel has a fast path — XNNPACK's fully-connected
 * operator, multi-threaded — only for a plain product of two batch-1 operands. Everything else
 * (`transposeA`, `transposeB`, any batch > 1) falls into a naive blocked triple loop that runs at
 * ~0.5–2 GFLOP/s, 10–50× below the fast path. Every matMul gradient uses the transpose flags, so
 * a training step spent most of its time there. The patched kernel
 *   - transposes explicitly and multiplies without flags;
 *   - folds the batch of `a` into its rows when `b` is shared across the batch (`x(B,T,D)·W(D,N)`);
 *   - otherwise runs the fast path once per batch entry (attention's `(B,H,T,d)` products), which
 *     also makes two-way batch broadcasting (`(2,1,m,k)·(1,3,k,n)`) right: tfjs 4.22's own wasm and
 *     cpu kernels return only max(2,3) of the 6 products there.
 * The planning and the per-entry loop are shared with `_FusedMatMul` (fused-mat-mul.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount, type BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapView } from '../../heap-io.ts';
import { broadcastBatchIndex, matMulShapes, size, withShape, type KernelArgs, type KernelFunc, type TensorInfo } from './kernel-utils.ts';

/**
 * With more than one XNNPACK thread, each fast-path call pays a thread-pool wake-up and join
 * (0.1–0.6 ms per call measured here, more when other processes keep the cores busy), so batch
 * entries smaller than this many multiply-adds stay in the original loop. With one thread the
 * per-entry fast path wins from the smallest attention shapes up (3–5×, BENCHMARKS.md).
 */
const PER_ENTRY_MIN_MACS_THREADED = 1 << 20;

/** Swaps the last two axes with the registered (patched) `Transpose` kernel; the caller owns the result. */
function transposeLastTwo(x: TensorInfo, backend: BackendWasm): TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  const transpose = tf.getKernel(tf.Transpose, 'wasm').kernelFunc;
  return transpose({ inputs: { x }, backend, attrs: { perm } }) as TensorInfo;
}

/** Copies `count` elements of `src` from element `start` into a new tensor of `shape`. */
function copyRange(src: TensorInfo, start: number, shape: number[], backend: BackendWasm): TensorInfo {
  const out = backend.makeOutput(shape, src.dtype);
  const n = size(shape);
  (heapView(backend, out) as Float32Array).set((heapView(backend, src) as Float32Array).subarray(start, start + n));
  return out;
}

export interface MatMulPlan {
  /** `a` and `b` with the transposes applied (the caller frees `temps`). */
  a: TensorInfo;
  b: TensorInfo;
  temps: TensorInfo[];
  outBatch: number[];
  batchA: number;
  batchB: number;
  m: number;
  k: number;
  n: number;
}

/** Applies the transposes explicitly; tfjs's shape checks and messages are kept. */
export function planMatMul(a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean, backend: BackendWasm): MatMulPlan {
  const { outBatch, m, k, n } = matMulShapes(a, b, transposeA, transposeB);
  const temps: TensorInfo[] = [];
  const a2 = transposeA ? transposeLastTwo(a, backend) : a;
  const b2 = transposeB ? transposeLastTwo(b, backend) : b;
  if (transposeA) temps.push(a2);
  if (transposeB) temps.push(b2);
  return { a: a2, b: b2, temps, outBatch, batchA: size(a.shape.slice(0, -2)), batchB: size(b.shape.slice(0, -2)), m, k, n };
}

/**
 * The product as one fast call when `b` is shared by every batch entry, else one fast call per
 * entry. `call` runs the original kernel on two rank-3 batch-1 operands with plain flags.
 */
export function fastProduct(plan: MatMulPlan, backend: BackendWasm, call: (a: TensorInfo, b: TensorInfo) => TensorInfo): TensorInfo {
  const { a, b, outBatch, batchA, batchB, m, k, n } = plan;
  if (batchB === 1) {
    // b is shared: one (batchA·m, k)·(k, n) product.
    const out = call(withShape(a, [1, batchA * m, k]), withShape(b, [1, k, n]));
    return { ...out, shape: [...outBatch, m, n] };
  }
  const out = backend.makeOutput([...outBatch, m, n], 'float32');
  const batchShapeA = a.shape.slice(0, -2);
  const batchShapeB = b.shape.slice(0, -2);
  for (let i = 0; i < size(outBatch); i++) {
    const ai = broadcastBatchIndex(i, outBatch, batchShapeA);
    const bi = broadcastBatchIndex(i, outBatch, batchShapeB);
    const aEntry = batchA === 1 ? withShape(a, [1, m, k]) : copyRange(a, ai * m * k, [1, m, k], backend);
    const bEntry = copyRange(b, bi * k * n, [1, k, n], backend);
    const part = call(aEntry, bEntry);
    (heapView(backend, out) as Float32Array).set(heapView(backend, part) as Float32Array, i * m * n);
    backend.disposeData(part.dataId);
    backend.disposeData(bEntry.dataId);
    if (aEntry.dataId !== a.dataId) backend.disposeData(aEntry.dataId);
  }
  return out;
}

/**
 * `BatchMatMul` that reaches XNNPACK's fast path: explicit transposes, a shared `b` folded into
 * one product, otherwise one fast product per batch entry (except small entries on a thread pool).
 */
export function patchedBatchMatMul(original: KernelFunc): KernelFunc {
  return (args: KernelArgs) => {
    const backend = args.backend as BackendWasm;
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return original(args); // its own error
    const plan = planMatMul(a, b, transposeA, transposeB, backend);
    const plain = { transposeA: false, transposeB: false };
    try {
      const { batchA, batchB, m, k, n } = plan;
      // tfjs's own kernels (wasm and cpu) size the output by max(batchA, batchB), so they are wrong
      // when both operands broadcast (a (2,1,…) · b (1,3,…)); the per-entry path is right there.
      const oneSided = batchA === batchB || batchA === 1;
      if (batchB > 1 && oneSided && getThreadsCount() > 1 && m * k * n < PER_ENTRY_MIN_MACS_THREADED) {
        // Small entries on a thread pool: waking the pool per entry costs more than the loop.
        return original({ inputs: { a: plan.a, b: plan.b }, backend, attrs: plain });
      }
      return fastProduct(plan, backend, (x, y) => original({ inputs: { a: x, b: y }, backend, attrs: plain }) as TensorInfo);
    } finally {
      for (const t of plan.temps) backend.disposeData(t.dataId);
    }
  };
}
