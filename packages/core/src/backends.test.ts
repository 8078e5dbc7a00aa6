import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { BLAS_UNAVAILABLE, CUDA_UNAVAILABLE, cudaProductCounts, TEST_BACKENDS, useBackend } from './testing/backends.ts';

describe('test backends', () => {
  // Without the OpenBLAS addon (or the CUDA libraries and a GPU) the core suite runs without those
  // cases; this says so in the report.
  it.skipIf(BLAS_UNAVAILABLE === null)(`blas cases skipped: ${BLAS_UNAVAILABLE}`, () => {});
  it.skipIf(CUDA_UNAVAILABLE === null)(`cuda cases skipped: ${CUDA_UNAVAILABLE}`, () => {});

  it.each(TEST_BACKENDS)('%s multiplies as cpu does', async (backend) => {
    const a = [[1, 2, 3], [4, 5, 6]];
    const b = [[1, 0], [0, 1], [2, -1]];
    await useBackend(backend);
    const before = cudaProductCounts();
    const got = tf.tidy(() => tf.matMul(tf.tensor2d(a), tf.tensor2d(b), false, false).arraySync());
    expect(got).toEqual([[7, -1], [16, -1]]);
    // On cuda even this 2×3·3×2 product ran on the GPU route, and nothing went to OpenBLAS.
    const after = cudaProductCounts();
    if (backend === 'cuda') expect([after!.gpuCalls - before!.gpuCalls, after!.cpuCalls - before!.cpuCalls]).toEqual([1, 0]);
  });
});
