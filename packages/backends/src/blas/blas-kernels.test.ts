/**
 * The `blas` registry: the BLAS kernels sit over the `wasm` backend (whose name, and so heap-io's
 * recognition of the heap, stays), over the wasm kernel patches; registering is idempotent and
 * survives `patchWasmKernels`; unregistering restores plain patched wasm; OpenBLAS's thread count
 * is set and read back through the addon, and results agree with cpu at 1 and at 2 threads.
 */
import { beforeAll, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initWasmBackend } from '../wasm/threads.ts';
import { patchedWasmKernels, patchWasmKernels, WASM_KERNEL_PATCHES } from '../wasm/kernel-patches.ts';
import { activeWasmBackend } from '../heap-io.ts';
import { transposedOperandsAreFree } from '../transposed-operands.ts';
import { expectSameOnBothBackends, input } from '../testing/compare-backends.ts';
import { blas, countingAddon, describeBlas, expectSameThroughBlas, gemmCalls } from '../testing/blas-setup.ts';
import { BLAS_KERNELS, blasKernelsRegistered, registerBlasKernels, setBlasThreads, unregisterBlasKernels } from './blas-kernels.ts';

const kernelFuncs = () => BLAS_KERNELS.map((name) => tf.getKernel(name, 'wasm').kernelFunc);

describeBlas('registerBlasKernels', () => {
  beforeAll(async () => {
    await initWasmBackend({ threads: 1 });
    patchWasmKernels();
  });

  it('replaces BatchMatMul and _FusedMatMul of wasm, keeping the backend name and the patches, and is undone by unregisterBlasKernels', () => {
    if (!blas.ok) return;
    const patched = kernelFuncs();
    expect(blasKernelsRegistered()).toBe(false);
    expect(transposedOperandsAreFree()).toBe(false); // plain wasm transposes an operand explicitly
    expect(registerBlasKernels(countingAddon(blas.addon))).toEqual([...BLAS_KERNELS]);
    expect(blasKernelsRegistered()).toBe(true);
    expect(transposedOperandsAreFree()).toBe(true);
    const withBlas = kernelFuncs();
    expect(withBlas[0]).not.toBe(patched[0]);
    expect(withBlas[1]).not.toBe(patched[1]);
    tf.setBackend('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(activeWasmBackend()).not.toBeNull();
    expect(patchedWasmKernels()).toEqual([...WASM_KERNEL_PATCHES]);
    expectSameThroughBlas('with BLAS', () => tf.matMul(input([20, 30], 1), input([40, 30], 2), false, true));

    // Idempotent, and the patches applied again do not wrap the BLAS kernels.
    registerBlasKernels(countingAddon(blas.addon));
    patchWasmKernels();
    expect(kernelFuncs()).toEqual(withBlas);

    unregisterBlasKernels();
    expect(blasKernelsRegistered()).toBe(false);
    expect(kernelFuncs()).toEqual(patched);
    const calls = gemmCalls.count;
    expectSameOnBothBackends('after unregistering', () => tf.matMul(input([20, 30], 1), input([40, 30], 2), false, true));
    expect(gemmCalls.count).toBe(calls);
    unregisterBlasKernels(); // harmless when not registered
    expect(kernelFuncs()).toEqual(patched);
  });

  it('sets OpenBLAS threads and reads them back; results agree with cpu at 1 and 2 threads', () => {
    if (!blas.ok) return;
    registerBlasKernels(countingAddon(blas.addon));
    expect(blas.addon.info().parallel).toBe('pthread');
    for (const threads of [1, 2]) {
      expect(setBlasThreads(blas.addon, threads)).toBe(threads);
      expect(blas.addon.getNumThreads()).toBe(threads);
      expect(blas.addon.info().threads).toBe(threads);
      expectSameThroughBlas(`${threads} thread(s)`, () => tf.matMul(input([256, 300], 3), input([300, 200], 4)));
    }
    const { addon } = blas;
    expect(() => setBlasThreads(addon, 0)).toThrow(/threads must be/);
    expect(() => setBlasThreads(addon, 1.5)).toThrow(/threads must be/);
    unregisterBlasKernels();
  });
});
