/**
 * `_FusedMatMul` (matMul + bias + activation) for tfjs's `wasm` backend (4.22), through the same
 * fast path as `BatchMatMul` (batch-mat-mul.ts, whose module comment says why it is needed).
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { fastProduct, planMatMul } from './batch-mat-mul.ts';
import { size, type KernelArgs, type KernelFunc, type TensorInfo } from './kernel-utils.ts';

/**
 * `_FusedMatMul` (bias + activation) through the fast path. Besides speed this fixes results:
 * the original's slow loop adds `bias[min(i·n + j, len − 1)]`, i.e. the wrong bias to every row
 * after the first, whenever a transpose flag or a batch sends it there (tfjs 4.22; the tests
 * compare with cpu). Only a PReLU activation with a batched `b` is left to the original kernel:
 * its weights would have to be split per entry.
 */
export function patchedFusedMatMul(original: KernelFunc): KernelFunc {
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
