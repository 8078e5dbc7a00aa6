/**
 * The small preset's training step (measure (d): forward, backward, clipping, AdamW — the
 * trainer's step) on `wasm` against `blas`, side by side in one process: the configurations
 * alternate round by round (registering and unregistering the BLAS kernels between them), each on
 * its own copy of the model built from the same seed, so each sees the same machine state.
 * Results go to BENCHMARKS.md ("The whole training step").
 *
 *   cd packages/experiments && npx tsx src/bench/train-step-backends-bench.ts [--tokens 2048] [--rounds 10] [--models moe,moepp]
 *
 * Configurations: `wasm` (1 XNNPACK thread, the kernel patches), `blas` (the same with OpenBLAS
 * GEMM kernels, 1 OpenBLAS thread) and `blas-2` (2 OpenBLAS threads over 1 wasm thread: what
 * `--backend blas --threads 2` selects). Thread counts are the ones the libraries report back.
 * Besides wall time, the process's CPU time per step is reported: on a shared machine it moves
 * less than wall time, and for the 1-thread configurations it is the work a step costs.
 */
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { initWasmBackend, loadBlasAddon, patchWasmKernels, registerBlasKernels, setBlasThreads, unregisterBlasKernels } from '@moepp/backends';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { quantile } from './statistics.ts';
import { buildTrainStep, defaultStudyModels, type TrainStepCase } from './train-step.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: string): string => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const tokens = Number(option('--tokens', '2048'));
const rounds = Number(option('--rounds', '10'));
const modelNames = option('--models', 'moe,moepp').split(',') as ('moe' | 'moepp')[];

const blas = loadBlasAddon();
if (!blas.ok) {
  console.error(`error: ${blas.reason}`);
  process.exit(2);
}
await initWasmBackend({ threads: 1 });
patchWasmKernels();

interface Config {
  name: string;
  /** OpenBLAS threads, or null for plain wasm. */
  blasThreads: number | null;
}
const CONFIGS: Config[] = [
  { name: 'wasm', blasThreads: null },
  { name: 'blas', blasThreads: 1 },
  { name: 'blas-2', blasThreads: 2 },
];
const reported = new Map<string, number>();
const addon = blas.addon;
function use(config: Config): void {
  if (config.blasThreads === null) {
    unregisterBlasKernels();
    return;
  }
  registerBlasKernels(addon);
  reported.set(config.name, setBlasThreads(addon, config.blasThreads));
}

const models = defaultStudyModels();
const cases = new Map<string, TrainStepCase>();
for (const m of modelNames) for (const c of CONFIGS) cases.set(`${m}/${c.name}`, buildTrainStep(models[m], tokens, 1, 'host'));
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const wall = new Map<string, number[]>();
const cpu = new Map<string, number[]>();
const loadBefore = loadavg();
for (let r = -1; r < rounds; r++) {
  for (const m of modelNames) {
    for (const c of r % 2 === 0 ? CONFIGS : [...CONFIGS].reverse()) {
      use(c);
      const key = `${m}/${c.name}`;
      const t0 = performance.now();
      const c0 = cpuMs();
      cases.get(key)!.step();
      if (r < 0) continue; // warm-up round
      wall.set(key, [...(wall.get(key) ?? []), performance.now() - t0]);
      cpu.set(key, [...(cpu.get(key) ?? []), cpuMs() - c0]);
    }
  }
}
const loadAfter = loadavg();
unregisterBlasKernels();

console.log(`small-preset training step, ${tokens} tokens, ${rounds} rounds; ${cpus().length} × ${cpus()[0]?.model}; Node ${process.version}`);
console.log(`threads: wasm ${getThreadsCount()} (XNNPACK); OpenBLAS as reported: ${[...reported].map(([k, v]) => `${k} ${v}`).join(', ')}; load average ${loadBefore.map((x) => x.toFixed(2)).join('/')} → ${loadAfter.map((x) => x.toFixed(2)).join('/')}`);
console.log('| model | config | wall ms, median [p20–p80] | CPU ms, median | wall speed-up over wasm | CPU speed-up over wasm |');
console.log('|---|---|---:|---:|---:|---:|');
for (const m of modelNames) {
  const base = { wall: quantile(wall.get(`${m}/wasm`)!, 0.5), cpu: quantile(cpu.get(`${m}/wasm`)!, 0.5) };
  for (const c of CONFIGS) {
    const w = wall.get(`${m}/${c.name}`)!;
    const u = cpu.get(`${m}/${c.name}`)!;
    const medW = quantile(w, 0.5);
    const medU = quantile(u, 0.5);
    console.log(`| ${m} | ${c.name} | ${medW.toFixed(1)} [${quantile(w, 0.2).toFixed(0)}–${quantile(w, 0.8).toFixed(0)}] | ${medU.toFixed(1)} | ${(base.wall / medW).toFixed(2)}× | ${(base.cpu / medU).toFixed(2)}× |`);
  }
}
for (const c of cases.values()) c.dispose();
