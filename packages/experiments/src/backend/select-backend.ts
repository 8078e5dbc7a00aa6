/**
 * Run-time backend selection for the CLI, benchmarks and runs.
 *
 * `auto` takes the fastest backend that loads here. Where a GPU device node exists (gpu-device.ts):
 * first `cuda` — the `blas` configuration below with its larger products on cuBLAS (see
 * @moepp/backends' cuda-products), where the addon finds the CUDA runtime and cuBLAS and GPU 0 —
 * then a GPU through WebGPU (`webgpu`: tfjs's WebGPU backend on Dawn, see @moepp/backends'
 * init-webgpu) where Dawn finds a hardware adapter; either only when it passes a numeric
 * self-check against `cpu` (backend-self-check.ts). Then native TensorFlow
 * with CUDA (`@tensorflow/tfjs-node-gpu`), native TensorFlow on the CPU (`@tensorflow/tfjs-node`), then
 * `blas` — WebAssembly with the kernel patches of @moepp/backends, OpenBLAS GEMM kernels over it
 * and the addon's fused training kernels (AdamW, clip norm, cross-entropy, RMSNorm, SwiGLU, causal attention) — when the addon loads, then plain WebAssembly (`wasm`), then plain JS (`cpu`).
 * The native TensorFlow packages are optional dependencies whose install script downloads
 * libtensorflow; on a closed network that download fails, the package stays without its native
 * addon, and loading it throws — which is caught here and reported, never fatal in `auto`. The
 * OpenBLAS addon is built at install time where OpenBLAS and a compiler are present; without
 * it `auto` says in one line what to install and uses `wasm`. Without a GPU adapter `auto` says so
 * in one line and goes on; a GPU backend that initialises but fails the self-check is an error
 * naming the worst case and its error, in `auto` too: a wrong backend must never train silently.
 *
 * An explicit choice (`--backend`, else `MOEPP_BACKEND`) that cannot load is an error that says
 * why and what to do instead; `MOEPP_THREADS` (or `--threads`) sets the thread count: XNNPACK's
 * for `wasm`, OpenBLAS's for `blas` (whose remaining wasm ops run on one thread). One thread is
 * the default: XNNPACK wakes its pool for every operator, and on a 2-core machine shared with
 * other work `MOEPP_THREADS=1` trains the small preset ~2× faster (BENCHMARKS.md, "wasm
 * backend: threads and kernel patches"; for OpenBLAS, "BLAS GEMM kernels").
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import {
  adapterLabel,
  BLAS_INSTALL_HINT,
  blasKernelsAddon,
  cudaLibraryDirs,
  cudaProductsAddon,
  openCuda,
  initWasmBackend,
  initWebGpu,
  loadBlasAddon,
  MAX_WASM_THREADS,
  patchWasmKernels,
  registerBlasKernels,
  setBlasThreads,
  TRAINING_KERNELS,
  unregisterBlasKernels,
  type BlasAddon,
  type BlasAddonLoad,
  type CudaDevice,
  type CudaOpen,
  type GpuCostModel,
  type WebGpuInit,
} from '@moepp/backends';
import { selfCheckBackend, type SelfCheckResult } from './backend-self-check.ts';
import { GPU_DEVICE_NODES, gpuDevicePresent } from './gpu-device.ts';

const require = createRequire(import.meta.url);

/** Values accepted by `--backend` and `MOEPP_BACKEND`. */
export const BACKEND_CHOICES = ['auto', 'cuda', 'webgpu', 'tensorflow-gpu', 'tensorflow', 'blas', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
export type BackendName = Exclude<BackendChoice, 'auto'>;

/** A backend that was asked for but cannot be used, or an invalid setting; `message` says what to do. */
/**
 * Default wasm thread count: 1, not one per core. Measured on the 2-core machine this project runs
 * on (BENCHMARKS.md, "Threads"): XNNPACK's pool adds 0.1–0.6 ms to every op, so a small-preset
 * training step (hundreds of small ops) runs 1.7–2× slower with 2 threads than with 1; only large
 * matmuls with an idle second core gain. `--threads` / `MOEPP_THREADS` set it per run.
 */
export const DEFAULT_WASM_THREADS = 1;

/**
 * `blas` runs its non-GEMM ops on wasm with one thread: what is left there is small elementwise
 * work, for which XNNPACK's per-operator pool wake-up costs more than it gains (see above), and
 * OpenBLAS's own threads do the products.
 */
export const BLAS_WASM_THREADS = 1;

export class BackendError extends Error {
  override name = 'BackendError';
}

export interface SelectBackendOptions {
  /** `--backend`; overrides `MOEPP_BACKEND`. Default `auto`. */
  requested?: string;
  /** `--threads` for wasm; overrides `MOEPP_THREADS`. Default: {@link DEFAULT_WASM_THREADS}. */
  threads?: number;
  /** Environment to read `MOEPP_BACKEND` / `MOEPP_THREADS` / `MOEPP_BLAS_ADDON` (the addon's path) from (tests pass their own). */
  env?: Record<string, string | undefined>;
  /** Loads the OpenBLAS addon (default: @moepp/backends' `loadBlasAddon`); tests inject a missing one. */
  loadBlas?: () => BlasAddonLoad;
  /** Loads Dawn and registers tfjs's WebGPU backend (default: @moepp/backends' `initWebGpu`); tests inject a missing or a wrong one. */
  initWebGpu?: () => Promise<WebGpuInit>;
  /** Opens the CUDA runtime and cuBLAS through the addon (default: @moepp/backends' `openCuda` on `cudaLibraryDirs`, which reads `MOEPP_CUDA_LIBS`); tests open stand-ins. */
  openCuda?: (addon: BlasAddon) => CudaOpen;
  /** Whether this machine has a GPU device node (default: `gpuDevicePresent`); tests inject one. */
  gpuDevicePresent?: () => boolean;
  /** Where the one-line fallback notice goes (default: `console.warn`). */
  warn?: (line: string) => void;
}

export interface SelectedBackend {
  /** The backend chosen, in `--backend` terms. */
  backend: BackendName;
  /** tfjs's name for it (`tf.getBackend()`): `tensorflow` for both native packages. */
  tfjsBackend: string;
  /** Threads doing the arithmetic (wasm: XNNPACK's pool; blas and cuda: OpenBLAS's, as it reports them; native: TensorFlow's own pool; webgpu: 1, the one driving the GPU). */
  threads: number;
  /** blas and cuda: XNNPACK's threads for the ops left on wasm. */
  wasmThreads?: number;
  /** blas and cuda: the OpenBLAS library loaded (`openblas_get_config()`). */
  blasLibrary?: string;
  /** cuda only: the GPU and libraries, and the size from which products go to the GPU. */
  cuda?: CudaDevice & { costModel: GpuCostModel };
  /** wasm and blas: whether the SIMD build runs. */
  simd?: boolean;
  /** webgpu: the GPU adapter Dawn chose; cuda: the GPU, its compute capability and the CUDA runtime and cuBLAS versions; in one line. */
  adapter?: string;
  /** webgpu and cuda: the self-check's largest error relative to `cpu` (within SELF_CHECK_TOLERANCE, else selection failed). */
  selfCheckError?: number;
  /** webgpu and cuda: that self-check case by case (for cuda, run with every product on the GPU). */
  selfCheck?: SelfCheckResult;
  /** Kernel patches applied (wasm, blas), empty otherwise. */
  patches: string[];
  /** One line on what `auto` skipped that could be installed (the OpenBLAS addon), also sent to `warn`. */
  notice?: string;
  /** One line saying that `auto` could not use cuBLAS on a machine with a GPU (and why), also sent to `warn`, first. */
  cudaNotice?: string;
  /** One line saying that `auto` found no usable GPU (and why), also sent to `warn`, before `notice`. */
  webgpuNotice?: string;
  /** How the choice was made: what was requested, what was tried and why it failed. */
  detail: string;
  /** One line for logs, e.g. `wasm (SIMD, 2 threads, 9 kernel patches) — auto; tensorflow-gpu, tensorflow: libtensorflow not installed`. */
  description: string;
}

interface NativePackage {
  backend: 'tensorflow-gpu' | 'tensorflow';
  pkg: string;
}

const NATIVE: NativePackage[] = [
  { backend: 'tensorflow-gpu', pkg: '@tensorflow/tfjs-node-gpu' },
  { backend: 'tensorflow', pkg: '@tensorflow/tfjs-node' },
];

/** Why `pkg`'s native addon cannot be present, or null when it may be (then loading decides). */
function missingNativeAddon(pkg: string): string | null {
  let dir: string;
  try {
    dir = dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    return `${pkg} is not installed`;
  }
  // node-pre-gyp puts the addon under lib/napi-v<N>/; without it the package's own loader throws.
  const lib = join(dir, 'lib');
  const hasAddon = existsSync(lib) && readdirSync(lib).some((d) => existsSync(join(lib, d, 'tfjs_binding.node')));
  return hasAddon ? null : `${pkg} has no native addon: libtensorflow was not downloaded when it was installed`;
}

/** Loads a native TensorFlow package and activates its backend; returns why not on failure. */
async function tryNative(native: NativePackage): Promise<string | null> {
  const missing = missingNativeAddon(native.pkg);
  if (missing) return missing;
  try {
    await import(native.pkg);
  } catch (e) {
    return `loading ${native.pkg} failed: ${firstLine(e)}`;
  }
  try {
    if (!(await tf.setBackend('tensorflow'))) return `${native.pkg} loaded but its 'tensorflow' backend failed to initialise`;
  } catch (e) {
    return `${native.pkg} loaded but activating its backend failed: ${firstLine(e)}`;
  }
  return null;
}

/** wasm on one thread, the BLAS kernels calling `kernelAddon` (the addon itself, or `cuda`'s routing of it), OpenBLAS on `threads`. */
async function initBlasConfiguration(addon: BlasAddon, kernelAddon: BlasAddon, threads: number): Promise<{ backend: Omit<SelectedBackend, 'description' | 'tfjsBackend' | 'detail'>; note?: string }> {
  const info = await initWasmBackend({ threads: BLAS_WASM_THREADS });
  // Registration is idempotent per addon: `blas` after `cuda` (or the reverse) in one process re-registers.
  if (blasKernelsAddon() !== kernelAddon) unregisterBlasKernels();
  registerBlasKernels(kernelAddon);
  const blasThreads = setBlasThreads(addon, threads);
  const note = [info.note, blasThreads !== threads ? `OpenBLAS uses ${blasThreads} of the ${threads} threads asked for` : undefined].filter(Boolean).join('; ');
  return {
    backend: { backend: 'blas', threads: blasThreads, wasmThreads: info.threads, blasLibrary: addon.info().config, simd: info.simd, patches: patchWasmKernels() },
    note: note || undefined,
  };
}

/**
 * `cuda`: the OpenBLAS addon, the CUDA libraries and GPU 0 opened, the `blas` configuration with
 * the routed addon, and the self-check with every product on the GPU. Returns the selection, or
 * why it cannot be used; wrong numbers are a BackendError.
 */
async function tryCuda(blas: BlasAddonLoad, openCuda: (addon: BlasAddon) => CudaOpen, threads: number): Promise<{ backend: Omit<SelectedBackend, 'description' | 'tfjsBackend' | 'detail'>; note?: string } | string> {
  if (!blas.ok) return `it runs on the OpenBLAS addon, which is not available (${blas.reason})`;
  const open = openCuda(blas.addon);
  if (!open.ok) return open.reason;
  const routed = cudaProductsAddon(blas.addon);
  let configured: Awaited<ReturnType<typeof initBlasConfiguration>>;
  try {
    configured = await initBlasConfiguration(blas.addon, routed, threads);
  } catch (e) {
    unregisterBlasKernels();
    return `the blas configuration under it failed to initialise: ${firstLine(e)}`;
  }
  const label = `${open.device.device} (compute ${open.device.computeCapability})`;
  routed.gpuProducts.all = true; // every product of the check on the GPU
  const check = await selfCheckBackend('wasm').catch((e: unknown) => firstLine(e));
  routed.gpuProducts.all = false;
  if (typeof check === 'string') {
    unregisterBlasKernels();
    return `${label} opened but the self-check could not run: ${check}`;
  }
  if (!check.ok) {
    unregisterBlasKernels();
    throw selfCheckFailure('cuda', label, check);
  }
  return {
    backend: {
      ...configured.backend,
      backend: 'cuda',
      adapter: `${label}, CUDA runtime ${cudaVersion(open.device.runtimeVersion)}, driver ${cudaVersion(open.device.driverVersion)}, cuBLAS ${cublasVersion(open.device.cublasVersion)}`,
      cuda: { ...open.device, costModel: routed.gpuProducts.model },
      selfCheckError: check.worst.relativeError,
      selfCheck: check,
    },
    note: configured.note,
  };
}

/** The error for a GPU backend whose numbers disagree with `cpu`: the worst case and its error, and what to use instead. */
function selfCheckFailure(backend: 'cuda' | 'webgpu', label: string, check: SelfCheckResult): BackendError {
  const what = check.worst.error ? `threw (${check.worst.error})` : `has a max relative error of ${check.worst.relativeError.toExponential(2)} (tolerance ${check.tolerance})`;
  return new BackendError(
    `backend "${backend}" (${label}) fails its numeric self-check against cpu: ${check.worst.name} ${what}, so its results cannot be trusted; ` +
      'use another backend: --backend blas or --backend wasm (or MOEPP_BACKEND=wasm).',
  );
}

/** CUDA's 1000·major + 10·minor as "major.minor". */
function cudaVersion(v: number): string {
  return `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}`;
}

/** cuBLAS's 10000·major + 100·minor + patch as "major.minor.patch". */
function cublasVersion(v: number): string {
  return `${Math.floor(v / 10000)}.${Math.floor((v % 10000) / 100)}.${v % 100}`;
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}

function parseChoice(value: string, source: string): BackendChoice {
  const v = value.trim().toLowerCase();
  if ((BACKEND_CHOICES as readonly string[]).includes(v)) return v as BackendChoice;
  throw new BackendError(`unknown backend "${value}" (from ${source}); valid values: ${BACKEND_CHOICES.join(', ')}`);
}

function parseThreads(value: number | string, source: string): number {
  const n = typeof value === 'number' ? value : Number(value.trim());
  if (!Number.isInteger(n) || n < 1) throw new BackendError(`invalid thread count "${value}" (from ${source}); expected an integer ≥ 1 (wasm uses at most ${MAX_WASM_THREADS})`);
  return n;
}

/** A few words for the one-line description; the full reason stays in `detail`. */
function shortReason(why: string): string {
  if (why.includes('no native addon')) return 'libtensorflow not installed';
  if (why.includes('is not installed')) return 'package not installed';
  if (why.includes('OpenBLAS addon')) return 'OpenBLAS addon not available';
  if (why.includes('no GPU adapter')) return 'no GPU adapter';
  if (why.includes('no GPU device')) return 'no GPU device';
  if (/^(the CUDA runtime|cuBLAS) .*was not found/.test(why)) return 'CUDA libraries not found';
  if (why.startsWith('no CUDA device')) return 'no CUDA device';
  return why.length > 60 ? `${why.slice(0, 57)}…` : why;
}

function describe(s: Omit<SelectedBackend, 'description'>, how: string, failed: { backend: string; why: string }[]): string {
  const parts: string[] = [];
  const plural = (n: number) => `${n} thread${n === 1 ? '' : 's'}`;
  if (s.backend === 'wasm') {
    parts.push(s.simd ? 'SIMD' : 'no SIMD', plural(s.threads));
    if (s.patches.length) parts.push(`${s.patches.length} kernel patches`);
  } else if (s.backend === 'blas') {
    parts.push(`OpenBLAS GEMM, ${plural(s.threads)}`, `${Object.keys(TRAINING_KERNELS).length} fused training kernels`, `wasm ${s.simd ? 'SIMD' : 'no SIMD'}, ${plural(s.wasmThreads ?? 1)}`);
    if (s.patches.length) parts.push(`${s.patches.length} kernel patches`);
  } else if (s.backend === 'cuda') {
    const c = s.cuda;
    parts.push(`cuBLAS on ${c?.device ?? 'unknown GPU'} (compute ${c?.computeCapability ?? '?'}) for products whose copies cost less than OpenBLAS`, `OpenBLAS for the rest, ${plural(s.threads)}`, `self-check ${(s.selfCheckError ?? Number.NaN).toExponential(1)} of cpu`);
  } else if (s.backend === 'webgpu') {
    parts.push(`WebGPU on ${s.adapter ?? 'unknown adapter'}`, `self-check ${(s.selfCheckError ?? Number.NaN).toExponential(1)} of cpu`);
  } else if (s.backend === 'cpu') {
    parts.push('plain JS, 1 thread');
  } else {
    parts.push(`native TensorFlow${s.backend === 'tensorflow-gpu' ? ' with CUDA' : ''}`);
  }
  // Failures with the same short reason share one mention: "tensorflow-gpu, tensorflow: libtensorflow not installed".
  const byReason = new Map<string, string[]>();
  for (const f of failed) byReason.set(shortReason(f.why), [...(byReason.get(shortReason(f.why)) ?? []), f.backend]);
  const skipped = [...byReason].map(([reason, names]) => `${names.join(', ')}: ${reason}`);
  return `${s.backend} (${parts.join(', ')}) — ${[how, ...skipped].join('; ')}`;
}

/**
 * Selects, initialises and activates the tfjs backend (see the module comment for the order).
 *
 * @example
 * const b = await selectBackend({ requested: opts.backend }); // --backend, else MOEPP_BACKEND, else auto
 * console.log(`backend: ${b.description}`); // wasm (SIMD, 2 threads, 9 kernel patches) — auto; tensorflow-gpu, …
 */
export async function selectBackend(options: SelectBackendOptions = {}): Promise<SelectedBackend> {
  const env = options.env ?? process.env;
  const fromOption = options.requested !== undefined && options.requested !== '';
  const source = fromOption ? '--backend' : 'MOEPP_BACKEND';
  const rawChoice = fromOption ? options.requested : env.MOEPP_BACKEND;
  const choice: BackendChoice = rawChoice === undefined || rawChoice === '' ? 'auto' : parseChoice(rawChoice, source);
  const threadsSource = options.threads !== undefined ? '--threads' : 'MOEPP_THREADS';
  const rawThreads = options.threads ?? (env.MOEPP_THREADS === undefined || env.MOEPP_THREADS === '' ? undefined : env.MOEPP_THREADS);
  const threads = rawThreads === undefined ? DEFAULT_WASM_THREADS : parseThreads(rawThreads, threadsSource);
  const warn = options.warn ?? ((line: string) => console.warn(line));
  const how = choice === 'auto' ? 'auto' : `requested by ${source}`;
  const failed: { backend: string; why: string }[] = [];

  // Why the OpenBLAS addon could not be loaded, when `auto` had to skip `blas` for that.
  let blasMissing: string | undefined;
  // Why no GPU could be used, when `auto` had to skip `webgpu` for that.
  let webgpuMissing: string | undefined;
  // Why cuBLAS could not be used on a machine with a GPU, when `auto` had to skip `cuda` for that.
  let cudaMissing: string | undefined;
  const finish = (s: Omit<SelectedBackend, 'description' | 'tfjsBackend' | 'detail'>, note?: string): SelectedBackend => {
    const detail = [how, ...failed.map((f) => `${f.backend} unavailable (${f.why})`), ...(note ? [note] : [])].join('; ');
    const notice = blasMissing ? `notice: blas (OpenBLAS GEMM) unavailable: ${blasMissing}; using ${s.backend}. To enable it: ${BLAS_INSTALL_HINT}.` : undefined;
    const webgpuNotice = webgpuMissing ? `notice: webgpu (GPU) unavailable: ${webgpuMissing}; using ${s.backend}.` : undefined;
    const cudaNotice = cudaMissing ? `notice: cuda (cuBLAS GEMM) unavailable: ${cudaMissing}; using ${s.backend}.` : undefined;
    const full = { ...s, tfjsBackend: tf.getBackend(), detail, ...(notice ? { notice } : {}), ...(webgpuNotice ? { webgpuNotice } : {}), ...(cudaNotice ? { cudaNotice } : {}) };
    if (cudaNotice) warn(cudaNotice);
    if (webgpuNotice) warn(webgpuNotice);
    if (notice) warn(notice);
    return { ...full, description: describe(full, [how, ...(note ? [note] : [])].join('; '), failed) };
  };

  // Without a GPU device node `auto` does not look for CUDA or load Dawn at all: Dawn would only
  // print its own Vulkan warnings and find nothing. Asked for by name, each is always tried.
  const skipGpu = choice === 'auto' && !(options.gpuDevicePresent ?? gpuDevicePresent)();
  if (choice === 'cuda' || (choice === 'auto' && !skipGpu)) {
    const open = options.openCuda ?? ((addon: BlasAddon) => openCuda(addon, cudaLibraryDirs(env)));
    const selected = await tryCuda(options.loadBlas ? options.loadBlas() : loadBlasAddon(env.MOEPP_BLAS_ADDON || undefined), open, threads);
    if (typeof selected !== 'string') return finish(selected.backend, selected.note);
    if (choice === 'cuda') {
      throw new BackendError(
        `backend "cuda" cannot be used: ${selected}. It needs the OpenBLAS addon, an NVIDIA GPU and the CUDA runtime and cuBLAS (set MOEPP_CUDA_LIBS to the folder holding libcudart.so and libcublas.so); ` +
          'or use another backend: --backend blas or --backend wasm (or MOEPP_BACKEND=wasm).',
      );
    }
    failed.push({ backend: 'cuda', why: selected });
    cudaMissing = selected;
  } else if (skipGpu) {
    failed.push({ backend: 'cuda', why: `no GPU device (${GPU_DEVICE_NODES.join(', ')})` });
  }
  if (choice === 'webgpu' || (choice === 'auto' && !skipGpu)) {
    const gpu = await (options.initWebGpu ?? initWebGpu)();
    let why: string;
    if (!gpu.ok) why = gpu.reason;
    else if (choice === 'auto' && gpu.adapter.software) why = `only a software adapter, ${adapterLabel(gpu.adapter)}, no faster than the CPU backends`;
    else {
      const label = adapterLabel(gpu.adapter);
      const check = await selfCheckBackend(gpu.tfjsBackend).catch((e: unknown) => firstLine(e));
      if (typeof check === 'string') why = `${label} initialised but could not run: ${check}`;
      else if (!check.ok) {
        throw selfCheckFailure('webgpu', label, check);
      } else {
        if (!(await tf.setBackend(gpu.tfjsBackend))) throw new BackendError(`backend "webgpu" (${label}) passed its self-check but could not be activated`);
        return finish({ backend: 'webgpu', threads: 1, adapter: label, selfCheckError: check.worst.relativeError, selfCheck: check, patches: [] });
      }
    }
    if (choice === 'webgpu') {
      throw new BackendError(
        `backend "webgpu" cannot be used: ${why}. On a GPU machine, install its Vulkan driver and loader (libvulkan1); ` +
          'or use another backend: --backend wasm (or MOEPP_BACKEND=wasm).',
      );
    }
    failed.push({ backend: 'webgpu', why });
    webgpuMissing = why;
  } else if (skipGpu) {
    const why = `no GPU device (${GPU_DEVICE_NODES.join(', ')})`;
    failed.push({ backend: 'webgpu', why });
    webgpuMissing = why;
  }

  for (const native of NATIVE) {
    if (choice !== 'auto' && choice !== native.backend) continue;
    const why = await tryNative(native);
    if (why === null) return finish({ backend: native.backend, threads: availableParallelism(), patches: [] }, "TensorFlow's own thread pool");
    if (choice === native.backend) {
      throw new BackendError(
        `backend "${native.backend}" (${native.pkg}) cannot be used: ${why}. ` +
          `Reinstall with network access so libtensorflow can be downloaded (pnpm install, or npm rebuild ${native.pkg}), ` +
          `or use another backend: --backend wasm (or MOEPP_BACKEND=wasm).`,
      );
    }
    failed.push({ backend: native.backend, why });
  }

  if (choice === 'auto' || choice === 'blas') {
    const blas = options.loadBlas ? options.loadBlas() : loadBlasAddon(env.MOEPP_BLAS_ADDON || undefined);
    if (blas.ok) {
      try {
        const configured = await initBlasConfiguration(blas.addon, blas.addon, threads);
        return finish(configured.backend, configured.note);
      } catch (e) {
        unregisterBlasKernels();
        if (choice === 'blas') throw new BackendError(`backend "blas" failed to initialise: ${firstLine(e)}. Use --backend wasm (or MOEPP_BACKEND=wasm) instead.`);
        failed.push({ backend: 'blas', why: firstLine(e) });
      }
    } else {
      if (choice === 'blas') {
        throw new BackendError(`backend "blas" cannot be used: ${blas.reason}. To enable it: ${BLAS_INSTALL_HINT}; or use --backend wasm (or MOEPP_BACKEND=wasm).`);
      }
      failed.push({ backend: 'blas', why: blas.reason });
      blasMissing = blas.reason;
    }
  }

  if (choice === 'auto' || choice === 'wasm') {
    try {
      const info = await initWasmBackend({ threads });
      // Plain wasm, also after a `blas` selection earlier in this process.
      unregisterBlasKernels();
      const patches = patchWasmKernels();
      return finish({ backend: 'wasm', threads: info.threads, simd: info.simd, patches }, info.note);
    } catch (e) {
      if (choice === 'wasm') {
        throw new BackendError(`backend "wasm" failed to initialise: ${firstLine(e)}. Use --backend cpu (or MOEPP_BACKEND=cpu) instead.`);
      }
      failed.push({ backend: 'wasm', why: firstLine(e) });
    }
  }

  // cpu: always available (plain JS).
  if (!(await tf.setBackend('cpu'))) throw new BackendError('backend "cpu" failed to initialise; this tfjs installation is broken');
  return finish({ backend: 'cpu', threads: 1, patches: [] });
}
