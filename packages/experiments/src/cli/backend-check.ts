/**
 * `pnpm backend-check` — selects a backend as a run would (`--backend`, else MOEPP_BACKEND, else
 * auto), then prints its numeric self-check against `cpu` case by case; exits 1 when selection
 * or the check fails. The GPU machine's first command (bench/gpu/run-on-device.sh).
 *
 *   pnpm backend-check                          what auto picks here, and its errors against cpu
 *   pnpm backend-check --backend cuda           cuBLAS on the GPU, or one line saying why not
 *   pnpm backend-check --backend webgpu         the GPU through WebGPU, or one line saying why not
 *   pnpm backend-check --json results/check.json   also write the result as JSON
 */
import { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { invocationDir } from '@moepp/run-format';
import { BACKEND_CHOICES, BackendError, selectBackend } from '../backend/select-backend.ts';
import { selfCheckBackend } from '../backend/backend-self-check.ts';

const program = new Command()
  .name('pnpm backend-check')
  .description('Select a tfjs backend as a run would and compare it with the cpu backend on the self-check cases.')
  .option('--backend <name>', `${BACKEND_CHOICES.join(' | ')} (default: MOEPP_BACKEND or auto)`)
  .option('--threads <n>', 'wasm threads, or OpenBLAS threads for blas (default: MOEPP_THREADS or 1)')
  .option('--json <file>', 'also write the selection and the cases as JSON')
  .showHelpAfterError();

async function main(): Promise<void> {
  program.parse();
  const opts = program.opts<{ backend?: string; threads?: string; json?: string }>();
  const selected = await selectBackend({ requested: opts.backend, threads: opts.threads === undefined ? undefined : Number(opts.threads) });
  console.log(`backend: ${selected.description}`);
  // A GPU backend's selection ran the check already (cuda's with every product on the GPU, which
  // a second run here would send to OpenBLAS: the cost model keeps the check's small products on the CPU).
  const check = selected.selfCheck ?? (await selfCheckBackend(selected.tfjsBackend));
  for (const c of check.cases) console.log(`  ${c.relativeError <= check.tolerance ? 'ok  ' : 'FAIL'} ${c.name}: max relative error ${c.relativeError.toExponential(2)}${c.error ? ` (${c.error})` : ''}`);
  console.log(`self-check against cpu: ${check.ok ? 'passed' : 'FAILED'} (tolerance ${check.tolerance})`);
  if (opts.json) {
    const file = isAbsolute(opts.json) ? opts.json : resolve(invocationDir(), opts.json);
    const { backend, tfjsBackend, threads, adapter, cuda, description } = selected;
    writeFileSync(file, `${JSON.stringify({ backend, tfjsBackend, threads, adapter, cuda, description, selfCheck: check }, null, 2)}\n`);
  }
  if (!check.ok) process.exitCode = 1;
}

main().catch((e: unknown) => {
  if (e instanceof BackendError) {
    console.error(`error: ${e.message}`);
    process.exit(1);
  }
  throw e;
});
