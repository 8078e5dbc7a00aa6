/**
 * Backend set-up for the benchmark: the experiments package's run-time selection (native
 * TensorFlow → wasm with threads and kernel patches → cpu; `MOEPP_BACKEND` / `--backend`).
 */
import { selectBackend, BackendError } from '../backend/select-backend.ts';

export interface BenchBackend {
  backend: string;
  threads: number;
  /** Kernel patches applied to the backend (names), empty when none. */
  patches: string[];
  description?: string;
}

/** Selects and initialises the backend; `requested` and `threads` come from --backend / --threads. */
export async function setupBenchBackend(requested: string | undefined, threads: number | undefined): Promise<BenchBackend> {
  const r = await selectBackend({ ...(requested ? { requested } : {}), ...(threads ? { threads } : {}) });
  return { backend: r.backend, threads: r.threads, patches: r.patches, description: r.description };
}

export { BackendError };
