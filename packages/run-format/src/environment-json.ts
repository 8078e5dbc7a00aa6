/** `environment.json`: what a run or a benchmark ran on, recorded beside its results. */
import { z } from 'zod';

export const runEnvironmentSchema = z.object({
  /** tfjs backend name (`wasm`, `tensorflow`, `cpu`). */
  backend: z.string(),
  /** Threads doing the arithmetic: for `blas`, OpenBLAS's as the library reports them. */
  threads: z.number(),
  /** `blas` only: XNNPACK's threads for the ops left on wasm. */
  wasmThreads: z.number().optional(),
  /** `blas` only: the OpenBLAS build loaded (`openblas_get_config()`). */
  blasLibrary: z.string().optional(),
  /** `webgpu` only: the GPU adapter Dawn chose, in one line (`nvidia hopper (NVIDIA H200)`). */
  gpuAdapter: z.string().optional(),
  /** How MoE++ experts executed (@moepp/core's executors: `host`, `tf-ops`); absent in folders written before it was recorded. */
  executor: z.string().optional(),
  /** `process.version`. */
  node: z.string(),
  platform: z.string(),
  cpu: z.string(),
  cores: z.number(),
  /** Versions of the packages that decide the numbers. */
  packages: z.record(z.string(), z.string()),
  /** null outside a git checkout; `+dirty` when tracked files were modified. */
  gitCommit: z.string().nullable(),
  seed: z.number().nullable(),
  /** ISO 8601. */
  startedAt: z.string(),
});
export type RunEnvironment = z.infer<typeof runEnvironmentSchema>;

/** A benchmark's environment.json: the run environment plus what the benchmark adds. */
export const benchEnvironmentSchema = runEnvironmentSchema.extend({
  /** Kernel patches registered over the backend. */
  patches: z.array(z.string()),
  command: z.string(),
  /** `os.loadavg()` at the start (1, 5, 15 min), and at the end once finished. */
  loadAverage: z.array(z.number()),
  loadAverageAtEnd: z.array(z.number()).optional(),
});
export type BenchEnvironment = z.infer<typeof benchEnvironmentSchema>;
