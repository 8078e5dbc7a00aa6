/**
 * `summary.md` of a benchmark folder: the Markdown tables BENCHMARKS.md quotes — throughput
 * increase against the theoretical one and the paper's Table 3, FFN rate against plain matmul,
 * ours against PyTorch, peak memory, the training step, peer checks, and where the time goes.
 */
import type { BenchEnvironment, FamilyCsvRow, LayerCsvRow, PeerCheckRow } from '@moepp/run-format';
import { cellNumber, sameGroup } from './layer-rows.ts';
import { paperIncrease } from './paper-table3.ts';
import { targetVerdicts } from './targets.ts';

/** One op of a profiled call. */
export interface OpTime {
  op: string;
  calls: number;
  ms: number;
  /** Share of the call's wall time. */
  share: number;
  /** Largest input shapes seen, e.g. `2048x768 · 768x2048` (the first 4, then a count). */
  example: string;
  /** A custom op: its time includes the registered kernels it runs. */
  inclusive: boolean;
}

/** The per-op profile of one call, as the bench measures it (profile.csv flattens it to rows). */
export interface OpProfile {
  wallMs: number;
  /** Time in registered kernels (custom ops excluded, their kernels counted once). */
  kernelMs: number;
  ops: OpTime[];
  /** The costliest op broken down by input shapes (e.g. which matmuls take the time), largest first. */
  topOpByShape: { op: string; shapes: string; calls: number; ms: number; share: number }[];
}

/** The benchmark settings the summary quotes. */
export interface BenchSummaryOptions {
  preset: string;
  reps: number;
  minReps: number;
  warmup: number;
  maxGroupSeconds: number;
}

// The summary's own table layout (`| --- |` rules, cells as given), which BENCHMARKS.md quotes;
// report tables use format.ts's `markdownTable`.
function markdownTable(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.map(String).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

const num = cellNumber;
const pct = (v: unknown, digits = 1) => (Number.isFinite(num(v)) ? `${(num(v) * 100).toFixed(digits)} %` : '–');
const fix = (v: unknown, digits = 1) => (Number.isFinite(num(v)) ? num(v).toFixed(digits) : '–');
const mib = (v: unknown) => (Number.isFinite(num(v)) ? `${(num(v) / 2 ** 20).toFixed(1)}` : '–');
const ms = (r: LayerCsvRow) => `${fix(r.median_ms, r.median_ms !== null && num(r.median_ms) < 10 ? 2 : 1)} [${fix(r.p20_ms, 1)}–${fix(r.p80_ms, 1)}]`;

export interface BenchSummaryInput {
  rows: LayerCsvRow[];
  /** The MoE family's designs beside MoE top-2; absent or empty = no section. */
  family?: FamilyCsvRow[];
  checks: PeerCheckRow[];
  profiles: { scope: string; profile: OpProfile }[];
  notes: string[];
  environment: BenchEnvironment;
  command: string;
  seconds: number;
  options: BenchSummaryOptions;
}

function loadText(v: unknown): string {
  return Array.isArray(v) ? (v as number[]).map((x) => x.toFixed(2)).join(' / ') : '?';
}

/** Group label, e.g. `paper 16E 2048 tok balanced`. */
function groupLabel(r: LayerCsvRow): string {
  return `${r.width} ${r.ffn_experts}E ${r.tokens} tok ${r.routing}`;
}

/** The text of a benchmark folder's `summary.md`. */
export function benchSummaryMarkdown(input: BenchSummaryInput): string {
  const { rows, environment: env } = input;
  const out: string[] = [];
  const pkgs = env.packages;
  out.push(`# MoE++ benchmark`);
  out.push('');
  out.push(`- command: \`${input.command}\` (preset ${input.options.preset}; ${input.options.reps} timed reps wanted, at least ${input.options.minReps}, ${input.options.warmup} warm-up; a group is capped at ${input.options.maxGroupSeconds} s, the \`reps\` column says how many ran)`);
  out.push(`- machine: ${env.cpu}, ${env.cores} cores, ${env.platform}, Node ${env.node}; load average (1/5/15 min) at start ${loadText(env.loadAverage)}, at end ${loadText(env.loadAverageAtEnd)} (this benchmark alone adds about its thread count; more means other processes shared the cores)`);
  out.push(`- backend: ${env.backend}, ${env.threads} thread(s)${env.patches.length ? `, kernel patches: ${env.patches.join(', ')}` : ''}; tfjs-core ${pkgs['@tensorflow/tfjs-core'] ?? '?'}, tfjs-backend-wasm ${pkgs['@tensorflow/tfjs-backend-wasm'] ?? '?'}; git ${env.gitCommit ?? '?'}`);
  out.push(`- started ${env.startedAt}, took ${(input.seconds / 60).toFixed(1)} min`);
  for (const n of input.notes) out.push(`- ${n}`);
  out.push('');
  out.push('Times are medians [p20–p80] in ms over interleaved repetitions (MoE, MoE++ τ…, MoE, …), warm-up excluded, each call ending with one value of its result read to the host. ' +
    '`increase` = t_MoE / t_MoE++ − 1; `theoretical` = FLOPs_MoE / FLOPs_MoE++ − 1 from the FFN slots actually routed; `delivered` = increase / theoretical; `paper` = Table 3 at the same FFN expert count and τ.');

  out.push('', '## Targets', '');
  out.push('The benchmark issue\'s targets, judged from this run\'s rows (no test asserts timings).', '');
  out.push(markdownTable(['target', 'met', 'figure'], targetVerdicts(rows).map((v) => [v.target, v.met === null ? '–' : v.met ? 'yes' : '**no**', v.figure])));

  const own = rows.filter((r) => r.impl === 'moe' || r.impl === 'moepp');
  for (const measure of ['expert_forward', 'layer_forward', 'layer_forward_backward', 'train_step']) {
    const moeRows = own.filter((r) => r.measure === measure && r.impl === 'moe');
    if (moeRows.length === 0) continue;
    out.push('', `## ${measure}${measure === 'expert_forward' ? ' (paper Table 3: dispatch, FFN and ZC experts, combine; router excluded)' : ''}`, '');
    const table: (string | number)[][] = [];
    for (const moe of moeRows) {
      table.push([groupLabel(moe), 'MoE', ms(moe), fix(moe.tokens_per_s, 0), fix(moe.ffn_slots, 0), '', '', '', '']);
      for (const r of own.filter((x) => x.impl === 'moepp' && sameGroup(x, moe))) {
        const paper = measure === 'train_step' ? null : paperIncrease(num(r.ffn_experts), num(r.tau));
        table.push(['', `MoE++ τ ${r.tau}`, ms(r), fix(r.tokens_per_s, 0), fix(r.ffn_slots, 0), pct(r.increase), pct(r.theoretical_increase), pct(r.delivered, 0), paper === null ? '–' : `${paper} %`]);
      }
    }
    out.push(markdownTable(['group', 'layer', 'ms', 'tokens/s', 'FFN slots', 'increase', 'theoretical', 'delivered', 'paper'], table));
  }

  const family = input.family ?? [];
  if (family.length) {
    out.push('', '## The MoE family beside MoE top-2 (equal active FFN compute per token)', '');
    out.push('Each design passes every token through the same FFN hidden units as top-2 of 8 experts of width I (`active` = K·I_e + shared); ' +
      'they differ in how that compute is cut (expert count and width, a shared expert) and in the router (hash routing has none). ' +
      'Uniform routing for routed designs, uniformly drawn token ids for hash. `× top-2` = median time over MoE top-2\'s in the same interleaved rounds.', '');
    out.push(markdownTable(['measure', 'width', 'tokens', 'design', 'experts × hidden', 'K', 'shared', 'active', 'ms', 'tokens/s', '× top-2', 'FFN GFLOP/s'],
      family.map((r) => [String(r.measure), String(r.width), fix(r.tokens, 0), String(r.design), `${r.experts} × ${r.expert_hidden}`, fix(r.top_k, 0), fix(r.shared_hidden, 0), fix(r.active_ffn_hidden, 0),
        `${fix(r.median_ms, num(r.median_ms) < 10 ? 2 : 1)} [${fix(r.p20_ms, 1)}–${fix(r.p80_ms, 1)}]`, fix(r.tokens_per_s, 0), fix(r.time_vs_moe_top2, 2), fix(r.ffn_gflops)])));
  }

  out.push('', '## FFN rate against plain matmul', '');
  out.push('FFN GFLOP/s = FFN FLOPs of the call (×3 with the backward; the whole model for train_step) over the call\'s median time — dispatch, combine and everything else included, so a lower bound on the experts\' own rate. ' +
    'Plain matmul = the backend\'s rate for the expert\'s three matmuls, no transposes, at the mean rows per FFN expert (train_step: (N, D)·(D, 4D)).', '');
  out.push(markdownTable(['measure', 'group', 'layer', 'FFN GFLOP/s', 'plain matmul GFLOP/s', 'ratio'],
    own.map((r) => [String(r.measure), groupLabel(r), r.impl === 'moe' ? 'MoE' : `MoE++ τ ${r.tau}`, fix(r.ffn_gflops), fix(r.matmul_gflops), pct(num(r.ffn_gflops) / num(r.matmul_gflops), 0)])));

  const torch = rows.filter((r) => String(r.impl).startsWith('torch-'));
  if (torch.length) {
    out.push('', '## Ours against PyTorch (same weights, inputs and routing)', '');
    out.push(markdownTable(['measure', 'group', 'layer', 'ours ms', 'torch ms', 'ours tok/s', 'torch tok/s', 'ours/torch', 'torch increase'],
      torch.map((t) => {
        const mine = own.find((r) => sameGroup(r, t) && `torch-${r.impl}` === t.impl && r.tau === t.tau);
        return [String(t.measure), groupLabel(t), t.impl === 'torch-moe' ? 'MoE' : `MoE++ τ ${t.tau}`, mine ? ms(mine) : '–', ms(t), mine ? fix(mine.tokens_per_s, 0) : '–', fix(t.tokens_per_s, 0), mine ? fix(num(mine.tokens_per_s) / num(t.tokens_per_s), 2) : '–', pct(t.increase)];
      })));
  }
  if (input.checks.length) {
    const worst = new Map<string, PeerCheckRow>();
    for (const c of input.checks) {
      // Per-parameter quantities (grad.<path>, updated.<path>) by kind.
      const k = `${c.measure} ${c.what.split('.')[0]}`;
      const w = worst.get(k);
      if (!w || c.max_abs_diff > w.max_abs_diff) worst.set(k, c);
    }
    out.push('', '## Equivalence with PyTorch (before timing; largest difference over all cases)', '');
    out.push(markdownTable(['measure', 'quantity', 'max |ours − torch|', 'max |value|', 'case'],
      [...worst].map(([k, c]) => [c.measure, k.split(' ')[1], c.max_abs_diff.toExponential(2), c.max_abs.toExponential(2), `${c.key} ${c.what}`])));
  }

  out.push('', '## Peak memory (MiB: parameters + the call\'s peak extra tensor bytes)', '');
  const mem: (string | number)[][] = [];
  for (const moe of own.filter((r) => r.impl === 'moe')) {
    for (const r of own.filter((x) => x.impl === 'moepp' && sameGroup(x, moe))) {
      mem.push([String(moe.measure), groupLabel(moe), `τ ${r.tau}`, mib(moe.peak_bytes), mib(r.peak_bytes), num(r.peak_bytes) <= num(moe.peak_bytes) ? 'yes' : '**no**']);
    }
  }
  out.push(markdownTable(['measure', 'group', 'MoE++', 'MoE MiB', 'MoE++ MiB', 'MoE++ ≤ MoE'], mem));

  for (const { scope, profile } of input.profiles) {
    out.push('', `## Where the time goes: ${scope}`, '');
    out.push(`One profiled call: ${profile.wallMs.toFixed(1)} ms wall, ${profile.kernelMs.toFixed(1)} ms in registered kernels. Ops marked * are custom ops timed inclusively (their time contains the kernels they run, which have their own rows; the rest of it is their host work).`, '');
    out.push(markdownTable(['op', 'calls', 'ms', 'share', 'largest inputs'], profile.ops.slice(0, 14).map((o) => [o.inclusive ? `${o.op} *` : o.op, o.calls, o.ms.toFixed(1), pct(o.share, 1), o.example])));
    if (profile.topOpByShape.length) {
      out.push('', `${profile.topOpByShape[0].op} by input shapes (top 10):`, '');
      out.push(markdownTable(['inputs', 'calls', 'ms', 'share'], profile.topOpByShape.slice(0, 10).map((o) => [o.shapes, o.calls, o.ms.toFixed(1), pct(o.share, 1)])));
    }
  }
  return `${out.join('\n')}\n`;
}
