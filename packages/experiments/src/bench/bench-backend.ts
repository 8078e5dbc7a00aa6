/**
 * Backend set-up for the benchmark: the experiments package's run-time selection (native
 * TensorFlow → wasm with threads and kernel patches → cpu; `MOEPP_BACKEND` / `--backend`).
 */
import type { ExecutorName } from '@moepp/core';
import { selectBackend, BackendError } from '../backend/select-backend.ts';
import { selectExecutor } from '../backend/select-executor.ts';

export interface BenchBackend {
  backend: string;
  threads: number;
  /** How MoE++ experts execute (select-executor.ts). */
  executor: ExecutorName;
  /** Kernel patches applied to the backend (names), empty when none. */
  patches: string[];
  description?: string;
}

/** Selects and initialises the backend; `requested` and `threads` come from --backend / --threads. */
export async function setupBenchBackend(requested: string | undefined, threads: number | undefined): Promise<BenchBackend> {
  const r = await selectBackend({ ...(requested ? { requested } : {}), ...(threads ? { threads } : {}) });
  const executor = selectExecutor(r.backend, undefined);
  return { backend: r.backend, threads: r.threads, executor, patches: r.patches, description: `${r.description}; ${executor} expert executor` };
}

export { BackendError };
