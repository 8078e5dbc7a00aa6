/**
 * Kernel re-registrations for tfjs's `wasm` backend (4.22), each measured before and after in
 * BENCHMARKS.md ("wasm backend: threads and kernel patches").
 *
 * The wasm `BatchMatMul` (and `_FusedMatMul`) kernel has a fast path — XNNPACK's fully-connected
 * operator, multi-threaded — only for a plain product of two batch-1 operands. Everything else
 * (`transposeA`, `transposeB`, any batch > 1) falls into a naive blocked triple loop that runs at
 * ~0.5–2 GFLOP/s, 10–50× below the fast path. Every matMul gradient uses the transpose flags, so
 * a training step spent most of its time there. The patched kernels
 *   - transpose explicitly and multiply without flags;
 *   - fold the batch of `a` into its rows when `b` is shared across the batch (`x(B,T,D)·W(D,N)`);
 *   - otherwise run the fast path once per batch entry (attention's `(B,H,T,d)` products), which
 *     also makes two-way batch broadcasting (`(2,1,m,k)·(1,3,k,n)`) right: tfjs 4.22's own wasm and
 *     cpu kernels return only max(2,3) of the 6 products there.
 * Smaller host-side replacements, found by profiling a training step after that fix:
 *   - `Transpose` of the last two axes: a cache-blocked copy (the wasm one goes element by element);
 *   - `Sum` / `Mean` over leading or middle axes: summed in place (the wasm one transposes first);
 *   - `Slice` / `SplitV`: read from the heap (the wasm one first copies the whole input out);
 *   - `GatherV2`: whole-slice copies (the wasm one loops element by element).
 * The wasm backend also has no `UnsortedSegmentSum`, which the gradient of `tf.gather` needs;
 * it is added here, computed on the host over the wasm heap.
 *
 * Patches change speed only: each is checked against the `cpu` backend in the tests beside this
 * file. Anything outside a patch's fast case (other dtypes, other permutations, …) is handed to
 * the original kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount, type BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type TensorInfo = tf.TensorInfo;
type KernelFunc = tf.KernelConfig['kernelFunc'];
type KernelArgs = Parameters<KernelFunc>[0];

/** Marks our kernel functions, so that patching again is recognised and skipped. */
const PATCHED = Symbol.for('moepp.wasmKernelPatch');
type MarkedKernelFunc = KernelFunc & { [PATCHED]?: string };

/** Names of the kernels `patchWasmKernels` replaces or adds, in the order it applies them. */
export const WASM_KERNEL_PATCHES = ['BatchMatMul', '_FusedMatMul', 'Transpose', 'Sum', 'Mean', 'Slice', 'SplitV', 'GatherV2', 'UnsortedSegmentSum'] as const;
export type WasmKernelPatch = (typeof WASM_KERNEL_PATCHES)[number];

/**
 * With more than one XNNPACK thread, each fast-path call pays a thread-pool wake-up and join
 * (0.1–0.6 ms per call measured here, more when other processes keep the cores busy), so batch
 * entries smaller than this many multiply-adds stay in the original loop. With one thread the
 * per-entry fast path wins from the smallest attention shapes up (3–5×, BENCHMARKS.md).
 */
const PER_ENTRY_MIN_MACS_THREADED = 1 << 20;

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

type HeapArray = Float32Array | Int32Array | Uint8Array;

/** A view of a tensor's data on the wasm heap (valid until the next allocation). */
function heapView(backend: BackendWasm, info: TensorInfo): HeapArray {
  // The threaded build can grow its shared memory from any thread; `wasmMemory.buffer` is always
  // the current one, while `HEAPU8` (used by `typedArrayFromHeap`) may lag behind.
  const module = backend.wasm as unknown as { wasmMemory?: { buffer: ArrayBufferLike }; HEAPU8: Uint8Array };
  const buffer = module.wasmMemory?.buffer ?? module.HEAPU8.buffer;
  const offset = backend.getMemoryOffset(info.dataId);
  const n = size(info.shape);
  if (info.dtype === 'int32') return new Int32Array(buffer, offset, n);
  if (info.dtype === 'bool') return new Uint8Array(buffer, offset, n);
  return new Float32Array(buffer, offset, n);
}

/** The same data under another shape (no copy): what the wasm reshape kernel returns. */
const withShape = (info: TensorInfo, shape: number[]): TensorInfo => ({ dataId: info.dataId, shape, dtype: info.dtype });

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

/** Flat index into a (broadcast) batch of shape `inBatch` for flat output batch index `i`. */
function broadcastBatchIndex(i: number, outBatch: number[], inBatch: number[]): number {
  let index = 0;
  let stride = 1;
  let rest = i;
  // Walk the output batch axes from the innermost; `inBatch` is right-aligned against them.
  for (let axis = outBatch.length - 1; axis >= 0; axis--) {
    const coord = rest % outBatch[axis];
    rest = Math.floor(rest / outBatch[axis]);
    const inAxis = axis - (outBatch.length - inBatch.length);
    if (inAxis < 0) continue;
    const dim = inBatch[inAxis];
    if (dim !== 1) index += coord * stride;
    stride *= dim;
  }
  return index;
}

interface MatMulShapes {
  outBatch: number[];
  m: number;
  k: number;
  n: number;
}

/** Shapes of `a·b` after the transposes, with tfjs's own error for mismatched inner sizes. */
function matMulShapes(a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean): MatMulShapes {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kB = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  tf.util.assert(
    k === kB,
    () => `Error in matMul: inner shapes (${k}) and (${kB}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
  );
  const outBatch = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  return { outBatch, m, k, n };
}

interface MatMulPlan {
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
function planMatMul(a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean, backend: BackendWasm): MatMulPlan {
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
function fastProduct(plan: MatMulPlan, backend: BackendWasm, call: (a: TensorInfo, b: TensorInfo) => TensorInfo): TensorInfo {
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
function patchedBatchMatMul(original: KernelFunc): KernelFunc {
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

/**
 * `_FusedMatMul` (bias + activation) through the fast path. Besides speed this fixes results:
 * the original's slow loop adds `bias[min(i·n + j, len − 1)]`, i.e. the wrong bias to every row
 * after the first, whenever a transpose flag or a batch sends it there (tfjs 4.22; the tests
 * compare with cpu). Only a PReLU activation with a batched `b` is left to the original kernel:
 * its weights would have to be split per entry.
 */
function patchedFusedMatMul(original: KernelFunc): KernelFunc {
  return (args: KernelArgs) => {
    const backend = args.backend as BackendWasm;
    const inputs = args.inputs as { a: TensorInfo; b: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo };
    const attrs = args.attrs as { transposeA: boolean; transposeB: boolean };
    const { a, b } = inputs;
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return original(args);
    const batchA = size(a.shape.slice(0, -2));
    const batchB = size(b.shape.slice(0, -2));
    const prelu = inputs.preluActivationWeights != null;
    if (prelu && (batchB > 1 || batchA > 1)) return original(args);
    const plan = planMatMul(a, b, attrs.transposeA, attrs.transposeB, backend);
    try {
      return fastProduct(plan, backend, (x, y) =>
        original({ inputs: { ...inputs, a: x, b: y }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } }) as TensorInfo,
      );
    } finally {
      for (const t of plan.temps) backend.disposeData(t.dataId);
    }
  };
}

/**
 * `UnsortedSegmentSum` for wasm, on the host: `out[s, …] = Σ_{i: ids[i] = s} x[i, …]`. `ids` covers
 * the leading axes of `x`; ids outside `[0, numSegments)` are dropped, as the cpu backend does.
 */
const unsortedSegmentSum: KernelFunc = (args: KernelArgs) => {
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

/**
 * `Transpose` on the host when it swaps the last two axes (after dropping size-1 axes, as tfjs
 * does) — the transposes of matMul gradients and of tied embeddings. The wasm kernel copies
 * element by element (~10 ns/element); a cache-blocked copy is 2–3× faster. Other permutations
 * keep the original kernel.
 */
function patchedTranspose(original: KernelFunc): KernelFunc {
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

/**
 * `Sum` / `Mean` on the host when the reduced axes are one contiguous block that is not at the
 * end (`sum(x, 0)` of a bias gradient, `mean(x, 1)` of a (B, T, D) tensor). The wasm kernel first
 * transposes the reduced axes to the end (slow, see `Transpose`); summing whole rows in place
 * avoids that. Float64 accumulators, as the cpu backend's JS numbers. Reductions over trailing
 * axes (already fast) and anything not float32 keep the original kernel.
 */
function patchedReduction(original: KernelFunc, mean: boolean): KernelFunc {
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

/**
 * `GatherV2` on the host: copies whole slices (rows, for an embedding lookup) instead of the wasm
 * kernel's strided element loop, ~10× faster for rows of a few hundred floats. Same index check
 * and error as the cpu and wasm kernels.
 */
function patchedGather(original: KernelFunc): KernelFunc {
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
function sliceOnHeap(x: TensorInfo, begin: number[], boxSize: number[], backend: BackendWasm): TensorInfo {
  const out = backend.makeOutput(boxSize, x.dtype);
  if (size(boxSize) > 0) copyBox(heapView(backend, x), x.shape, begin, boxSize, heapView(backend, out));
  return out;
}

const heapDtype = (dtype: string): boolean => dtype === 'float32' || dtype === 'int32' || dtype === 'bool';

/**
 * `Slice` without the wasm kernel's `backend.readSync(x)`, which copies the *whole* input out of
 * the heap before taking the slice (a (4096, 128) tensor for a 16-row slice).
 */
function patchedSlice(original: KernelFunc): KernelFunc {
  return (args: KernelArgs) => {
    const backend = args.backend as BackendWasm;
    const { x } = args.inputs as { x: TensorInfo };
    const { begin, size: sliceSize } = args.attrs as { begin: number | number[]; size?: number | number[] };
    if (!heapDtype(x.dtype)) return original(args);
    const [begin_, size_] = tf.slice_util.parseSliceParams(x, begin, sliceSize);
    return sliceOnHeap(x, begin_, size_, backend);
  };
}

/** `SplitV` from heap slices (the wasm kernel calls its own copying `Slice` once per part). */
function patchedSplitV(original: KernelFunc): KernelFunc {
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

function mark(f: KernelFunc, name: string): KernelFunc {
  (f as MarkedKernelFunc)[PATCHED] = name;
  return f;
}

const isPatched = (config: tf.KernelConfig | undefined): boolean => (config?.kernelFunc as MarkedKernelFunc | undefined)?.[PATCHED] !== undefined;

/** Replaces kernel `name` of the wasm backend by `make(original)`, keeping its setup/dispose hooks. */
function replaceKernel(name: string, make: (original: KernelFunc) => KernelFunc): boolean {
  const config = tf.getKernel(name, 'wasm') as tf.KernelConfig | undefined;
  if (!config) throw new Error(`patchWasmKernels: the wasm backend has no ${name} kernel to patch (is @tensorflow/tfjs-backend-wasm imported?)`);
  if (isPatched(config)) return false;
  tf.unregisterKernel(name, 'wasm');
  // setupFunc stays: it binds the original kernel's wasm function when the backend initialises.
  tf.registerKernel({ ...config, kernelFunc: mark(make(config.kernelFunc), name) });
  return true;
}

/**
 * Re-registers slow or missing kernels of the `wasm` backend (see the module comment). Idempotent;
 * works before or after the backend is initialised. Returns the names of the patched kernels.
 *
 * @example
 * import '@tensorflow/tfjs-backend-wasm';
 * patchWasmKernels(); // ['BatchMatMul', '_FusedMatMul', 'UnsortedSegmentSum']
 * await tf.setBackend('wasm');
 * tf.grad((p: tf.Tensor) => tf.gather(p, [0, 0]).sum())(tf.ones([3])); // [2, 0, 0]; unpatched: kernel not found
 */
export function patchWasmKernels(): WasmKernelPatch[] {
  replaceKernel(tf.BatchMatMul, patchedBatchMatMul);
  replaceKernel(tf._FusedMatMul, patchedFusedMatMul);
  replaceKernel(tf.Transpose, patchedTranspose);
  replaceKernel(tf.Sum, (original) => patchedReduction(original, false));
  replaceKernel(tf.Mean, (original) => patchedReduction(original, true));
  replaceKernel(tf.Slice, patchedSlice);
  replaceKernel(tf.SplitV, patchedSplitV);
  replaceKernel(tf.GatherV2, patchedGather);
  // Only added where missing: a later tfjs that ships its own kernel keeps it.
  if (!tf.getKernel(tf.UnsortedSegmentSum, 'wasm')) {
    tf.registerKernel({ kernelName: tf.UnsortedSegmentSum, backendName: 'wasm', kernelFunc: mark(unsortedSegmentSum, tf.UnsortedSegmentSum) });
  }
  return patchedWasmKernels();
}

/** Which of the patches are currently registered (for recording in run environments). */
export function patchedWasmKernels(): WasmKernelPatch[] {
  return [...WASM_KERNEL_PATCHES].filter((name) => isPatched(tf.getKernel(name, 'wasm') as tf.KernelConfig | undefined));
}
