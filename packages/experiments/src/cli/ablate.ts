/**
 * `pnpm ablate [study]` — runs an ablation study end to end (default: experiments/default.yaml).
 *
 *   pnpm ablate                                  the default study: MoE vs MoE++ at τ = 0.75, 3 seeds
 *   pnpm ablate experiments/tau-sweep.yaml       any study
 *   pnpm ablate tau-sweep --list                 its runs, by index, with their status
 *   pnpm ablate tau-sweep --index 3              only run 3 (split a study across processes)
 *   pnpm ablate tau-sweep --base smoke           the same grid on the smoke preset
 *   pnpm ablate --set training.steps=300         type-checked overrides (repeatable)
 *   pnpm ablate --force                          rerun finished runs (old folders are moved aside)
 *   pnpm ablate --wait                           wait for runs another process is training instead of skipping them
 *   pnpm ablate tau-sweep --slurm --partition cpu  the pending runs as a Slurm job array, then the report
 *   pnpm ablate tau-sweep --status               each run's state (and its Slurm task's)
 *
 * Ctrl-C (or SIGTERM) stops at the end of the current step with a checkpoint and prints the command
 * that resumes; errors are one line (`--debug` or MOEPP_DEBUG=1 adds the stack).
 */
import { Command, InvalidArgumentError } from 'commander';
import cliProgress from 'cli-progress';
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { loadStudy, planStudy, StudyConfigError, type PlannedRun } from '../studies/study-config.ts';
import { runStatus, runStudy, summaryTable } from '../studies/run-study.ts';
import { selectBackend } from '../backend/select-backend.ts';
import { EXECUTOR_CHOICES, selectExecutor } from '../backend/select-executor.ts';
import { invocationDir, repoRoot } from '@moepp/run-format';
import { writeStudyReport } from '../studies/write-report.ts';
import { RunStopped } from '../training/trainer.ts';
import { debugRequested, errorLine } from './error-line.ts';
import { listenForStop } from './stop-signals.ts';
import { submitStudy, taskAblateArgs } from '../slurm/submit.ts';
import { studyStatus } from '../slurm/study-status.ts';

const root = repoRoot();

function resolveStudyFile(arg: string | undefined): string {
  if (!arg) return join(root, 'experiments', 'default.yaml');
  const candidates = [isAbsolute(arg) ? arg : resolve(invocationDir(), arg), join(root, 'experiments', arg), join(root, 'experiments', `${arg}.yaml`)];
  return candidates.find((c) => existsSync(c) && c.endsWith('.yaml')) ?? candidates[0];
}

function parseIndex(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a run index ≥ 0 (see --list)');
  return n;
}

function parsePositive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
}

const program = new Command()
  .name('pnpm ablate')
  .description('Run a MoE/MoE++ ablation study: train every configuration × seed, write run folders, print a summary table.')
  .argument('[study]', 'study YAML file or name under experiments/ (default: experiments/default.yaml)')
  .option('--list', 'list the runs of the study with their index and status, then exit')
  .option('--index <i>', 'run only the run with this index', parseIndex)
  .option('--force', 'rerun finished runs, and runs trained with other settings, into fresh folders (previous folders are moved to results/<study>/.replaced/)')
  .option('--wait', 'wait for a run that another process is training (its run.lock) instead of skipping it')
  .option('--debug', 'print the stack of an error')
  .option('--set <key=value>', 'override a config value, e.g. training.steps=300 (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
  .option('--base <preset>', 'use another preset from experiments/presets/ (e.g. smoke) instead of the study\'s base')
  .option('--backend <name>', 'auto | webgpu | tensorflow-gpu | tensorflow | blas | wasm | cpu (default: MOEPP_BACKEND or auto)')
  .option('--executor <name>', `how MoE++ experts execute: ${EXECUTOR_CHOICES.join(' | ')} (default: MOEPP_EXECUTOR or auto: tf-ops on native TensorFlow, host elsewhere)`)
  .option('--threads <n>', 'wasm threads, or OpenBLAS threads for blas (default: MOEPP_THREADS or 1 — see BENCHMARKS.md, "Threads")')
  .option('--results <dir>', 'results folder', join(root, 'results'))
  .option('--no-report', 'skip writing the report (tables and figures) after the runs')
  .option('--status', 'print each run\'s state (and its Slurm task\'s, after --slurm), then exit')
  .option('--slurm', 'submit the pending runs as a Slurm job array (results/<study>/slurm/job.sbatch), then a report job after it')
  .option('--dry-run', 'with --slurm: print the batch scripts, submit nothing')
  .option('--partition <name>', 'with --slurm: the Slurm partition')
  .option('--time <limit>', 'with --slurm: time limit per run, e.g. 2:00:00')
  .option('--cpus-per-task <n>', 'with --slurm: CPUs per run', parsePositive)
  .option('--mem <size>', 'with --slurm: memory per run, e.g. 4G')
  .option('--max-parallel <n>', 'with --slurm: at most this many runs at once (--array=…%N)', parsePositive)
  .option('--sbatch-arg <arg>', 'with --slurm: another sbatch option, e.g. --sbatch-arg=--account=lab (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
  .showHelpAfterError();

async function main(): Promise<void> {
  program.parse();
  const opts = program.opts<{
    list?: boolean; index?: number; force?: boolean; wait?: boolean; set: string[]; base?: string; backend?: string; executor?: string; threads?: string; results: string; report: boolean;
    status?: boolean; slurm?: boolean; dryRun?: boolean; partition?: string; time?: string; cpusPerTask?: number; mem?: string; maxParallel?: number; sbatchArg: string[];
  }>();
  const studyFile = resolveStudyFile(program.args[0]);
  const study = loadStudy(studyFile);
  if (opts.base) study.base = opts.base;
  const plan = planStudy(study, opts.set);
  const resultsDir = isAbsolute(opts.results) ? opts.results : resolve(invocationDir(), opts.results);

  if (opts.list) {
    console.log(`study ${study.name} (${studyFile}): ${plan.length} runs, results in ${join(resultsDir, study.name)}`);
    for (const run of plan) console.log(`  ${String(run.index).padStart(3)}  ${run.runId.padEnd(40)} ${runStatus(resultsDir, study.name, run)}`);
    return;
  }
  if (opts.index !== undefined && opts.index >= plan.length) {
    throw new StudyConfigError(`--index ${opts.index}: the study has ${plan.length} runs (0–${plan.length - 1}); see --list`);
  }
  if (opts.status) {
    for (const line of studyStatus(resultsDir, study.name, plan)) console.log(line);
    return;
  }
  if (opts.dryRun && !opts.slurm) throw new StudyConfigError('--dry-run prints the Slurm batch scripts: use it with --slurm');
  if (opts.slurm) {
    // A requeued task would rerun its finished run from scratch again; --force stays a local command.
    if (opts.force) throw new StudyConfigError('--force cannot be combined with --slurm: move the run folders aside with a local pnpm ablate --force, then submit');
    submitStudy({
      study: study.name, plan, index: opts.index, checkout: root, resultsDir,
      ablateArgs: taskAblateArgs({ ...opts, studyFile, resultsDir }),
      // The command that submits these scripts: what --dry-run shows is what it would submit.
      command: ['pnpm ablate', ...process.argv.slice(2).filter((a) => a !== '--dry-run')].join(' '),
      statusCommand: ['pnpm ablate', program.args[0] ?? '', '--status', ...(program.getOptionValueSource('results') === 'default' ? [] : ['--results', resultsDir])].filter((w) => w !== '').join(' '),
      sbatch: { partition: opts.partition, time: opts.time, cpusPerTask: opts.cpusPerTask, mem: opts.mem, maxParallel: opts.maxParallel, extraArgs: opts.sbatchArg },
      dryRun: opts.dryRun === true,
      log: (line) => console.log(line),
    });
    return;
  }
  const runs = opts.index === undefined ? plan : [plan[opts.index]];

  const selected = await selectBackend({ requested: opts.backend, threads: opts.threads === undefined ? undefined : Number(opts.threads) });
  const backend = { ...selected, executor: selectExecutor(selected.backend, opts.executor) };
  console.log(`backend: ${backend.description}; ${backend.executor} expert executor`);
  console.log(`study ${study.name}: ${runs.length} of ${plan.length} runs → ${join(resultsDir, study.name)}`);

  const started = Date.now();
  const args = process.argv.slice(2);
  const stop = listenForStop(
    (signal) => console.log(`\n${signal}: stopping after the current step (again to quit at once)`),
    (signal) => {
      console.log(`\n${signal}: quitting now; resume with: ${resumeCommand(args)}`);
      process.exit(130);
    },
  );

  const bar = process.stdout.isTTY ? new cliProgress.SingleBar({ format: '  {run} |{bar}| step {value}/{total} · loss {loss} · {tps} tok/s · ETA {eta_formatted}', hideCursor: true }, cliProgress.Presets.shades_classic) : null;
  const results = await runStudy({
    study, plan, runs, resultsDir, repoRoot: root, backend, force: opts.force === true, wait: opts.wait === true,
    command: ['pnpm ablate', ...args].join(' '),
    log: (line) => console.log(line),
    shouldStop: () => stop.requested() !== null,
    onStep: (run: PlannedRun) => (p) => {
      if (bar) {
        if (p.step === p.resumedFrom + 1) bar.start(p.steps, p.resumedFrom, { run: run.runId, loss: '-', tps: '-' });
        bar.update(p.step, { loss: p.loss.toFixed(3), tps: p.tokensPerSecond.toFixed(0) });
        if (p.step === p.steps) bar.stop();
      } else if (p.step % Math.max(1, Math.floor(p.steps / 10)) === 0 || p.step === p.steps) {
        console.log(`  ${run.runId} step ${p.step}/${p.steps} loss ${p.loss.toFixed(3)} ${p.tokensPerSecond.toFixed(0)} tok/s`);
      }
    },
  });
  if (stop.requested() !== null && results.length < runs.length) {
    console.error(`\nstopped: ${results.length} of ${runs.length} runs done; resume with: ${resumeCommand(args)}`);
    process.exit(130);
  }
  console.log(`\n${study.name}: ${results.length} runs in ${((Date.now() - started) / 60000).toFixed(1)} min (backend ${backend.backend}, ${backend.threads} thread(s))`);
  console.log(summaryTable(results));
  console.log(`\nrun folders: ${join(resultsDir, study.name)}/<run-id>/ (config.json, fingerprint.json, metrics.csv, eval.csv, routing.json, evaluation.json, summary.json, checkpoint/)`);
  if (opts.report) {
    const written = await writeStudyReport(resultsDir, study.name);
    for (const line of written) console.log(line);
  }
}

/** The command line again, without --force (which would move the interrupted run aside). */
function resumeCommand(args: readonly string[]): string {
  return ['pnpm ablate', ...args.filter((a) => a !== '--force')].join(' ');
}

main().catch((e: unknown) => {
  if (e instanceof RunStopped) {
    console.error(`\nstopped: ${e.message}; resume with: ${resumeCommand(process.argv.slice(2))}`);
    process.exit(130);
  }
  const { line, exitCode } = errorLine(e);
  console.error(`\n${line}`);
  if (debugRequested()) console.error((e as Error).stack);
  process.exit(exitCode);
});
