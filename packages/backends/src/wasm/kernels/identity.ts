/**
 * `Identity` (and `Cast` to the dtype a tensor already has) for tfjs's `wasm` backend (4.22):
 * the output shares the input's heap memory, as the `cpu` backend's Identity and the wasm
 * backend's own `Reshape` do, instead of copying it.
 *
 * Why it matters: tfjs saves every tensor a gradient needs through `engine.clone` (an Identity
 * per saved input and output of every kernel on the tape), so on wasm each training step copied
 * hundreds of activations, the (N, V) logits among them (BENCHMARKS.md, "The whole training
 * step"). tfjs tensors are immutable; a shared buffer is freed when its last holder is disposed
 * (the backend's reference count), so sharing is safe for every op that writes only into the
 * outputs it allocates — all of tfjs's kernels and all of ours.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelArgs, KernelFunc, TensorInfo } from './kernel-utils.ts';

/** The input itself under a new reference: the backend frees the memory when both are disposed. */
function share(x: TensorInfo, backend: BackendWasm): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** `Identity` without the copy (strings keep the original kernel: their data is not on the heap). */
export function patchedIdentity(original: KernelFunc): KernelFunc {
  return (args: KernelArgs) => {
    const { x } = args.inputs as { x: TensorInfo };
    return x.dtype === 'string' ? original(args) : share(x, args.backend as BackendWasm);
  };
}

/** `Cast` to the same dtype without the copy; real conversions keep the original kernel. */
export function patchedCast(original: KernelFunc): KernelFunc {
  return (args: KernelArgs) => {
    const { x } = args.inputs as { x: TensorInfo };
    const { dtype } = args.attrs as { dtype: string };
    return dtype === x.dtype && dtype !== 'string' && dtype !== 'complex64' ? share(x, args.backend as BackendWasm) : original(args);
  };
}
