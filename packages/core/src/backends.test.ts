import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { BLAS_UNAVAILABLE, TEST_BACKENDS, useBackend } from './testing/backends.ts';

describe('test backends', () => {
  // Without the OpenBLAS addon the core suite runs on cpu and wasm only; this says so in the report.
  it.skipIf(BLAS_UNAVAILABLE === null)(`blas cases skipped: ${BLAS_UNAVAILABLE}`, () => {});

  it.each(TEST_BACKENDS)('%s multiplies as cpu does', async (backend) => {
    const a = [[1, 2, 3], [4, 5, 6]];
    const b = [[1, 0], [0, 1], [2, -1]];
    await useBackend(backend);
    const got = tf.tidy(() => tf.matMul(tf.tensor2d(a), tf.tensor2d(b), false, false).arraySync());
    expect(got).toEqual([[7, -1], [16, -1]]);
  });
});
