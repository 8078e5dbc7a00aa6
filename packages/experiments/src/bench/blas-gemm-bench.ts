/**
 * `wasm` against `blas` (wasm + OpenBLAS GEMM kernels), side by side in one process: the GFLOP/s
 * of one (512, 768)·(768, 2048) product through tfjs, and a SwiGLU FFN forward+backward (core's
 * `ffnForward`, autograd: its backward multiplies with transpose flags) at D 768, I 2048 on 512
 * rows. Results go to BENCHMARKS.md ("BLAS GEMM kernels").
 *
 *   cd packages/experiments && npx tsx src/bench/blas-gemm-bench.ts [--threads 1,2] [--rounds 8] [--json out.json]
 *
 * wasm can be initialised once per process, so each wasm thread count runs in its own child; in
 * a child the configurations alternate round by round on the same tensors (registering and
 * unregistering the BLAS kernels), so each sees the same machine state. Per child: `wasm` with
 * t XNNPACK threads and `blas` with t OpenBLAS threads; the 1-thread child also runs `blas` with
 * 2 OpenBLAS threads over 1 wasm thread, which is what `--backend blas --threads 2` selects.
 * Thread counts are the ones the libraries report back (tfjs-backend-wasm, openblas_get_num_threads).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { ffnForward } from '@moepp/core';
import { initWasmBackend, loadBlasAddon, patchWasmKernels, registerBlasKernels, setBlasThreads, unregisterBlasKernels, type BlasAddon } from '@moepp/backends';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { quantile } from './statistics.ts';

const D = 768;
const I = 2048;
const ROWS = 512;
const GEMM_FLOP = 2 * ROWS * D * I;
// Forward: x·W_gate, x·W_up, h·W_down; backward: two products per forward product.
const FFN_FLOP = 3 * GEMM_FLOP * 3;

interface Config {
  name: string;
  /** OpenBLAS threads, or null for plain wasm. */
  blasThreads: number | null;
}

interface Row {
  config: string;
  wasmThreads: number;
  blasThreads: number | null;
  gemm: { medianMs: number; p20Ms: number; p80Ms: number; gflops: number; reps: number };
  ffn: { medianMs: number; p20Ms: number; p80Ms: number; gflops: number; reps: number };
}

interface ChildResult {
  wasmThreads: number;
  blasLibrary: string | null;
  loadBefore: number[];
  loadAfter: number[];
  rows: Row[];
  /** Largest |wasm − blas| of the FFN gradients, relative to their scale. */
  maxRelDiff: number;
}

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

function uniform(n: number, scale: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 31 - 1) * scale;
  }
  return out;
}

function summary(times: number[], flop: number) {
  const medianMs = quantile(times, 0.5);
  return { medianMs, p20Ms: quantile(times, 0.2), p80Ms: quantile(times, 0.8), gflops: flop / medianMs / 1e6, reps: times.length };
}

function use(config: Config, addon: BlasAddon | null): void {
  if (config.blasThreads === null) {
    unregisterBlasKernels();
    return;
  }
  registerBlasKernels(addon!);
  const verified = setBlasThreads(addon!, config.blasThreads);
  if (verified !== config.blasThreads) throw new Error(`OpenBLAS reports ${verified} threads, ${config.blasThreads} were set`);
}

async function child(threads: number, rounds: number): Promise<ChildResult> {
  const loadBefore = loadavg();
  await initWasmBackend({ threads });
  patchWasmKernels();
  const wasmThreads = getThreadsCount();
  const blas = loadBlasAddon();
  if (!blas.ok) throw new Error(`blas is unavailable: ${blas.reason}`);
  const configs: Config[] = [
    { name: 'wasm', blasThreads: null },
    { name: 'blas', blasThreads: threads },
    ...(threads === 1 ? [{ name: 'blas', blasThreads: 2 }] : []),
  ];

  const a = tf.tensor2d(uniform(ROWS * D, 1, 1), [ROWS, D]);
  const b = tf.tensor2d(uniform(D * I, 0.05, 2), [D, I]);
  const x = tf.tensor2d(uniform(ROWS * D, 1, 3), [ROWS, D]);
  const dy = tf.tensor2d(uniform(ROWS * D, 1, 4), [ROWS, D]);
  const params = {
    wGate: tf.variable(tf.tensor2d(uniform(D * I, 0.05, 5), [D, I]), true, 'w_gate'),
    wUp: tf.variable(tf.tensor2d(uniform(D * I, 0.05, 6), [D, I]), true, 'w_up'),
    wDown: tf.variable(tf.tensor2d(uniform(I * D, 0.05, 7), [I, D]), true, 'w_down'),
  };
  // Both backends compute synchronously inside the kernel call; reading the result back (a 4 MiB
  // copy out of the heap) would only add the same constant to both.
  const gemm = () => tf.matMul(a, b).dispose();
  const ffnGrads = (): tf.Tensor[] =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(ffnForward(x, params), dy)) as tf.Scalar, [params.wGate, params.wUp, params.wDown]);
      value.dispose();
      return [grads.w_gate, grads.w_up, grads.w_down];
    });
  const ffn = () => tf.dispose(ffnGrads());

  // The two configurations must compute the same gradients (to float32 rounding).
  const reference = new Map<string, Float32Array[]>();
  for (const c of configs) {
    use(c, blas.addon);
    const g = ffnGrads();
    reference.set(`${c.name}${c.blasThreads}`, g.map((t) => t.dataSync() as Float32Array));
    tf.dispose(g);
  }
  const [base, ...others] = [...reference.values()];
  let maxRelDiff = 0;
  for (const other of others) {
    base.forEach((ref, i) => {
      let err = 0;
      let scale = 1e-30;
      for (let j = 0; j < ref.length; j++) {
        err = Math.max(err, Math.abs(ref[j] - other[i][j]));
        scale = Math.max(scale, Math.abs(ref[j]));
      }
      maxRelDiff = Math.max(maxRelDiff, err / scale);
    });
  }

  const gemmTimes = configs.map(() => [] as number[]);
  const ffnTimes = configs.map(() => [] as number[]);
  for (let round = -1; round < rounds; round++) {
    configs.forEach((c, i) => {
      use(c, blas.addon);
      for (let rep = 0; rep < 3; rep++) {
        const t0 = performance.now();
        gemm();
        if (round >= 0) gemmTimes[i].push(performance.now() - t0);
      }
      const t0 = performance.now();
      ffn();
      if (round >= 0) ffnTimes[i].push(performance.now() - t0); // round -1 warms up
    });
  }
  unregisterBlasKernels();
  tf.dispose([a, b, x, dy, params.wGate, params.wUp, params.wDown]);
  return {
    wasmThreads,
    blasLibrary: blas.addon.info().config,
    loadBefore,
    loadAfter: loadavg(),
    maxRelDiff,
    rows: configs.map((c, i) => ({
      config: c.name,
      wasmThreads,
      blasThreads: c.blasThreads,
      gemm: summary(gemmTimes[i], GEMM_FLOP),
      ffn: summary(ffnTimes[i], FFN_FLOP),
    })),
  };
}

const fmt = (n: number, digits = 1) => n.toFixed(digits);

async function main(): Promise<void> {
  const rounds = Number(option('--rounds') ?? 8);
  if (args.includes('--child')) {
    process.stdout.write(`\n${JSON.stringify(await child(Number(option('--threads')), rounds))}\n`);
    return;
  }
  const threadCounts = (option('--threads') ?? '1,2').split(',').map(Number);
  const script = fileURLToPath(import.meta.url);
  const results: ChildResult[] = [];
  for (const threads of threadCounts) {
    const out = execFileSync(process.execPath, [...process.execArgv, script, '--child', '--threads', String(threads), '--rounds', String(rounds)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    results.push(JSON.parse(out.trim().split('\n').pop()!) as ChildResult);
  }
  console.log(`machine: ${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores; Node ${process.version}; ${results[0]?.blasLibrary}`);
  console.log(`GEMM (${ROWS}, ${D})·(${D}, ${I}) = ${fmt(GEMM_FLOP / 1e9, 2)} GFLOP; SwiGLU FFN fwd+bwd D ${D} I ${I} on ${ROWS} rows = ${fmt(FFN_FLOP / 1e9, 2)} GFLOP in its 9 products`);
  console.log('| config | wasm threads | OpenBLAS threads | GEMM ms (p20–p80) | GEMM GFLOP/s | FFN fwd+bwd ms (p20–p80) | FFN GFLOP/s (products only) |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of results) {
    for (const row of r.rows) {
      console.log(
        `| ${row.config} | ${row.wasmThreads} | ${row.blasThreads ?? '–'} | ${fmt(row.gemm.medianMs)} (${fmt(row.gemm.p20Ms)}–${fmt(row.gemm.p80Ms)}) | ${fmt(row.gemm.gflops)} | ` +
          `${fmt(row.ffn.medianMs)} (${fmt(row.ffn.p20Ms)}–${fmt(row.ffn.p80Ms)}) | ${fmt(row.ffn.gflops)} |`,
      );
    }
    console.log(`  (wasm ${r.wasmThreads} thread(s): FFN gradients wasm vs blas differ by ≤ ${r.maxRelDiff.toExponential(1)} relative; load average ${r.loadBefore.map((l) => l.toFixed(2)).join(' ')} → ${r.loadAfter.map((l) => l.toFixed(2)).join(' ')})`);
  }
  const json = option('--json');
  if (json) writeFileSync(json, JSON.stringify({ node: process.version, cpu: cpus()[0]?.model, results }, null, 2));
}

await main();
