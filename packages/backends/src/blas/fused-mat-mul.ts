/**
 * `_FusedMatMul` (matMul + bias + activation) of the `blas` backend: the product by OpenBLAS
 * (blas-product.ts), then the epilogue by the wasm backend's own `Add` and activation kernels —
 * elementwise work that gains nothing from BLAS, and that those kernels already do with tfjs's
 * broadcasting and activation semantics (the same order as the cpu backend: bias, then activation).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelArgs, KernelFunc, TensorInfo } from '../wasm/kernels/kernel-utils.ts';
import type { BlasAddon } from './addon.ts';
import { blasProduct } from './blas-product.ts';

type Activation = 'linear' | 'relu' | 'relu6' | 'elu' | 'sigmoid' | 'leakyrelu' | 'prelu';

const ACTIVATION_KERNELS: Record<Exclude<Activation, 'linear'>, string> = {
  relu: tf.Relu,
  relu6: tf.Relu6,
  elu: tf.Elu,
  sigmoid: tf.Sigmoid,
  leakyrelu: tf.LeakyRelu,
  prelu: tf.Prelu,
};

const wasmKernel = (name: string): KernelFunc => tf.getKernel(name, 'wasm').kernelFunc;

export function blasFusedMatMul(addon: BlasAddon, previous: KernelFunc): KernelFunc {
  return (args: KernelArgs) => {
    const backend = args.backend as BackendWasm;
    const { a, b, bias, preluActivationWeights } = args.inputs as { a: TensorInfo; b: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo };
    const { transposeA, transposeB, activation = 'linear', leakyreluAlpha } = args.attrs as { transposeA: boolean; transposeB: boolean; activation?: Activation; leakyreluAlpha?: number };
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || (activation !== 'linear' && !(activation in ACTIVATION_KERNELS))) return previous(args);
    let y = blasProduct(addon, a, b, transposeA, transposeB, backend);
    // Each step frees the tensor it replaces, also when it throws (a bias that does not broadcast).
    const step = (next: () => TensorInfo): void => {
      try {
        const z = next();
        backend.disposeData(y.dataId);
        y = z;
      } catch (e) {
        backend.disposeData(y.dataId);
        throw e;
      }
    };
    if (bias) step(() => wasmKernel(tf.Add)({ inputs: { a: y, b: bias }, backend, attrs: {} }) as TensorInfo);
    if (activation === 'prelu') {
      step(() => wasmKernel(tf.Prelu)({ inputs: { x: y, alpha: preluActivationWeights! }, backend, attrs: {} }) as TensorInfo);
    } else if (activation !== 'linear') {
      const attrs: tf.NamedAttrMap = activation === 'leakyrelu' ? { alpha: leakyreluAlpha ?? 0.2 } : {};
      step(() => wasmKernel(ACTIVATION_KERNELS[activation])({ inputs: { x: y }, backend, attrs }) as TensorInfo);
    }
    return y;
  };
}
