/**
 * The wasm backend set-up, measured: plain matMul rate with 1 vs N threads, each kernel patch of
 * @moepp/core before and after, and one training step of the small preset before and after.
 * Results go to BENCHMARKS.md ("wasm backend: threads and kernel patches").
 *
 *   cd packages/experiments && npx tsx src/bench/wasm-kernels-bench.ts            # threads 1 and all cores
 *   npx tsx src/bench/wasm-kernels-bench.ts --threads 1,2 --quick --json out.json
 *
 * wasm can be initialised once per process, so every thread count runs in its own child process;
 * "before" and "after" run in the same child, one after the other, on the same tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { MoeppLM, resolveModelConfig, trainingContext } from '@moepp/core';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { initWasmBackend, patchWasmKernels } from '@moepp/backends';

interface Timing {
  medianMs: number;
  minMs: number;
  reps: number;
}

interface KernelRow {
  name: string;
  kernel: string;
  before: Timing | { error: string };
  after: Timing;
  /** Largest |before − after| relative to the output's scale (before's output as reference). */
  maxRelDiff: number | null;
}

interface ChildResult {
  threads: number;
  simd: boolean;
  loadBefore: number[];
  loadAfter: number[];
  matmul: { name: string; gflop: number; timing: Timing }[];
  tidyPitfall: { returningTypedArrayMs: number; readingOutsideMs: number };
  productHash: string;
  kernels: KernelRow[];
  step: { tokens: number; before: Timing; after: Timing; lossBefore: number; lossAfter: number; gradNormBefore: number; gradNormAfter: number };
}

const args = process.argv.slice(2);
const flag = (name: string): boolean => args.includes(name);
const option = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = flag('--quick');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Times `f` (which disposes what it makes) after `warm` calls: at least 3 reps, up to `budgetMs`. */
function time(f: () => void, opts: { warm?: number; budgetMs?: number; maxReps?: number } = {}): Timing {
  const { warm = 2, budgetMs = quick ? 150 : 400, maxReps = 25 } = opts;
  for (let i = 0; i < warm; i++) f();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 3 || (times.length < maxReps && performance.now() - start < budgetMs)) {
    const t0 = performance.now();
    f();
    times.push(performance.now() - t0);
  }
  return { medianMs: median(times), minMs: Math.min(...times), reps: times.length };
}

/** Deterministic pseudo-random floats in [-1, 1). */
function lcg(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}
const rand = (shape: number[], seed: number): tf.Tensor => tf.tensor(lcg(shape.reduce((a, b) => a * b, 1), seed), shape);

function fnv1a(values: Float32Array): string {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

interface KernelCase {
  name: string;
  kernel: string;
  inputs: () => tf.Tensor[];
  run: (xs: tf.Tensor[]) => tf.Tensor;
}

const idsTensor = (n: number, rows: number): tf.Tensor => tf.tensor1d(Int32Array.from({ length: n }, (_, i) => (i * 7919) % rows), 'int32');

/** Shapes from the small preset (D 128, vocab 4096, 16×64 tokens, 4 heads) and architecture.md. */
const KERNEL_CASES: KernelCase[] = [
  { name: 'matMul 512×256ᵀ · 512×512 (architecture.md)', kernel: 'BatchMatMul', inputs: () => [rand([512, 256], 1), rand([512, 512], 2)], run: ([a, b]) => tf.matMul(a, b, true, false) },
  { name: 'LM head dW: 1024×128ᵀ · 1024×4096', kernel: 'BatchMatMul', inputs: () => [rand([1024, 128], 3), rand([1024, 4096], 4)], run: ([a, b]) => tf.matMul(a, b, true, false) },
  { name: 'LM head dx: 1024×4096 · 128×4096ᵀ', kernel: 'BatchMatMul', inputs: () => [rand([1024, 4096], 5), rand([128, 4096], 6)], run: ([a, b]) => tf.matMul(a, b, false, true) },
  { name: 'projection dW: 1024×128ᵀ · 1024×128', kernel: 'BatchMatMul', inputs: () => [rand([1024, 128], 7), rand([1024, 128], 8)], run: ([a, b]) => tf.matMul(a, b, true, false) },
  { name: 'attention scores: (16,4,64,32) · (16,4,64,32)ᵀ', kernel: 'BatchMatMul', inputs: () => [rand([16, 4, 64, 32], 9), rand([16, 4, 64, 32], 10)], run: ([a, b]) => tf.matMul(a, b, false, true) },
  { name: 'attention mix: (16,4,64,64) · (16,4,64,32)', kernel: 'BatchMatMul', inputs: () => [rand([16, 4, 64, 64], 11), rand([16, 4, 64, 32], 12)], run: ([a, b]) => tf.matMul(a, b) },
  { name: 'attention mix dV: (16,4,64,64)ᵀ · (16,4,64,32)', kernel: 'BatchMatMul', inputs: () => [rand([16, 4, 64, 64], 13), rand([16, 4, 64, 32], 14)], run: ([a, b]) => tf.matMul(a, b, true, false) },
  { name: 'batched large: (4,256,256) · (4,256,256)', kernel: 'BatchMatMul', inputs: () => [rand([4, 256, 256], 15), rand([4, 256, 256], 16)], run: ([a, b]) => tf.matMul(a, b) },
  { name: 'shared weight: (16,64,128) · 128×512', kernel: 'BatchMatMul', inputs: () => [rand([16, 64, 128], 17), rand([128, 512], 18)], run: ([a, b]) => tf.matMul(a, b) },
  {
    name: 'fused matMul+bias+relu: 1024×128 · 512×128ᵀ',
    kernel: '_FusedMatMul',
    inputs: () => [rand([1024, 128], 19), rand([512, 128], 20), rand([512], 21)],
    run: ([a, b, bias]) => tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, transposeB: true, bias, activation: 'relu' }),
  },
  { name: 'transpose 1024×4096', kernel: 'Transpose', inputs: () => [rand([1024, 4096], 22)], run: ([x]) => tf.transpose(x) },
  { name: 'transpose 1024×128', kernel: 'Transpose', inputs: () => [rand([1024, 128], 23)], run: ([x]) => tf.transpose(x) },
  { name: 'sum over axis 0 of 1024×4096', kernel: 'Sum', inputs: () => [rand([1024, 4096], 24)], run: ([x]) => tf.sum(x, 0) },
  { name: 'sum over axis 0 of 1024×128', kernel: 'Sum', inputs: () => [rand([1024, 128], 25)], run: ([x]) => tf.sum(x, 0) },
  { name: 'mean over axis 1 of (16,64,128)', kernel: 'Mean', inputs: () => [rand([16, 64, 128], 26)], run: ([x]) => tf.mean(x, 1) },
  { name: 'slice 16 rows of 4096×128', kernel: 'Slice', inputs: () => [rand([4096, 128], 27)], run: ([x]) => tf.slice(x, [100, 0], [16, 128]) },
  { name: 'split (16,4,64,32) in 2 on the last axis', kernel: 'SplitV', inputs: () => [rand([16, 4, 64, 32], 28)], run: ([x]) => tf.concat(tf.split(x, 2, 3), 0) },
  { name: 'gather 8192 rows of 8192×256', kernel: 'GatherV2', inputs: () => [rand([8192, 256], 29), idsTensor(8192, 8192)], run: ([x, i]) => tf.gather(x, i) },
  { name: 'gather 1024 rows of 4096×128', kernel: 'GatherV2', inputs: () => [rand([4096, 128], 30), idsTensor(1024, 4096)], run: ([x, i]) => tf.gather(x, i) },
  {
    name: 'gradient of gather: 1024 rows of 4096×128',
    kernel: 'UnsortedSegmentSum',
    inputs: () => [rand([4096, 128], 31), idsTensor(1024, 4096), rand([1024, 128], 32)],
    run: ([x, i, probe]) => tf.grad((p: tf.Tensor) => tf.sum(tf.mul(tf.gather(p, i), probe)))(x),
  },
];

function maxRelDiff(a: Float32Array, ref: Float32Array): number {
  let err = 0;
  let scale = 1e-30;
  for (let i = 0; i < ref.length; i++) {
    err = Math.max(err, Math.abs(a[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return err / scale;
}

/** One step's work: loss and every gradient (what the optimiser update needs), no update. */
function buildStep(tokens: number): { step: () => { loss: number; gradNorm: number }; dispose: () => void } {
  const seqLen = 64;
  const batch = tokens / seqLen;
  // The "small" preset of experiments/presets/small.yaml.
  const config = resolveModelConfig({ vocabSize: 4096, dModel: 128, nLayers: 4, nHeads: 4, maxSeqLen: seqLen, moe: { ffnHidden: 256 } });
  const model = new MoeppLM(config, 1);
  const ids = lcg(batch * (seqLen + 1), 99);
  const toId = (v: number) => Math.floor(((v + 1) / 2) * config.vocabSize) % config.vocabSize;
  const inputs = tf.tensor2d(Int32Array.from({ length: tokens }, (_, i) => toId(ids[Math.floor(i / seqLen) * (seqLen + 1) + (i % seqLen)])), [batch, seqLen], 'int32');
  const targets = tf.tensor2d(Int32Array.from({ length: tokens }, (_, i) => toId(ids[Math.floor(i / seqLen) * (seqLen + 1) + (i % seqLen) + 1])), [batch, seqLen], 'int32');
  return {
    step() {
      const r = model.lossAndGradients(inputs as tf.Tensor2D, targets as tf.Tensor2D, trainingContext('bench', 0));
      const grads = [...r.grads.values()];
      const gradNorm = Math.sqrt(tf.tidy(() => tf.addN(grads.map((g) => tf.sum(tf.square(g))))).dataSync()[0]);
      tf.dispose(grads);
      return { loss: r.loss, gradNorm };
    },
    dispose() {
      model.dispose();
      tf.dispose([inputs, targets]);
    },
  };
}

async function child(threads: number): Promise<ChildResult> {
  const loadBefore = loadavg();
  const info = await initWasmBackend({ threads });

  // Plain matMul rate (no transposes: the original kernel's fast path, unaffected by the patches).
  const matmul: ChildResult['matmul'] = [];
  for (const [m, k, n] of [[512, 512, 512], [2048, 768, 2048]]) {
    const a = rand([m, k], 1);
    const b = rand([k, n], 2);
    const timing = time(() => tf.matMul(a, b).dispose(), { warm: 2, maxReps: quick ? 5 : 15 });
    matmul.push({ name: `${m}×${k} · ${k}×${n}`, gflop: (2 * m * k * n) / 1e9, timing });
    tf.dispose([a, b]);
  }
  // The measurement pitfall behind "2.4 GFLOP/s": tidy() walks a returned TypedArray key by key.
  const a = rand([512, 512], 3);
  const b = rand([512, 512], 4);
  const returning = time(() => void tf.tidy(() => tf.matMul(a, b).dataSync() as unknown as tf.TensorContainer), { maxReps: 8 });
  const outside = time(() => {
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
  });
  tf.dispose([a, b]);
  const pa = tf.tensor2d(lcg(300 * 200, 5), [300, 200]);
  const pb = tf.tensor2d(lcg(200 * 100, 6), [200, 100]);
  const productHash = fnv1a(tf.matMul(pa, pb).dataSync() as Float32Array);
  tf.dispose([pa, pb]);

  // Training step, unpatched (slow: few reps).
  const stepTokens = quick ? 512 : 1024;
  const s = buildStep(stepTokens);
  const first = s.step();
  const stepBefore = time(() => void s.step(), { warm: 0, maxReps: quick ? 3 : 3, budgetMs: 0 });

  // Kernels, unpatched.
  const cases = KERNEL_CASES.map((c) => ({ c, xs: c.inputs() }));
  const before = cases.map(({ c, xs }) => {
    try {
      const out = c.run(xs);
      const ref = out.dataSync() as Float32Array;
      out.dispose();
      return { timing: time(() => c.run(xs).dispose()), ref };
    } catch (e) {
      return { error: String((e as Error).message).split('\n')[0].slice(0, 120) };
    }
  });

  patchWasmKernels();

  const kernels: KernelRow[] = cases.map(({ c, xs }, i) => {
    const out = c.run(xs);
    const values = out.dataSync() as Float32Array;
    out.dispose();
    const b4 = before[i];
    const after = time(() => c.run(xs).dispose());
    return {
      name: c.name,
      kernel: c.kernel,
      before: 'error' in b4 ? { error: b4.error ?? 'failed' } : b4.timing,
      after,
      maxRelDiff: 'ref' in b4 && b4.ref ? maxRelDiff(values, b4.ref) : null,
    };
  });
  for (const { xs } of cases) tf.dispose(xs);

  const second = s.step();
  const stepAfter = time(() => void s.step(), { warm: 1, maxReps: quick ? 4 : 7, budgetMs: 0 });
  s.dispose();
  return {
    threads: info.threads,
    simd: info.simd,
    loadBefore,
    loadAfter: loadavg(),
    matmul,
    tidyPitfall: { returningTypedArrayMs: returning.medianMs, readingOutsideMs: outside.medianMs },
    productHash,
    kernels,
    step: { tokens: stepTokens, before: stepBefore, after: stepAfter, lossBefore: first.loss, lossAfter: second.loss, gradNormBefore: first.gradNorm, gradNormAfter: second.gradNorm },
  };
}

const ms = (t: Timing): string => (t.medianMs >= 100 ? t.medianMs.toFixed(0) : t.medianMs >= 10 ? t.medianMs.toFixed(1) : t.medianMs.toFixed(2));

function report(results: ChildResult[]): string {
  const lines: string[] = [];
  const load = (r: ChildResult) => `${r.loadBefore[0].toFixed(2)} → ${r.loadAfter[0].toFixed(2)}`;
  lines.push(`machine: ${cpus()[0]?.model ?? '?'}, ${availableParallelism()} logical cores; node ${process.version}; tfjs ${tf.version_core}; wasm SIMD ${results.every((r) => r.simd) ? 'yes' : 'no'}`);
  lines.push(`1-minute load average during each child (before → after): ${results.map((r) => `${r.threads} thread(s): ${load(r)}`).join('; ')}`);
  lines.push('');
  lines.push('| plain matMul (median ms, GFLOP/s) | ' + results.map((r) => `${r.threads} thread(s)`).join(' | ') + ' |');
  lines.push('|---|' + results.map(() => '---:|').join(''));
  for (let i = 0; i < results[0].matmul.length; i++) {
    const row = results.map((r) => `${ms(r.matmul[i].timing)} ms, ${(r.matmul[i].gflop / (r.matmul[i].timing.medianMs / 1e3)).toFixed(1)}`);
    lines.push(`| ${results[0].matmul[i].name} | ${row.join(' | ')} |`);
  }
  lines.push(`| 512² inside \`tf.tidy(() => …dataSync())\` (pitfall) | ${results.map((r) => `${r.tidyPitfall.returningTypedArrayMs.toFixed(0)} ms`).join(' | ')} |`);
  lines.push('');
  const hashes = new Set(results.map((r) => r.productHash));
  lines.push(`300×200·200×100 product bit-identical across thread counts: ${hashes.size === 1 ? 'yes' : `NO (${[...hashes].join(', ')})`}`);
  lines.push('');
  lines.push('| kernel case | patched kernel | ' + results.map((r) => `${r.threads} thr: before → after (×)`).join(' | ') + ' | max rel. diff |');
  lines.push('|---|---|' + results.map(() => '---:|').join('') + '---:|');
  for (let i = 0; i < results[0].kernels.length; i++) {
    const k0 = results[0].kernels[i];
    const cells = results.map((r) => {
      const k = r.kernels[i];
      if ('error' in k.before) return `fails → ${ms(k.after)} ms`;
      return `${ms(k.before)} → ${ms(k.after)} ms (${(k.before.medianMs / k.after.medianMs).toFixed(1)}×)`;
    });
    const diffs = results.map((r) => r.kernels[i].maxRelDiff).filter((d): d is number => d !== null);
    lines.push(`| ${k0.name} | ${k0.kernel} | ${cells.join(' | ')} | ${diffs.length ? Math.max(...diffs).toExponential(1) : '—'} |`);
  }
  lines.push('');
  lines.push('| training step (loss + all gradients) | ' + results.map((r) => `${r.threads} thread(s)`).join(' | ') + ' |');
  lines.push('|---|' + results.map(() => '---:|').join(''));
  lines.push(`| before (median ms) | ${results.map((r) => ms(r.step.before)).join(' | ')} |`);
  lines.push(`| after (median ms) | ${results.map((r) => ms(r.step.after)).join(' | ')} |`);
  lines.push(`| speed-up | ${results.map((r) => `${(r.step.before.medianMs / r.step.after.medianMs).toFixed(1)}×`).join(' | ')} |`);
  lines.push(`| loss before / after | ${results.map((r) => `${r.step.lossBefore.toFixed(6)} / ${r.step.lossAfter.toFixed(6)}`).join(' | ')} |`);
  lines.push(`| grad norm before / after | ${results.map((r) => `${r.step.gradNormBefore.toFixed(6)} / ${r.step.gradNormAfter.toFixed(6)}`).join(' | ')} |`);
  lines.push('');
  lines.push(`(training step: small preset — D 128, 4 blocks, MoE++ (8 FFN + 4 ZC) τ 0.75, vocab 4096 — on ${results[0].step.tokens} tokens)`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  if (flag('--child')) {
    const result = await child(Number(option('--threads') ?? 1));
    process.stdout.write(`\n@@RESULT ${JSON.stringify(result)}\n`);
    return;
  }
  const threadList = (option('--threads') ?? [...new Set([1, availableParallelism()])].join(','))
    .split(',')
    .map((t) => Number(t.trim()));
  const script = fileURLToPath(import.meta.url);
  const results: ChildResult[] = [];
  for (const threads of threadList) {
    console.error(`wasm-kernels-bench: ${threads} thread(s)…`);
    const out = execFileSync(process.execPath, [...process.execArgv, script, '--child', '--threads', String(threads), ...(quick ? ['--quick'] : [])], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 64 << 20,
    });
    const line = out.split('\n').find((l) => l.startsWith('@@RESULT '));
    if (!line) throw new Error(`child for ${threads} thread(s) printed no result:\n${out.slice(-2000)}`);
    results.push(JSON.parse(line.slice('@@RESULT '.length)) as ChildResult);
  }
  const json = option('--json');
  if (json) writeFileSync(json, JSON.stringify(results, null, 2));
  console.log(report(results));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
