/**
 * Every patched wasm kernel against the `cpu` backend on the same inputs: matMul with all
 * transpose combinations, batched and broadcast; fused matMul; transposes; reductions over
 * leading and middle axes; gather; unsorted segment sum; the gradient of `tf.gather` (which
 * needs `UnsortedSegmentSum`); no leaked tensors or wasm buffers; patching twice is harmless.
 *
 * wasm runs with 2 threads here, so both branches of the batched matMul run: per-entry fast path
 * for large entries, the original kernel for small ones on a thread pool.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-backend-cpu';
import { initWasmBackend } from './threads.ts';
import { patchedWasmKernels, patchWasmKernels, WASM_KERNEL_PATCHES } from './kernel-patches.ts';

/** Deterministic values in [-1, 1), different per seed. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

const sizeOf = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
const input = (shape: number[], seed: number): tf.Tensor => tf.tensor(values(sizeOf(shape), seed), shape);

interface Result {
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

/** Runs `f` on `backend` and returns its (single or first) output, read to the host. */
function on(backend: 'cpu' | 'wasm', f: () => tf.Tensor): Result {
  tf.setBackend(backend);
  const t = tf.tidy(f);
  const r = { shape: t.shape, data: t.dataSync() as Result['data'] };
  t.dispose();
  return r;
}

/**
 * Asserts wasm(f) equals cpu(reference ?? f) to float32 rounding (relative to the output's scale).
 */
function expectSameOnBothBackends(label: string, f: () => tf.Tensor, tolerance = 1e-5, reference?: () => tf.Tensor): void {
  const cpu = on('cpu', reference ?? f);
  const wasm = on('wasm', f);
  expect(wasm.shape, label).toEqual(cpu.shape);
  let scale = 1e-30;
  let err = 0;
  for (let i = 0; i < cpu.data.length; i++) {
    scale = Math.max(scale, Math.abs(cpu.data[i]));
    err = Math.max(err, Math.abs(cpu.data[i] - wasm.data[i]));
  }
  expect(cpu.data.length, label).toBe(sizeOf(cpu.shape));
  expect(err / scale, label).toBeLessThanOrEqual(tolerance);
}

/** Backend buffers and engine tensors, to check that patched kernels free their temporaries. */
function counts(): { tensors: number; buffers: number } {
  return { tensors: tf.memory().numTensors, buffers: tf.engine().backend.numDataIds() };
}

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

  it('BatchMatMul matches cpu: 2-D, all transpose combinations', () => {
    for (const [m, k, n] of [[1, 1, 1], [7, 13, 5], [64, 33, 70], [300, 128, 257]]) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          expectSameOnBothBackends(`${m}x${k}x${n} tA=${ta} tB=${tb}`, () =>
            tf.matMul(input(ta ? [k, m] : [m, k], 1), input(tb ? [n, k] : [k, n], 2), ta, tb),
          );
        }
      }
    }
  });

  it('BatchMatMul matches cpu: batched, shared and broadcast operands', () => {
    const cases: [number[], number[]][] = [
      [[4, 9, 6], [4, 6, 5]], // both batched, small entries (original kernel on a thread pool)
      [[2, 128, 128], [2, 128, 64]], // both batched, large entries (per-entry fast path)
      [[3, 2, 16, 8], [3, 2, 8, 12]], // attention-like (B, H, T, d)
      [[5, 7, 6], [6, 4]], // b shared: folded into one product
      [[2, 3, 7, 6], [1, 6, 4]], // b broadcast over two batch axes
      [[7, 6], [3, 6, 4]], // a shared
      [[1, 130, 100], [3, 100, 90]], // a shared, large entries
      [[2, 1, 5, 6], [1, 3, 6, 4]], // two-way broadcast, small entries
      [[3, 1, 130, 100], [1, 2, 100, 90]], // two-way broadcast, large entries
    ];
    const swap = (s: number[], t: boolean) => (t ? [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]] : s);
    for (const [sa, sb] of cases) {
      // tfjs's cpu kernel mishandles two-way broadcasting (see the patch), so the reference
      // broadcasts both operands to the full batch shape first.
      const batch = tf.broadcast_util.assertAndGetBroadcastShape(sa.slice(0, -2), sb.slice(0, -2));
      const full = (s: number[]) => [...batch, ...s.slice(-2)];
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          const a = () => input(swap(sa, ta), 3);
          const b = () => input(swap(sb, tb), 4);
          expectSameOnBothBackends(
            `${sa}·${sb} tA=${ta} tB=${tb}`,
            () => tf.matMul(a(), b(), ta, tb),
            1e-5,
            () => tf.matMul(tf.broadcastTo(a(), full(swap(sa, ta))), tf.broadcastTo(b(), full(swap(sb, tb))), ta, tb),
          );
        }
      }
    }
  });

  it('BatchMatMul reports mismatched inner sizes as tfjs does', () => {
    tf.setBackend('wasm');
    expect(() => tf.matMul(tf.ones([2, 3]), tf.ones([4, 5]), false, false)).toThrow(/inner shapes \(3\) and \(4\)/);
  });

  it('_FusedMatMul (bias, activation, transposes, batches) matches cpu — the original adds the wrong bias there', () => {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        expectSameOnBothBackends(`fused 2-D tA=${ta} tB=${tb}`, () =>
          tf.fused.matMul({ a: input(ta ? [6, 9] : [9, 6], 5) as tf.Tensor2D, b: input(tb ? [7, 6] : [6, 7], 6) as tf.Tensor2D, transposeA: ta, transposeB: tb, bias: input([7], 7), activation: 'relu' }),
        );
        expectSameOnBothBackends(`fused batched a tA=${ta} tB=${tb}`, () =>
          tf.fused.matMul({ a: input(ta ? [3, 6, 9] : [3, 9, 6], 5) as tf.Tensor3D, b: input(tb ? [7, 6] : [6, 7], 6) as tf.Tensor2D, transposeA: ta, transposeB: tb, bias: input([7], 7), activation: 'linear' }),
        );
        expectSameOnBothBackends(`fused batched a and b tA=${ta} tB=${tb}`, () =>
          tf.fused.matMul({ a: input(ta ? [3, 6, 9] : [3, 9, 6], 5) as tf.Tensor3D, b: input(tb ? [3, 7, 6] : [3, 6, 7], 6) as tf.Tensor3D, transposeA: ta, transposeB: tb, bias: input([7], 7), activation: 'relu' }),
        );
      }
    }
  });

  it('matMul gradients (which use the transpose flags) match cpu', () => {
    const cases: [number[], number[], number[]][] = [
      [[9, 6], [6, 5], [9, 5]],
      [[3, 9, 6], [3, 6, 5], [3, 9, 5]],
      // (A batched a with a 2-D b is left out: tfjs-core's matMul gradient does not reduce the
      // broadcast batch of b on any backend.)
    ];
    for (const [sa, sb, so] of cases) {
      for (const which of [0, 1]) {
        expectSameOnBothBackends(`d/d${which ? 'b' : 'a'} ${sa}·${sb}`, () => {
          const probe = input(so, 9);
          const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.matMul(a, b), probe)));
          return g([input(sa, 1), input(sb, 2)])[which];
        });
      }
    }
  });

  it('Transpose matches cpu for swaps of the last two axes and other permutations', () => {
    const cases: [number[], number[]][] = [
      [[37, 53], [1, 0]],
      [[3, 17, 40], [0, 2, 1]],
      [[2, 3, 5, 7], [0, 1, 3, 2]],
      [[1, 5, 1, 7], [0, 3, 2, 1]], // size-1 axes around the swap
      [[2, 3, 5, 7], [0, 2, 1, 3]], // not a last-two swap: original kernel
      [[4, 6, 8], [2, 0, 1]],
    ];
    for (const [shape, perm] of cases) {
      expectSameOnBothBackends(`transpose ${shape} ${perm}`, () => tf.transpose(input(shape, 11), perm), 0);
      expectSameOnBothBackends(`transpose int32 ${shape} ${perm}`, () => tf.transpose(tf.cast(tf.mul(input(shape, 12), 100), 'int32'), perm), 0);
    }
    expectSameOnBothBackends('transpose bool', () => tf.cast(tf.transpose(tf.greater(input([9, 4], 13), 0)), 'int32'), 0);
  });

  it('Sum and Mean match cpu over leading, middle, trailing and split axes', () => {
    const x = [4, 6, 5, 3];
    const axes: (number | number[])[] = [0, 1, 2, -1, [0, 1], [1, 2], [0, 1, 2], [0, 2], [0, 1, 2, 3]];
    for (const axis of axes) {
      for (const keepDims of [false, true]) {
        expectSameOnBothBackends(`sum ${axis} ${keepDims}`, () => tf.sum(input(x, 21), axis, keepDims));
        expectSameOnBothBackends(`mean ${axis} ${keepDims}`, () => tf.mean(input(x, 22), axis, keepDims));
      }
    }
    expectSameOnBothBackends('sum (1024, 128) axis 0', () => tf.sum(input([1024, 128], 23), 0), 1e-5);
    expectSameOnBothBackends('sum int32 axis 0', () => tf.sum(tf.cast(tf.mul(input([8, 5], 24), 100), 'int32'), 0), 0);
  });

  it('Slice and SplitV match cpu (contiguous or not, ranks 1–5, int32 and bool)', () => {
    const cases: [number[], number[], number[]][] = [
      [[20], [3], [7]],
      [[9, 7], [2, 0], [4, -1]], // whole rows: one contiguous run
      [[9, 7], [2, 3], [4, 2]],
      [[4, 5, 6], [1, 2, 3], [2, 3, 3]],
      [[3, 4, 5, 6], [0, 1, 0, 0], [3, 2, 5, 6]],
      [[2, 3, 4, 5, 6], [1, 0, 2, 1, 3], [1, 3, 2, 4, 2]],
      [[4, 5], [0, 0], [0, 5]], // empty
    ];
    for (const [shape, begin, sz] of cases) {
      expectSameOnBothBackends(`slice ${shape} ${begin} ${sz}`, () => tf.slice(input(shape, 81), begin, sz), 0);
      expectSameOnBothBackends(`slice int32 ${shape}`, () => tf.slice(tf.cast(tf.mul(input(shape, 82), 100), 'int32'), begin, sz), 0);
    }
    expectSameOnBothBackends('slice bool', () => tf.cast(tf.slice(tf.greater(input([6, 5], 83), 0), [1, 1], [3, 3]), 'int32'), 0);
    for (const axis of [0, 1, 2, -1]) {
      for (const split of [2, [1, 3, 2]] as (number | number[])[]) {
        const shape = [6, 6, 6];
        for (let part = 0; part < (Array.isArray(split) ? split.length : split); part++) {
          expectSameOnBothBackends(`split ${split} axis ${axis} part ${part}`, () => tf.split(input(shape, 84), split, axis)[part], 0);
        }
      }
    }
  });

  it('GatherV2 matches cpu (rows, other axes, batch dims, int32) and rejects bad indices', () => {
    const idx = (xs: number[]) => tf.tensor1d(xs, 'int32');
    expectSameOnBothBackends('rows', () => tf.gather(input([10, 16], 31), idx([3, 3, 0, 9, 5])), 0);
    expectSameOnBothBackends('axis 1', () => tf.gather(input([4, 10, 3], 32), idx([9, 1, 1]), 1), 0);
    expectSameOnBothBackends('axis 2 (single elements)', () => tf.gather(input([4, 3, 10], 33), idx([2, 7]), 2), 0);
    expectSameOnBothBackends('2-D indices', () => tf.gather(input([10, 4], 34), tf.tensor2d([[1, 2], [3, 9]], [2, 2], 'int32')), 0);
    expectSameOnBothBackends('batchDims 1', () => tf.gather(input([3, 10, 4], 35), tf.tensor2d([[0, 9], [4, 4], [7, 1]], [3, 2], 'int32'), 1, 1), 0);
    expectSameOnBothBackends('int32 table', () => tf.gather(tf.cast(tf.mul(input([10, 4], 36), 50), 'int32'), idx([5, 0])), 0);
    tf.setBackend('wasm');
    const before = counts();
    expect(() => tf.gather(tf.ones([3, 2]), idx([0, 3]))).toThrow('GatherV2: the index value 3 is not in [0, 2]');
    expect(counts().buffers).toBeLessThanOrEqual(before.buffers + 2); // the two inputs, not the output
  });

  it('UnsortedSegmentSum matches cpu, dropping out-of-range ids', () => {
    const ids = tf.tensor1d([2, 0, 2, 5, -1, 1, 2], 'int32');
    expectSameOnBothBackends('rows', () => tf.unsortedSegmentSum(input([7, 6], 41), ids, 4));
    expectSameOnBothBackends('scalars', () => tf.unsortedSegmentSum(input([7], 42), ids, 3));
    expectSameOnBothBackends('3-D', () => tf.unsortedSegmentSum(input([7, 2, 3], 43), ids, 6));
    expectSameOnBothBackends('int32', () => tf.unsortedSegmentSum(tf.cast(tf.mul(input([7, 2], 44), 100), 'int32'), ids, 3), 0);
  });

  it('the gradient of tf.gather now works on wasm and equals cpu', () => {
    for (const axis of [0, 1]) {
      expectSameOnBothBackends(`d gather axis ${axis}`, () => {
        const probe = tf.reshape(input([6, 8], 51), axis === 0 ? [6, 8] : [8, 6]);
        const g = tf.grad((p: tf.Tensor) => tf.sum(tf.mul(tf.gather(p, tf.tensor1d([3, 3, 0, 7, 1, 3], 'int32'), axis), probe)));
        return g(input([8, 8], 52));
      });
    }
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
