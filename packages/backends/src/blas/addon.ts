/**
 * Loading the optional OpenBLAS addon (native/, built by the package's install script).
 *
 * The addon is optional: where OpenBLAS or a compiler was missing at install time it does not
 * exist, and `loadBlasAddon` says why (repeating the build's own reason when it left one) and
 * what to install, so that backend selection can fall back to plain wasm with that notice.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { CudaDevice, GpuProducts } from '../cuda/cuda-products.ts';
import type { RowOps } from '../row-ops.ts';

const require = createRequire(import.meta.url);

/** The addon's exports (native/src/moepp_blas.cc). */
export interface BlasAddon {
  /**
   * For each entry i: C_i (m, n) = op(A_i)·op(B_i), row-major, A_i at `a[aOffsets[i]]`, B_i at
   * `b[bOffsets[i]]`, C_i at `c[i·m·n]`; `c` is overwritten. Throws a RangeError when an entry
   * would reach outside its array.
   */
  sgemmBatch(transA: boolean, transB: boolean, m: number, n: number, k: number, a: Float32Array, aOffsets: Int32Array, b: Float32Array, bOffsets: Int32Array, c: Float32Array): void;
  /** Per row of logits (rows, cols): lse = log Σ exp, loss = lse − logits[target]; throws on a target outside [0, cols). */
  softmaxCrossEntropy(logits: Float32Array, targets: Int32Array, rows: number, cols: number, loss: Float32Array, lse: Float32Array): void;
  /** dlogits = scale · (softmax(logits) − onehot(targets)), from the forward's lse. */
  softmaxCrossEntropyGrad(logits: Float32Array, lse: Float32Array, targets: Int32Array, rows: number, cols: number, scale: number, dlogits: Float32Array): void;
  /** Σ x² over every array, accumulated in float64. */
  sumOfSquares(arrays: Float32Array[]): number;
  /**
   * One AdamW step of one parameter into pOut, mOut, vOut (which may be p, m, v); `scalars` =
   * [β₁, β₂, (1−β₁)s, (1−β₂)s², 1/(1−β₂ᵗ), ε, 1 − lr·λ, lr/(1−β₁ᵗ)].
   */
  adamwUpdate(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, pOut: Float32Array, mOut: Float32Array, vOut: Float32Array, scalars: Float64Array): void;
  /** Per row: rstd = 1/√(mean x² + eps), y = x·rstd·gain (layer_math.h states the layer kernels). */
  rmsNorm(x: Float32Array, gain: Float32Array, rows: number, d: number, eps: number, y: Float32Array, rstd: Float32Array): void;
  /** RMSNorm's backward from the forward's rstd: dx (rows, d) and dgain (d), both overwritten. */
  rmsNormGrad(x: Float32Array, gain: Float32Array, rstd: Float32Array, dy: Float32Array, rows: number, d: number, dx: Float32Array, dgain: Float32Array): void;
  /** h = silu(gate)·up, elementwise. */
  swiGlu(gate: Float32Array, up: Float32Array, h: Float32Array): void;
  /** SwiGLU's backward: h again, dgate and dup, elementwise. */
  swiGluGrad(gate: Float32Array, up: Float32Array, dh: Float32Array, h: Float32Array, dgate: Float32Array, dup: Float32Array): void;
  /** Causal attention with RoPE on (B·T, D) projections; throws when headDim is odd or a size is wrong. */
  causalAttention(q: Float32Array, k: Float32Array, v: Float32Array, cos: Float32Array, sin: Float32Array, batch: number, seqLen: number, heads: number, headDim: number, out: Float32Array, probs: Float32Array, qRot: Float32Array, kRot: Float32Array): void;
  /** Its backward from the saved qRot, kRot, v and probs: dq, dk, dv overwritten. */
  causalAttentionGrad(qRot: Float32Array, kRot: Float32Array, v: Float32Array, probs: Float32Array, dOut: Float32Array, cos: Float32Array, sin: Float32Array, batch: number, seqLen: number, heads: number, headDim: number, dq: Float32Array, dk: Float32Array, dv: Float32Array): void;
  /** The host executor's row moves (row-ops.ts states them); throw a RangeError on an index outside its array. */
  scatterAddWeighted: RowOps['scatterAddWeighted'];
  gatherWeighted: RowOps['gatherWeighted'];
  scatterAddWithDot: RowOps['scatterAddWithDot'];
  /** The token-wise experts' row loops (row-ops.ts states them); throw a RangeError on a size that does not fit. */
  rowDots: RowOps['rowDots'];
  addScaledVector: RowOps['addScaledVector'];
  addScaledRows: RowOps['addScaledRows'];
  pairDots: RowOps['pairDots'];
  addWeightedRowSum: RowOps['addWeightedRowSum'];
  /** Whether this CPU runs the packed-weight kernel (AVX2 and FMA). */
  packedGemmSupported(): boolean;
  /** packed (packedSize(k, n) floats) = b (k, n) in the packed kernel's panel layout (native/src/packed_gemm.h). */
  packWeight(b: Float32Array, k: number, n: number, packed: Float32Array): void;
  /** c (m, n) = a (m, k) · B, B as `packWeight` left it; one thread; c is overwritten. */
  gemmPacked(a: Float32Array, packed: Float32Array, m: number, n: number, k: number, c: Float32Array): void;
  /**
   * out[index[i]] += w[weightIndex[i]] · W_down(silu(x[index[i]] · W_gate) ⊙ (x[index[i]] · W_up)) for
   * each slot whose weight is not 0: one SwiGLU expert's forward in one call, on weights packed by
   * `packWeight` (gate and up (d, hidden), down (hidden, d)); one thread (native/src/packed_swiglu_expert.h).
   */
  packedSwiGluExpert(x: Float32Array, index: Int32Array, weightIndex: Int32Array, w: Float32Array, gate: Float32Array, up: Float32Array, down: Float32Array, d: number, hidden: number, out: Float32Array): void;
  /**
   * Opens the CUDA runtime and cuBLAS (from the first of dirs that holds them, else the loader's
   * search path) and GPU 0, for the `cuda` route (native/src/cuda_gemm.h); never throws.
   */
  cudaOpen(dirs: string[]): ({ ok: true } & CudaDevice) | { ok: false; reason: string };
  /** `sgemmBatch`'s contract, computed by cuBLAS: operands copied to the GPU, the result back. Throws when the route is not open or CUDA fails. */
  cudaSgemmBatch(transA: boolean, transB: boolean, m: number, n: number, k: number, a: Float32Array, aOffsets: Int32Array, b: Float32Array, bOffsets: Int32Array, c: Float32Array): void;
  /** Seconds and bytes of the last `cudaSgemmBatch`'s copies and products. */
  cudaLastTimings(): { upload: number; compute: number; download: number; bytesUp: number; bytesDown: number };
  /** Frees the route's GPU buffers and cuBLAS handle. */
  cudaClose(): void;
  /** Set only on the `cuda` configuration's addon (cuda-products.ts): its routing of products to the GPU. */
  gpuProducts?: GpuProducts;
  /** Sets OpenBLAS's thread count; returns the count OpenBLAS then reports. */
  setNumThreads(threads: number): number;
  getNumThreads(): number;
  /** What the loaded library says about itself. */
  info(): { config: string; corename: string; parallel: 'pthread' | 'openmp' | 'sequential'; threads: number };
}

export type BlasAddonLoad = { ok: true; addon: BlasAddon; path: string } | { ok: false; reason: string };

/** What to install for the native path (also in the README). */
export const BLAS_INSTALL_HINT = 'apt-get install libopenblas-dev libopenblas-pthread-dev build-essential, then pnpm build:native';

const nativeDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native');

/** Where the install script puts the addon; `MOEPP_BLAS_ADDON` overrides it. */
export const DEFAULT_BLAS_ADDON_PATH = join(nativeDir, 'build', 'Release', 'moepp_blas.node');

const loaded = new Map<string, BlasAddonLoad>();

/**
 * Loads the addon at `path` (default: `MOEPP_BLAS_ADDON`, else the install script's output), or
 * says in one line why it cannot be used. Never throws; results are cached per path.
 *
 * @example
 * const blas = loadBlasAddon();
 * if (blas.ok) blas.addon.setNumThreads(2); else console.warn(blas.reason);
 */
export function loadBlasAddon(path = process.env.MOEPP_BLAS_ADDON || DEFAULT_BLAS_ADDON_PATH): BlasAddonLoad {
  const cached = loaded.get(path);
  if (cached) return cached;
  let result: BlasAddonLoad;
  if (!existsSync(path)) {
    const failure = join(nativeDir, 'build', 'failure.txt');
    const why = path === DEFAULT_BLAS_ADDON_PATH && existsSync(failure) ? readFileSync(failure, 'utf8').trim() : `${path} does not exist`;
    result = { ok: false, reason: `the OpenBLAS addon is not built (${why})` };
  } else {
    try {
      result = { ok: true, addon: require(path) as BlasAddon, path };
    } catch (e) {
      result = { ok: false, reason: `loading the OpenBLAS addon failed (${String((e as Error)?.message ?? e).split('\n')[0]})` };
    }
  }
  loaded.set(path, result);
  return result;
}
