/**
 * The registry of wasm kernel patches: before patching the gradient of `tf.gather` fails on wasm
 * (no `UnsortedSegmentSum`); `patchWasmKernels` applies every patch; the patched kernels together
 * leak no engine tensors or wasm buffers; patching twice is harmless. Each kernel's numbers are
 * checked against `cpu` in the test beside it (kernels/*.test.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-backend-cpu';
import { initWasmBackend } from './threads.ts';
import { patchedWasmKernels, patchWasmKernels, WASM_KERNEL_PATCHES } from './kernel-patches.ts';
import { counts, expectSameOnBothBackends, input } from '../testing/compare-backends.ts';

beforeAll(async () => {
  await initWasmBackend({ threads: 2 });
});

describe('before patching', () => {
  it('the gradient of tf.gather fails on wasm (no UnsortedSegmentSum kernel)', () => {
    tf.setBackend('wasm');
    expect(patchedWasmKernels()).toEqual([]);
    const p = tf.tensor1d([1, 2, 3]);
    expect(() => tf.grad((x: tf.Tensor) => tf.sum(tf.gather(x, [0, 0, 2])))(p)).toThrow(/UnsortedSegmentSum/);
    p.dispose();
  });
});

describe('patchWasmKernels', () => {
  beforeAll(() => {
    expect(patchWasmKernels()).toEqual([...WASM_KERNEL_PATCHES]);
  });

  it('frees every temporary (engine tensors and wasm buffers)', () => {
    tf.setBackend('wasm');
    const a = input([3, 130, 100], 61);
    const b = input([3, 100, 90], 62);
    const before = counts();
    tf.tidy(() => {
      for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
        tf.matMul(ta ? tf.transpose(a, [0, 2, 1]) : a, tb ? tf.transpose(b, [0, 2, 1]) : b, ta, tb);
        tf.matMul(ta ? tf.transpose(a, [0, 2, 1]) : a, tf.slice(tb ? tf.transpose(b, [0, 2, 1]) : b, [0, 0, 0], [1, -1, -1]), ta, tb);
      }
      tf.sum(a, 1);
      tf.mean(a, 0);
      tf.gather(a, [0, 2], 0);
      tf.unsortedSegmentSum(a, tf.tensor1d([1, 1, 0], 'int32'), 2);
      tf.matMul(a, input([100, 7], 63));
    });
    expect(counts()).toEqual(before);
    tf.dispose([a, b]);
  });

  it('is idempotent: patching again changes nothing', () => {
    const before = WASM_KERNEL_PATCHES.map((name) => tf.getKernel(name, 'wasm').kernelFunc);
    expect(patchWasmKernels()).toEqual([...WASM_KERNEL_PATCHES]);
    expect(patchWasmKernels()).toEqual([...WASM_KERNEL_PATCHES]);
    expect(WASM_KERNEL_PATCHES.map((name) => tf.getKernel(name, 'wasm').kernelFunc)).toEqual(before);
    expectSameOnBothBackends('after re-patching', () => tf.matMul(input([20, 30], 71), input([40, 30], 72), false, true));
  });
});
