/**
 * Test support: the backends every core test runs on — `cpu`, `wasm`, where the OpenBLAS addon is
 * built `blas` (wasm with OpenBLAS GEMM kernels, @moepp/backends), and where the CUDA libraries
 * and a GPU open `cuda` (`blas` with its products on cuBLAS — every product, not only those the
 * cost model would send, so that each case's products really ran on the GPU). `wasm`, `blas` and
 * `cuda` run single-threaded here (tests check numbers, not speed), so results do not depend on
 * the machine's core count.
 *
 * `blas` and `cuda` come last: registering their kernels also applies the wasm kernel patches,
 * which cannot be undone, and the `wasm` cases run on the unpatched backend. With
 * `MOEPP_BACKEND=blas` (CI's default run) or `MOEPP_BACKEND=cuda` a backend that cannot run is an
 * error, not a skip: it was asked for. `MOEPP_TEST_BACKENDS=cuda` (a comma list) runs only the
 * cases of the backends it names: CI runs the suite once more that way on the stand-in CUDA
 * libraries, the GPU machine on NVIDIA's.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { blasKernelsAddon, cudaProductsAddon, loadBlasAddon, openCuda, registerBlasKernels, setBlasThreads, unregisterBlasKernels, type BlasAddon, type GpuProducts } from '@moepp/backends';

export type TestBackend = 'cpu' | 'wasm' | 'blas' | 'cuda';
const ALL: readonly TestBackend[] = ['cpu', 'wasm', 'blas', 'cuda'];

const requested = process.env.MOEPP_BACKEND?.trim().toLowerCase();
const blas = loadBlasAddon();
/** Why the `blas` cases do not run here, or null when they do. */
export const BLAS_UNAVAILABLE: string | null = blas.ok ? null : blas.reason;

/** The addon with every product routed to cuBLAS, or why there is none. */
function openCudaProducts(): { addon: BlasAddon & { gpuProducts: GpuProducts } } | { reason: string } {
  if (!blas.ok) return { reason: `it runs on the OpenBLAS addon: ${blas.reason}` };
  const open = openCuda(blas.addon);
  if (!open.ok) return { reason: open.reason };
  const routed = cudaProductsAddon(blas.addon);
  routed.gpuProducts.all = true;
  return { addon: routed };
}
const cuda = openCudaProducts();
/** Why the `cuda` cases do not run here, or null when they do. */
export const CUDA_UNAVAILABLE: string | null = 'reason' in cuda ? cuda.reason : null;

if (requested === 'blas' && BLAS_UNAVAILABLE !== null) throw new Error(`MOEPP_BACKEND=blas but ${BLAS_UNAVAILABLE}`);
if (requested === 'cuda' && CUDA_UNAVAILABLE !== null) throw new Error(`MOEPP_BACKEND=cuda but ${CUDA_UNAVAILABLE}`);

function testBackends(): TestBackend[] {
  const available = ALL.filter((b) => (b === 'blas' ? BLAS_UNAVAILABLE === null : b === 'cuda' ? CUDA_UNAVAILABLE === null : true));
  const only = process.env.MOEPP_TEST_BACKENDS?.trim();
  if (!only) return available;
  const names = only.toLowerCase().split(',').map((s) => s.trim()).filter(Boolean);
  for (const name of names) {
    if (!ALL.includes(name as TestBackend)) throw new Error(`MOEPP_TEST_BACKENDS names '${name}'; use a comma list of ${ALL.join(', ')}`);
    if (!available.includes(name as TestBackend)) throw new Error(`MOEPP_TEST_BACKENDS names '${name}', which cannot run here: ${name === 'blas' ? BLAS_UNAVAILABLE : CUDA_UNAVAILABLE}`);
  }
  return available.filter((b) => names.includes(b));
}
export const TEST_BACKENDS: readonly TestBackend[] = testBackends();

/** Switches tfjs to `name` and waits until it is ready. */
export async function useBackend(name: TestBackend): Promise<void> {
  const kernelAddon = name === 'blas' && blas.ok ? blas.addon : name === 'cuda' && 'addon' in cuda ? cuda.addon : null;
  // `blas` after `cuda` (or the reverse) re-registers with the other addon.
  if (blasKernelsAddon() !== kernelAddon) unregisterBlasKernels();
  const ok = await tf.setBackend(name === 'cpu' ? 'cpu' : 'wasm');
  if (!ok) throw new Error(`backend ${name} failed to initialise`);
  await tf.ready();
  if (name === 'blas' || name === 'cuda') {
    if (!blas.ok || kernelAddon === null) throw new Error((name === 'blas' ? BLAS_UNAVAILABLE : CUDA_UNAVAILABLE) ?? `${name} unavailable`);
    registerBlasKernels(kernelAddon);
    setBlasThreads(blas.addon, 1);
  }
}

/** Whether `backend` runs the addon's fused layer and training kernels (the `blas` configuration, which `cuda` is too). */
export function hasNativeKernels(backend: TestBackend): boolean {
  return backend === 'blas' || backend === 'cuda';
}

/** The `cuda` cases' product counts so far (GPU and CPU calls), or null where they do not run. */
export function cudaProductCounts(): { gpuCalls: number; cpuCalls: number } | null {
  if (!('addon' in cuda)) return null;
  const { gpuCalls, cpuCalls } = cuda.addon.gpuProducts;
  return { gpuCalls, cpuCalls };
}
