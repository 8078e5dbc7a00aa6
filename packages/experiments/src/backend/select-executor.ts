/**
 * Which expert executor a run uses (@moepp/core's executors/): `tf-ops` on native TensorFlow,
 * whose gather and segment-sum kernels are fast, and on `webgpu`, whose tensors live on the GPU
 * (the host executor reads each layer's rows to the host and waits for the GPU to get them);
 * `host` everywhere else (wasm, blas, cpu). An
 * explicit choice (`--executor`, else `MOEPP_EXECUTOR`) overrides it; the result is recorded in
 * every run's environment.json.
 */
import { EXECUTOR_NAMES, type ExecutorName } from '@moepp/core';
import { BackendError } from './select-backend.ts';

export const EXECUTOR_CHOICES = ['auto', ...EXECUTOR_NAMES] as const;

/**
 * @example
 * selectExecutor('wasm', undefined); // 'host'
 * selectExecutor('tensorflow', undefined); // 'tf-ops'
 * selectExecutor('webgpu', undefined); // 'tf-ops'
 */
export function selectExecutor(backend: string, requested: string | undefined, env: Record<string, string | undefined> = process.env): ExecutorName {
  const fromOption = requested !== undefined && requested !== '';
  const raw = fromOption ? requested : env.MOEPP_EXECUTOR;
  const choice = raw === undefined || raw === '' ? 'auto' : raw.trim().toLowerCase();
  if (!(EXECUTOR_CHOICES as readonly string[]).includes(choice)) {
    throw new BackendError(`unknown executor "${raw}" (from ${fromOption ? '--executor' : 'MOEPP_EXECUTOR'}); valid values: ${EXECUTOR_CHOICES.join(', ')}`);
  }
  if (choice !== 'auto') return choice as ExecutorName;
  return backend === 'tensorflow' || backend === 'tensorflow-gpu' || backend === 'webgpu' ? 'tf-ops' : 'host';
}
