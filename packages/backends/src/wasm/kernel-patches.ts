/**
 * Kernel re-registrations for tfjs's `wasm` backend (4.22), each measured before and after in
 * BENCHMARKS.md ("wasm backend: threads and kernel patches"). One kernel per file under
 * `kernels/`, each with the reason it exists; this file is the registry that applies them.
 *
 * The wasm `BatchMatMul` (and `_FusedMatMul`) kernel reaches its fast path (XNNPACK's
 * fully-connected operator) only for a plain product of two batch-1 operands; the patched
 * kernels transpose explicitly, fold shared batches and run the fast path per batch entry
 * (kernels/batch-mat-mul.ts, kernels/fused-mat-mul.ts). Smaller host-side replacements, found by
 * profiling a training step after that fix:
 *   - `Transpose` of the last two axes: a cache-blocked copy (the wasm one goes element by element);
 *   - `Sum` / `Mean` over leading or middle axes: summed in place (the wasm one transposes first);
 *   - `Slice` / `SplitV`: read from the heap (the wasm one first copies the whole input out);
 *   - `GatherV2`: whole-slice copies (the wasm one loops element by element);
 *   - `Identity` and same-dtype `Cast`: the output shares the input's memory (the wasm ones copy
 *     it, and tfjs clones every tensor it saves for the backward pass through Identity).
 * The wasm backend also has no `UnsortedSegmentSum`, which the gradient of `tf.gather` needs;
 * it is added here, computed on the host over the wasm heap.
 *
 * Patches change speed only: each is checked against the `cpu` backend in the tests beside its
 * file. Anything outside a patch's fast case (other dtypes, other permutations, …) is handed to
 * the original kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc } from './kernels/kernel-utils.ts';
import { patchedBatchMatMul } from './kernels/batch-mat-mul.ts';
import { patchedFusedMatMul } from './kernels/fused-mat-mul.ts';
import { patchedTranspose } from './kernels/transpose.ts';
import { patchedReduction } from './kernels/reduction.ts';
import { patchedSlice } from './kernels/slice.ts';
import { patchedSplitV } from './kernels/split-v.ts';
import { patchedGather } from './kernels/gather-v2.ts';
import { unsortedSegmentSum } from './kernels/unsorted-segment-sum.ts';
import { patchedCast, patchedIdentity } from './kernels/identity.ts';

/** Marks our kernel functions, so that patching again is recognised and skipped. */
const PATCHED = Symbol.for('moepp.wasmKernelPatch');
type MarkedKernelFunc = KernelFunc & { [PATCHED]?: string };

/** Names of the kernels `patchWasmKernels` replaces or adds, in the order it applies them. */
export const WASM_KERNEL_PATCHES = ['BatchMatMul', '_FusedMatMul', 'Transpose', 'Sum', 'Mean', 'Slice', 'SplitV', 'GatherV2', 'Identity', 'Cast', 'UnsortedSegmentSum'] as const;
export type WasmKernelPatch = (typeof WASM_KERNEL_PATCHES)[number];

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
  replaceKernel(tf.Identity, patchedIdentity);
  replaceKernel(tf.Cast, patchedCast);
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
