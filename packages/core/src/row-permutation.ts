/**
 * Differentiable row gather and its adjoint, the row scatter-add. Dispatch moves token rows into
 * expert order and back with these two ops; each is the other's gradient.
 *
 * Why not `tf.gather`: its gradient needs the `UnsortedSegmentSum` kernel, which the `wasm`
 * backend lacks, and on `wasm`/`cpu` a gather of rows runs ~8× slower than copying the rows on
 * the host (architecture.md). Native TensorFlow has fast kernels for both, so it keeps them.
 *
 * Host work reads and writes tensors in place where the backend allows it (`readRows`,
 * `writeRows`): on `wasm` a tensor's data lives on the wasm heap, and `dataSync()` would copy all
 * of it out (as would the upload of a new tensor back in); on `cpu` `dataSync()` already returns
 * the tensor's own array.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The parts of tfjs-backend-wasm's backend object that in-place host access needs. */
interface WasmBackendView {
  wasm: { wasmMemory?: { buffer: ArrayBufferLike }; HEAPU8: Uint8Array };
  getMemoryOffset(dataId: object): number;
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

function wasmBackend(): WasmBackendView | null {
  if (tf.getBackend() !== 'wasm') return null;
  const backend = tf.backend() as unknown as Partial<WasmBackendView>;
  return typeof backend.getMemoryOffset === 'function' && typeof backend.makeOutput === 'function' && backend.wasm ? (backend as WasmBackendView) : null;
}

function heapView(backend: WasmBackendView, t: { dataId: object; shape: number[] }): Float32Array {
  // The threaded build may replace the heap's buffer when memory grows; wasmMemory has the current one.
  const buffer = backend.wasm.wasmMemory?.buffer ?? backend.wasm.HEAPU8.buffer;
  return new Float32Array(buffer, backend.getMemoryOffset(t.dataId), t.shape.reduce((a, b) => a * b, 1));
}

/**
 * A float32 tensor's values for reading on the host, without a copy where the backend allows it.
 * On wasm the view is valid only until the next tensor allocation (which may move the heap):
 * allocate outputs first (`writeRows`), then read.
 */
export function readRows(t: tf.Tensor): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`readRows: float32 tensors only, got ${t.dtype}`);
  const backend = wasmBackend();
  return backend ? heapView(backend, t) : (t.dataSync() as Float32Array);
}

/**
 * New float32 tensors of `shapes`, zero-filled, whose values `fill` then writes — on wasm in place
 * on the heap (no upload copy). `fill` runs after every output is allocated, so views it takes of
 * inputs with `readRows` stay valid while it runs.
 */
export function writeRows(shapes: number[][], fill: (outs: Float32Array[]) => void): tf.Tensor[] {
  const backend = wasmBackend();
  if (backend) {
    // Heap memory straight from the backend: `tf.zeros` would build a zero array in JS and copy it in.
    const tensors = shapes.map((s) => tf.engine().makeTensorFromTensorInfo(backend.makeOutput(s, 'float32')));
    const views = tensors.map((t) => heapView(backend, t));
    for (const v of views) v.fill(0);
    fill(views);
    return tensors;
  }
  const outs = shapes.map((s) => new Float32Array(s.reduce((a, b) => a * b, 1)));
  fill(outs);
  return outs.map((o, i) => tf.tensor(o, shapes[i], 'float32'));
}

/**
 * `out[i] = x[index[i]]` for a 2-D `x` (rows, D); differentiable in `x`.
 *
 * @example
 * gatherRows(tf.tensor2d([[1, 2], [3, 4]]), Int32Array.from([1, 1, 0])); // [[3,4],[3,4],[1,2]]
 */
export function gatherRows(x: tf.Tensor2D, index: Int32Array): tf.Tensor2D {
  const rows = x.shape[0];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: gatherRowsForward(args[0] as tf.Tensor2D, index),
    gradFunc: (dy: tf.Tensor) => scatterAddRowsForward(dy as tf.Tensor2D, index, rows),
  }));
  return op(x) as tf.Tensor2D;
}

/**
 * `out[index[i]] += y[i]` into `rows` zero rows; differentiable in `y`.
 *
 * @example
 * scatterAddRows(tf.tensor2d([[1, 2], [3, 4]]), Int32Array.from([1, 1]), 3); // [[0,0],[4,6],[0,0]]
 */
export function scatterAddRows(y: tf.Tensor2D, index: Int32Array, rows: number): tf.Tensor2D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: scatterAddRowsForward(args[0] as tf.Tensor2D, index, rows),
    gradFunc: (dy: tf.Tensor) => gatherRowsForward(dy as tf.Tensor2D, index),
  }));
  return op(y) as tf.Tensor2D;
}

/**
 * Which implementation moves rows and runs the experts: `tf-ops` (the backend's own gather /
 * segment-sum kernels and plain tf ops — fast on native TensorFlow), `host` (host row copies and
 * the layer's fused op with a written-out backward — fast on wasm / cpu), or `auto` (tf-ops on
 * native TensorFlow, host elsewhere). Forcing one exists so the tests can check the tf-ops path,
 * which this machine cannot otherwise run, on the cpu backend.
 */
export type DispatchPath = 'auto' | 'tf-ops' | 'host';
let dispatchPath: DispatchPath = 'auto';

/**
 * @example
 * setDispatchPath('tf-ops'); // … test …; setDispatchPath('auto');
 */
export function setDispatchPath(path: DispatchPath): void {
  dispatchPath = path;
}

/** Whether row moves should use the backend's own gather / segment-sum kernels (native TensorFlow). */
export function usesNativeKernels(): boolean {
  return dispatchPath === 'tf-ops' || (dispatchPath === 'auto' && tf.getBackend() === 'tensorflow');
}

/**
 * `out[i] = x[index[i]]` without a gradient: for ops that write their own backward.
 *
 * @example
 * takeRows(tf.tensor2d([[1, 2], [3, 4]]), Int32Array.from([1])); // [[3, 4]]
 */
export function takeRows(x: tf.Tensor2D, index: Int32Array): tf.Tensor2D {
  return gatherRowsForward(x, index);
}

function gatherRowsForward(x: tf.Tensor2D, index: Int32Array): tf.Tensor2D {
  const [rows, d] = x.shape;
  checkIndex(index, rows);
  if (usesNativeKernels()) return tf.tidy(() => tf.gather(x, tf.tensor1d(index, 'int32')));
  const [out] = writeRows([[index.length, d]], ([dst]) => {
    const src = readRows(x); // sync read: dispatch
    for (let i = 0; i < index.length; i++) {
      const r = index[i];
      dst.set(src.subarray(r * d, r * d + d), i * d);
    }
  });
  return out as tf.Tensor2D; // (M, D)
}

function scatterAddRowsForward(y: tf.Tensor2D, index: Int32Array, rows: number): tf.Tensor2D {
  const d = y.shape[1];
  if (index.length !== y.shape[0]) throw new Error(`scatterAddRows: ${index.length} indices for ${y.shape[0]} rows`);
  checkIndex(index, rows);
  if (usesNativeKernels()) return tf.tidy(() => tf.unsortedSegmentSum(y, tf.tensor1d(index, 'int32'), rows));
  const [out] = writeRows([[rows, d]], ([dst]) => {
    const src = readRows(y); // sync read: dispatch
    for (let i = 0; i < index.length; i++) {
      const o = index[i] * d;
      const s = i * d;
      for (let j = 0; j < d; j++) dst[o + j] += src[s + j];
    }
  });
  return out as tf.Tensor2D; // (rows, D)
}

function checkIndex(index: Int32Array, rows: number): void {
  for (let i = 0; i < index.length; i++) {
    if (index[i] < 0 || index[i] >= rows) throw new Error(`row index ${index[i]} out of range [0, ${rows})`);
  }
}
