/**
 * Test support: the backend the training tests run on. `wasm` as always, unless the suite runs
 * with `MOEPP_BACKEND=blas` (CI's default run): then `blas`, selected as a run would select it,
 * and failing loudly when the OpenBLAS addon is missing — `blas` was asked for.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import type { ExecutorName } from '@moepp/core';
import { selectBackend } from '../backend/select-backend.ts';

export async function useTestBackend(): Promise<{ backend: string; threads: number; executor: ExecutorName }> {
  if (process.env.MOEPP_BACKEND?.trim().toLowerCase() === 'blas') return { ...(await selectBackend({ requested: 'blas', threads: 1, env: {} })), executor: 'host' };
  await tf.setBackend('wasm');
  await tf.ready();
  return { backend: 'wasm', threads: 1, executor: 'host' };
}
