/**
 * Host reads and writes of tensor data in place, where the backend allows it.
 *
 * On `wasm` a tensor's data lives on the wasm heap: `dataSync()` would copy all of it out, and a
 * new tensor made from a JS array would copy it back in. `readRows` returns a view of the heap
 * instead and `writeRows` fills freshly allocated heap memory. On `cpu` `dataSync()` already
 * returns the tensor's own array. Host-side ops (row gathers, the MoE layer's fused expert op,
 * the wasm kernel patches) read and write through these.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The parts of tfjs-backend-wasm's backend object that in-place host access needs. */
export interface WasmBackendView {
  wasm: { wasmMemory?: { buffer: ArrayBufferLike }; HEAPU8: Uint8Array };
  getMemoryOffset(dataId: object): number;
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

export type HeapArray = Float32Array | Int32Array | Uint8Array;

/**
 * What `heapView` needs of a backend. `wasm` is left untyped so that tfjs-backend-wasm's own
 * `BackendWasm` fits too: its module type extends emscripten's, whose typings tfjs does not ship.
 */
export interface HeapOwner {
  wasm: unknown;
  getMemoryOffset(dataId: object): number;
}

/** The active backend as a wasm backend, or null when it is another backend. */
export function activeWasmBackend(): WasmBackendView | null {
  if (tf.getBackend() !== 'wasm') return null;
  const backend = tf.backend() as unknown as Partial<WasmBackendView>;
  return typeof backend.getMemoryOffset === 'function' && typeof backend.makeOutput === 'function' && backend.wasm ? (backend as WasmBackendView) : null;
}

/**
 * A view of a tensor's data on the wasm heap, typed by its dtype. Valid until the next tensor
 * allocation, which may grow (and so move) the heap.
 */
export function heapView(backend: HeapOwner, info: { dataId: object; shape: readonly number[]; dtype?: string }): HeapArray {
  // The threaded build can grow its shared memory from any thread; `wasmMemory.buffer` is always
  // the current one, while `HEAPU8` may lag behind.
  const module = backend.wasm as WasmBackendView['wasm'];
  const buffer = module.wasmMemory?.buffer ?? module.HEAPU8.buffer;
  const offset = backend.getMemoryOffset(info.dataId);
  const n = info.shape.reduce((a, b) => a * b, 1);
  if (info.dtype === 'int32') return new Int32Array(buffer, offset, n);
  if (info.dtype === 'bool') return new Uint8Array(buffer, offset, n);
  return new Float32Array(buffer, offset, n);
}

/**
 * A float32 tensor's values for reading on the host, without a copy where the backend allows it.
 * On wasm the view is valid only until the next tensor allocation (which may move the heap):
 * allocate outputs first (`writeRows`), then read.
 *
 * @example
 * const values = readRows(t); // Float32Array of t.size
 */
export function readRows(t: tf.Tensor): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`readRows: float32 tensors only, got ${t.dtype}`);
  const backend = activeWasmBackend();
  return backend ? (heapView(backend, t) as Float32Array) : (t.dataSync() as Float32Array);
}

/**
 * New float32 tensors of `shapes`, zero-filled, whose values `fill` then writes — on wasm in place
 * on the heap (no upload copy). `fill` runs after every output is allocated, so views it takes of
 * inputs with `readRows` stay valid while it runs.
 *
 * @example
 * const [ones] = writeRows([[2, 3]], ([out]) => out.fill(1)); // (2, 3)
 */
export function writeRows(shapes: number[][], fill: (outs: Float32Array[]) => void): tf.Tensor[] {
  const backend = activeWasmBackend();
  if (backend) {
    // Heap memory straight from the backend: `tf.zeros` would build a zero array in JS and copy it in.
    const tensors = shapes.map((s) => tf.engine().makeTensorFromTensorInfo(backend.makeOutput(s, 'float32')));
    const views = tensors.map((t) => heapView(backend, t) as Float32Array);
    for (const v of views) v.fill(0);
    fill(views);
    return tensors;
  }
  const outs = shapes.map((s) => new Float32Array(s.reduce((a, b) => a * b, 1)));
  fill(outs);
  return outs.map((o, i) => tf.tensor(o, shapes[i], 'float32'));
}
