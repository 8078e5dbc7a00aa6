/**
 * `BatchMatMul` of the `blas` backend (wasm + OpenBLAS GEMM): every float32 product goes to
 * OpenBLAS (blas-product.ts), whatever the transposes and batch shapes — OpenBLAS runs several
 * times the wasm GEMM's rate per thread (BENCHMARKS.md, "BLAS GEMM kernels"). Other dtypes keep
 * the kernel registered before (the wasm patch, which in turn keeps wasm's own for them).
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelArgs, KernelFunc, TensorInfo } from '../wasm/kernels/kernel-utils.ts';
import type { BlasAddon } from './addon.ts';
import { blasProduct } from './blas-product.ts';

export function blasBatchMatMul(addon: BlasAddon, previous: KernelFunc): KernelFunc {
  return (args: KernelArgs) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return previous(args);
    return blasProduct(addon, a, b, transposeA, transposeB, args.backend as BackendWasm);
  };
}
