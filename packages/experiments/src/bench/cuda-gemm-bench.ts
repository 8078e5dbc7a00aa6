/**
 * The `cuda` route's cost per product, against OpenBLAS, side by side in one process: for the
 * model's product shapes at paper width (token blocks through a (768, 2048) weight and back, and
 * a weight gradient, which transposes its left operand) and square sizes around the crossover,
 * the median time of `sgemmBatch` on OpenBLAS with `--threads` threads and of `cudaSgemmBatch`
 * (copies to the GPU, cuBLAS, copy back), with the cuBLAS route's time split into its copies and
 * its GEMMs (`cudaLastTimings`), and the largest difference between the two results. For each
 * product it says where the routing's cost model (`DEFAULT_GPU_COST_MODEL`, a prediction) sends
 * it and whether that was the faster side, and prints the copy bandwidth, fixed cost and OpenBLAS
 * rate per thread measured here, the three numbers the model needs. Results go to BENCHMARKS.md
 * ("GPU").
 *
 *   node dist/cuda-gemm.mjs [--threads 16] [--reps 5] [--max-mflop N] [--json out.json]   (the GPU machine)
 *   cd packages/experiments && npx tsx src/bench/cuda-gemm-bench.ts …        (from a checkout)
 *
 * Where the route cannot open (no GPU, no CUDA libraries) it prints one line saying why and
 * exits 1. MOEPP_CUDA_LIBS names the folder of libcudart / libcublas when they are elsewhere.
 */
import { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { cudaLibraryDirs, DEFAULT_GPU_COST_MODEL, gpuWins, loadBlasAddon, openCuda, setBlasThreads, type BlasAddon } from '@moepp/backends';
import { relativeError } from '../backend/backend-self-check.ts';
import { uniformArray } from './layer-fixture.ts';
import { quantile } from './statistics.ts';

interface Shape {
  name: string;
  transA: boolean;
  m: number;
  n: number;
  k: number;
}

const D = 768;
const I = 2048;
const SHAPES: Shape[] = [
  ...[32, 128, 512, 2048, 8192].map((rows) => ({ name: `x·W_gate, ${rows} rows`, transA: false, m: rows, n: I, k: D })),
  ...[128, 2048].map((rows) => ({ name: `h·W_down, ${rows} rows`, transA: false, m: rows, n: D, k: I })),
  { name: 'dW_gate = xᵀ·dh, 2048 rows', transA: true, m: D, n: I, k: 2048 },
  ...[64, 128, 256, 512, 1024, 2048].map((side) => ({ name: `square ${side}`, transA: false, m: side, n: side, k: side })),
];

function measure(shape: Shape, addon: BlasAddon, reps: number, threads: number) {
  const { transA, m, n, k } = shape;
  const a = uniformArray(m * k, 1, m + k);
  const b = uniformArray(k * n, 1, n);
  const zero = new Int32Array(1);
  const cpu = new Float32Array(m * n);
  const gpu = new Float32Array(m * n);
  const blasMs: number[] = [];
  const cudaMs: number[] = [];
  const parts = { upload: [] as number[], compute: [] as number[], download: [] as number[] };
  // One untimed call each first: OpenBLAS's threads wake, the GPU buffers grow, cuBLAS loads its kernels.
  for (let rep = -1; rep < reps; rep++) {
    let t0 = performance.now();
    addon.sgemmBatch(transA, false, m, n, k, a, zero, b, zero, cpu);
    if (rep >= 0) blasMs.push(performance.now() - t0);
    t0 = performance.now();
    addon.cudaSgemmBatch(transA, false, m, n, k, a, zero, b, zero, gpu);
    if (rep >= 0) {
      cudaMs.push(performance.now() - t0);
      const t = addon.cudaLastTimings();
      parts.upload.push(t.upload * 1e3);
      parts.compute.push(t.compute * 1e3);
      parts.download.push(t.download * 1e3);
    }
  }
  const flops = 2 * m * n * k;
  const bytes = 4 * (m * k + k * n + m * n);
  const blas = quantile(blasMs, 0.5);
  const cuda = quantile(cudaMs, 0.5);
  const copies = quantile(parts.upload, 0.5) + quantile(parts.download, 0.5);
  return {
    ...shape,
    flops,
    bytes,
    blasMs: blas,
    cudaMs: cuda,
    uploadMs: quantile(parts.upload, 0.5),
    gemmMs: quantile(parts.compute, 0.5),
    downloadMs: quantile(parts.download, 0.5),
    blasGflops: flops / blas / 1e6,
    cudaGflops: flops / cuda / 1e6,
    cublasGflops: flops / quantile(parts.compute, 0.5) / 1e6,
    copyGBps: bytes / copies / 1e6,
    speedup: blas / cuda,
    modelSendsToGpu: gpuWins(DEFAULT_GPU_COST_MODEL, flops, bytes, threads),
    maxRelDiff: relativeError(gpu, cpu),
  };
}

async function main(): Promise<void> {
  const opts = new Command()
    .name('cuda-gemm')
    .description("The cuda route's cost per product (copies and cuBLAS) against OpenBLAS, side by side.")
    .option('--threads <n>', 'OpenBLAS threads (default: all cores)', String(availableParallelism()))
    .option('--reps <n>', 'timed calls per shape and side', '5')
    .option('--max-mflop <n>', 'skip products larger than this (a dry run on a stand-in library)', 'Infinity')
    .option('--json <file>', 'also write the rows as JSON')
    .parse()
    .opts<{ threads: string; reps: string; maxMflop: string; json?: string }>();
  const blas = loadBlasAddon();
  if (!blas.ok) throw new Error(`the OpenBLAS addon is not available: ${blas.reason}`);
  const open = openCuda(blas.addon, cudaLibraryDirs());
  if (!open.ok) {
    console.error(`error: the cuda route cannot open: ${open.reason}`);
    process.exit(1);
  }
  const threads = setBlasThreads(blas.addon, Number(opts.threads));
  const reps = Number(opts.reps);
  console.log(`GPU: ${open.device.device} (compute ${open.device.computeCapability}, ${Math.round(open.device.memoryMiB)} MiB), ${open.device.cudart}, ${open.device.cublas}`);
  console.log(`CPU: ${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores; ${blas.addon.info().config}, ${threads} thread${threads === 1 ? '' : 's'} (as OpenBLAS reports); ${reps} timed calls each, medians`);
  console.log('| product | (m, n, k) | MFLOP | OpenBLAS ms | cuda ms | copies up / GEMM / down ms | OpenBLAS GFLOP/s | cuBLAS GFLOP/s (GEMM only) | copy GB/s | cuda speed-up | model sends to | max rel. diff |');
  console.log('|---|---|---:|---:|---:|---|---:|---:|---:|---:|---|---:|');
  const rows = [];
  for (const shape of SHAPES.filter((s) => 2 * s.m * s.n * s.k <= Number(opts.maxMflop) * 1e6)) {
    const r = measure(shape, blas.addon, reps, threads);
    rows.push(r);
    console.log(
      `| ${r.name}${r.transA ? ' (transA)' : ''} | (${r.m}, ${r.n}, ${r.k}) | ${(r.flops / 1e6).toFixed(1)} | ${r.blasMs.toFixed(3)} | ${r.cudaMs.toFixed(3)} | ${r.uploadMs.toFixed(3)} / ${r.gemmMs.toFixed(3)} / ${r.downloadMs.toFixed(3)} | ` +
        `${r.blasGflops.toFixed(0)} | ${r.cublasGflops.toFixed(0)} | ${r.copyGBps.toFixed(1)} | ${r.speedup.toFixed(2)}× | ${r.modelSendsToGpu ? 'GPU' : 'CPU'}${r.modelSendsToGpu === r.speedup > 1 ? '' : ' (wrong)'} | ${r.maxRelDiff.toExponential(1)} |`,
    );
  }
  const wrong = rows.filter((r) => r.modelSendsToGpu !== r.speedup > 1).length;
  // The model's three numbers, as measured here: copy bandwidth of the largest products, the
  // smallest product's copy time as the fixed cost, and OpenBLAS's best rate per thread.
  const largest = rows.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  const smallest = rows.reduce((a, b) => (b.bytes < a.bytes ? b : a));
  const m = DEFAULT_GPU_COST_MODEL;
  console.log(
    `cost model (predicted → measured here): copies ${(m.copyBytesPerSecond / 1e9).toFixed(0)} → ${largest.copyGBps.toFixed(1)} GB/s; ` +
      `fixed ${(m.fixedSeconds * 1e6).toFixed(0)} → ${((smallest.cudaMs - smallest.gemmMs) * 1e3).toFixed(0)} µs per call; ` +
      `OpenBLAS ${(m.cpuFlopsPerThread / 1e9).toFixed(0)} → ${(Math.max(...rows.map((r) => r.blasGflops)) / threads).toFixed(0)} GFLOP/s per thread; ` +
      `${wrong} of ${rows.length} products sent to the slower side`,
  );
  if (opts.json) writeFileSync(opts.json, `${JSON.stringify({ gpu: open.device, cpu: cpus()[0]?.model, cores: cpus().length, blasLibrary: blas.addon.info().config, threads, reps, rows }, null, 2)}\n`);
}

main().catch((e: unknown) => {
  console.error(`error: ${(e as Error).message}`);
  process.exit(1);
});
