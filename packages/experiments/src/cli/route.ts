/**
 * `pnpm route <run-folder> [--text "..."]… [--json]` — loads a run's checkpoint and tokenizer and
 * prints, token by token, which experts each MoE++ layer picks and how many FFN experts each token
 * gets. `--json` prints machine-readable output (notebooks/02-checkpoint-routing.ipynb uses it).
 */
import { Command } from 'commander';
import { isAbsolute, resolve } from 'node:path';
import { selectBackend } from '../backend/select-backend.ts';
import { selectExecutor } from '../backend/select-executor.ts';
import { loadCheckpointModel, loadRunTokenizer } from '../runs/load-checkpoint.ts';
import { routeText } from '../runs/route-text.ts';
import { invocationDir } from '@moepp/run-format';

const DEFAULT_SENTENCES = [
  'The jury said it did find that the city executive committee deserves the praise.',
  'She quickly signed the unbelievably complicated agreement.',
  'Prices rose 3.5 percent in 1961, economists reported.',
];

const program = new Command()
  .name('pnpm route')
  .description('Show the routing of a trained checkpoint on sentences, token by token.')
  .argument('<run-folder>', 'a run folder, e.g. results/default/moepp-tau0.75--seed1')
  .option('--text <sentence>', 'a sentence to route (repeatable; default: three Brown-like sentences)', (v: string, acc: string[]) => [...acc, v], [] as string[])
  .option('--json', 'print JSON instead of tables')
  .option('--backend <name>', 'auto | webgpu | tensorflow-gpu | tensorflow | blas | wasm | cpu', 'cpu')
  .showHelpAfterError();

async function main(): Promise<void> {
  program.parse();
  const opts = program.opts<{ text: string[]; json?: boolean; backend: string }>();
  const runDir = isAbsolute(program.args[0]) ? program.args[0] : resolve(invocationDir(), program.args[0]);
  const backend = await selectBackend({ requested: opts.backend });
  const model = loadCheckpointModel(runDir, selectExecutor(backend.backend, undefined));
  const tokenizer = loadRunTokenizer(runDir);
  const sentences = opts.text.length ? opts.text : DEFAULT_SENTENCES;
  const routed = [];
  for (const text of sentences) routed.push({ text, tokens: await routeText(model, tokenizer, text) });
  if (opts.json) {
    console.log(JSON.stringify({ run: runDir, expertKinds: model.moeLayerKinds(), topK: model.config.moe?.topK ?? 0, sentences: routed }));
    return;
  }
  for (const { text, tokens } of routed) {
    console.log(`\n${text}`);
    for (const t of tokens) {
      const layers = t.layers.map((l) => l.map((c) => `${c.expert}:${c.kind}`).join(' ').padEnd(22)).join(' | ');
      console.log(`  ${JSON.stringify(t.piece).padEnd(16)} ${layers} | FFN ${t.ffnExperts.toFixed(2)}`);
    }
  }
  model.dispose();
}

main().catch((e: unknown) => {
  console.error(`error: ${(e as Error).message}`);
  process.exit(2);
});
