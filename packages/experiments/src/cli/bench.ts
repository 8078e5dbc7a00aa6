/**
 * `pnpm bench` — MoE++ expert throughput against a vanilla MoE of the same size (paper Table 3),
 * measured interleaved in one process; writes results/bench/<timestamp>/ (layer.csv, summary.md,
 * profile.csv, environment.json).
 *
 *   pnpm bench                     the default grid (BENCHMARKS.md says how long it takes)
 *   pnpm bench --quick             smoke check, < 3 minutes
 *   pnpm bench --full              the whole grid of the issue (hours on 2 cores)
 *   pnpm bench --peer torch        also time the PyTorch peer (bench/peers/torch_moe.py)
 *   pnpm bench --widths paper --experts 16 --tau 0.75 --tokens 2048 --measures a,c
 *   pnpm bench --checkpoint results/default/moepp-tau0.75--seed1    add the trained routing
 *   pnpm bench --checkpoint results/default/moepp-tau0.75--seed1 --checkpoint-moe results/default/moe--seed1
 */
import { Command } from 'commander';
import { isAbsolute, relative, resolve } from 'node:path';
import { BenchArgumentError, MEASURES, resolveBenchOptions, type RawBenchArgs } from '../bench/bench-options.ts';
import { BackendError, setupBenchBackend } from '../bench/bench-backend.ts';
import { runBench } from '../bench/run-bench.ts';
import { invocationDir, repoRoot } from '@moepp/run-format';

const program = new Command()
  .name('pnpm bench')
  .description('Benchmark MoE++ against vanilla MoE: expert forward (paper Table 3), layer forward, forward+backward, training step.')
  .option('--quick', 'smoke check: small width, (16+4)E, τ 0.25/0.75, 512 tokens, 10 reps, plus the MoE family at 8E (< 3 min)')
  .option('--full', 'the whole grid: both widths, 8/16/32 experts, every τ and token count, every measure (hours)')
  .option('--measures <list>', `comma-separated: ${MEASURES.join(', ')} (or a, b, c, d)`)
  .option('--widths <list>', 'comma-separated: small (D 256, I 512), paper (D 768, I 2048)')
  .option('--experts <list>', 'FFN experts: 8, 16, 32 — MoE nE against MoE++ (8+4)E, (16+4)E, (32+8)E')
  .option('--tau <list>', 'τ values: 0.1, 0.25, 0.5, 0.75, 1')
  .option('--tokens <list>', 'tokens per call: 512, 2048, 8192')
  .option('--routing <list>', 'balanced, checkpoint (default: balanced, plus checkpoint when --checkpoint is given)')
  .option('--checkpoint <run-folder>', 'a training run folder whose checkpoint/model.safetensors routes the checkpoint cases')
  .option('--checkpoint-moe <run-folder>', 'a trained vanilla MoE run (same FFN experts, top-K) that routes the MoE side of the checkpoint cases (default: uniform load)')
  .option('--reps <n>', 'timed repetitions per measurement (default 20; quick 10)')
  .option('--min-reps <n>', 'fewest timed repetitions when a group hits its time cap (default 10; full 7)')
  .option('--warmup <n>', 'untimed warm-up rounds (default 2; quick 1)')
  .option('--max-group-seconds <s>', 'time cap per interleaved group (default 300; quick 20; full 900)')
  .option('--peer <name>', 'also run a peer implementation: torch')
  .option('--peer-threads <n>', 'threads of the PyTorch peer (default 2)')
  .option('--python <path>', 'Python with torch for the peer', '/usr/bin/python3')
  .option('--no-profile', 'skip the per-op profiles')
  .option('--no-packed-weights', 'time forward measures with OpenBLAS packing each weight per call (default on blas: packed once)')
  .option('--backend <name>', 'auto | webgpu | tensorflow-gpu | tensorflow | blas | wasm | cpu (default: MOEPP_BACKEND or auto)')
  .option('--threads <n>', 'wasm threads, or OpenBLAS threads for blas (default: MOEPP_THREADS or 1, see BENCHMARKS.md)')
  .option('--out <dir>', 'results folder (default: <repo>/results/bench)')
  .option('--seed <n>', 'seed of weights and routing samples (default 1)')
  .showHelpAfterError();

async function main(): Promise<void> {
  program.parse();
  const raw = program.opts<RawBenchArgs & { backend?: string; threads?: string }>();
  const root = repoRoot();
  let options: ReturnType<typeof resolveBenchOptions>;
  try {
    if (raw.checkpoint && !isAbsolute(raw.checkpoint)) raw.checkpoint = resolve(invocationDir(), raw.checkpoint);
    if (raw.checkpointMoe && !isAbsolute(raw.checkpointMoe)) raw.checkpointMoe = resolve(invocationDir(), raw.checkpointMoe);
    options = resolveBenchOptions(raw);
  } catch (e) {
    if (e instanceof BenchArgumentError) {
      console.error(`error: ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
  if (raw.out) options.outDir = relative(root, resolve(invocationDir(), raw.out));
  let threads: number | undefined;
  if (raw.threads !== undefined) {
    threads = Number(raw.threads);
    if (!Number.isInteger(threads) || threads < 1) {
      console.error(`error: --threads: '${raw.threads}' is not valid; give an integer ≥ 1`);
      process.exit(2);
    }
  }
  let backend: Awaited<ReturnType<typeof setupBenchBackend>>;
  try {
    backend = await setupBenchBackend(raw.backend, threads);
  } catch (e) {
    if (e instanceof BackendError) {
      console.error(`error: ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
  console.error(`backend: ${backend.description ?? `${backend.backend}, ${backend.threads} thread(s)`}`);
  const command = ['pnpm bench', ...process.argv.slice(2)].join(' ');
  const result = await runBench(options, backend, command, (line) => console.error(line), root);
  console.error(`done in ${(result.seconds / 60).toFixed(1)} min → ${relative(invocationDir(), result.dir) || result.dir}`);
}

main().catch((e: unknown) => {
  // Bad input found while running (a run folder that is not one): the message names the fix.
  if (e instanceof BenchArgumentError) {
    console.error(`error: ${e.message}`);
    process.exit(2);
  }
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
