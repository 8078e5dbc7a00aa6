/**
 * The patched wasm `Identity` / same-dtype `Cast`: the output shares the input's heap memory,
 * each holder can be disposed in any order without the other's values changing, the memory is
 * freed with the last one, and real conversions still convert.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { heapView, activeWasmBackend } from '../../heap-io.ts';
import { counts, expectSameOnBothBackends, initWasmForKernelTests, input } from '../../testing/compare-backends.ts';

beforeAll(() => initWasmForKernelTests());

const offset = (t: tf.Tensor): number => (tf.backend() as unknown as { getMemoryOffset(id: object): number }).getMemoryOffset(t.dataId);

describe('patched Identity and Cast (wasm)', () => {
  it('Identity and a same-dtype Cast share the memory; disposing either leaves the other intact', () => {
    tf.setBackend('wasm');
    const before = counts();
    const x = input([5, 7], 91);
    const expected = x.dataSync().slice();
    const copies = [tf.clone(x), tf.cast(x, 'float32')];
    for (const c of copies) expect(offset(c)).toBe(offset(x));
    x.dispose(); // the copies still hold the buffer
    for (const c of copies) expect(Array.from(c.dataSync())).toEqual(Array.from(expected));
    copies[0].dispose();
    const backend = activeWasmBackend();
    expect(backend).not.toBeNull();
    expect(Array.from(heapView(backend!, copies[1]) as Float32Array)).toEqual(Array.from(expected));
    copies[1].dispose();
    expect(counts()).toEqual(before); // the shared buffer was freed with its last holder
  });

  it('the gradient tape still sees the saved values (tfjs saves them through Identity)', () => {
    expectSameOnBothBackends('grad of x²·sin x', () => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.square(x), tf.sin(x))))(input([4, 6], 92)), 1e-6);
  });

  it('Cast to another dtype converts (int32 ↔ float32, bool → float32)', () => {
    expectSameOnBothBackends('float → int32', () => tf.cast(tf.mul(input([3, 4], 93), 50), 'int32'), 0);
    expectSameOnBothBackends('int32 → float', () => tf.cast(tf.cast(tf.mul(input([3, 4], 94), 50), 'int32'), 'float32'), 0);
    expectSameOnBothBackends('bool → float', () => tf.cast(tf.greater(input([3, 4], 95), 0), 'float32'), 0);
  });
});
