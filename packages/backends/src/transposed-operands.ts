/**
 * Whether the active backend multiplies by a transposed operand at no extra cost. True on `cpu`
 * and native TensorFlow (strided kernels) and on `blas` (OpenBLAS takes the transposes as flags);
 * false on plain `wasm`, whose patched `BatchMatMul` transposes the operand explicitly first — so
 * code with a choice transposes the smaller of the two there (e.g. the FFN backward transposes
 * activations, never a weight).
 */
import * as tf from '@tensorflow/tfjs-core';
import { blasKernelsRegistered } from './blas/blas-kernels.ts';

export function transposedOperandsAreFree(): boolean {
  return tf.getBackend() !== 'wasm' || blasKernelsRegistered();
}
