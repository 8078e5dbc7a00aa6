/**
 * The study tables: one row per configuration (mean ± std over seeds), and paired per-seed
 * deltas against the baseline with bootstrap confidence intervals. Each table is built as
 * typed rows first, then written as Markdown (for report.md) and CSV (full data).
 */
import { formatCsv } from '@moepp/run-format';
import { csvValue, formatCount, formatMeanStd, formatSigned, decimalsFor, markdownTable, NONE } from './format.ts';
import { deadFfnExperts, ffnMaxVio } from './ffn-collapse.ts';
import { findExpertForward, type BenchMatch, type LoadedBench } from './load-bench.ts';
import { runsOf, type LoadedRun, type LoadedStudy } from './load-runs.ts';
import type { ModelShape } from './run-folder-format.ts';
import { bootstrapMeanCI, cellSeed, pairedDeltas, summarize, type BootstrapCI, type Summary } from './statistics.ts';

/** One configuration of a study, aggregated over its complete seeds. */
export interface ConfigRow {
  config: string;
  isBaseline: boolean;
  n: number;
  seeds: number[];
  shape: ModelShape;
  /** '8+4' (FFN + ZC experts), '8' for vanilla MoE, 'dense'. */
  experts: string;
  /** null when τ has no effect (no ZC experts) or the model is dense. */
  tau: number | null;
  gatingResidual: boolean | null;
  paramsTotal: number;
  paramsActive: number;
  ffnPerToken: Summary;
  /** FFN experts' load among themselves (ffn-collapse.ts); n = 0 for dense. */
  ffnMaxVio: Summary;
  deadFfnExperts: Summary;
  valLoss: Summary;
  valPerplexity: Summary;
  valAccuracy: Summary;
  testLoss: Summary;
  testPerplexity: Summary;
  testAccuracy: Summary;
  trainTokensPerS: Summary;
  bench: BenchMatch | null;
}

/** ZC expert count of a shape (0 for vanilla MoE and dense). */
export function zcExperts(shape: ModelShape): number {
  return shape.moe?.zcExperts ?? 0;
}

/** '8+4', '8' or 'dense'. */
export function expertsLabel(shape: ModelShape): string {
  if (!shape.moe) return 'dense';
  const zc = zcExperts(shape);
  return zc > 0 ? `${shape.moe.ffnExperts}+${zc}` : `${shape.moe.ffnExperts}`;
}

/** τ of a config, or null where it cannot matter. */
export function tauOf(shape: ModelShape): number | null {
  return shape.moe && zcExperts(shape) > 0 ? shape.moe.tau : null;
}

/** Rows of the summary table, in the study's config order. */
export function buildConfigRows(study: LoadedStudy, bench: LoadedBench): ConfigRow[] {
  return study.configs.map((config) => {
    const runs = runsOf(study, config);
    const shape = runs[0].shape;
    const of = (get: (r: LoadedRun) => number | null | undefined): Summary =>
      summarize(runs.map((r) => get(r) ?? NaN));
    return {
      config,
      isBaseline: config === study.baseline,
      n: runs.length,
      seeds: runs.map((r) => r.seed),
      shape,
      experts: expertsLabel(shape),
      tau: tauOf(shape),
      gatingResidual: shape.moe ? shape.moe.gatingResidual : null,
      // Parameter counts are a property of the config; the mean only guards odd folders.
      paramsTotal: of((r) => r.summary.params.total).mean,
      paramsActive: of((r) => r.summary.params.activePerToken).mean,
      ffnPerToken: of((r) => r.summary.params.ffnExpertsPerToken),
      ffnMaxVio: of(ffnMaxVio),
      deadFfnExperts: of(deadFfnExperts),
      valLoss: of((r) => r.summary.val.loss),
      valPerplexity: of((r) => r.summary.val.perplexity),
      valAccuracy: of((r) => r.summary.val.accuracy),
      testLoss: of((r) => r.summary.test?.loss),
      testPerplexity: of((r) => r.summary.test?.perplexity),
      testAccuracy: of((r) => r.summary.test?.accuracy),
      trainTokensPerS: of((r) => r.summary.train.tokensPerSecond),
      bench: findExpertForward(bench, shape),
    };
  });
}

/** What "±" and "n" mean, said once under every table that uses them. */
export const MEAN_STD_LEGEND =
  '"a ± b": mean ± sample standard deviation (n − 1 denominator) over seeds; n = number of complete ' +
  'seeds of the row, shown in a cell as "(n=k)" only where fewer seeds have that value.';

/** The summary table as Markdown (table plus its legend). */
export function summaryMarkdown(rows: ConfigRow[]): string {
  const header = [
    'config', 'n', 'experts', 'τ', 'gating residual', 'params', 'active params / token', 'FFN experts / token',
    'FFN MaxVio', 'dead FFN experts', 'val loss', 'val ppl', 'val acc (%)', 'test loss', 'test ppl', 'test acc (%)', 'train tokens/s',
    'expert fwd (ms)', 'throughput increase',
  ];
  const body = rows.map((r) => {
    const ms = (s: Summary, scale = 1, fallbackDecimals = 4): string =>
      formatMeanStd(s, { expectedN: r.n, scale, fallbackDecimals });
    const inc = r.bench?.row.increase;
    return [
      r.isBaseline ? `${r.config} (baseline)` : r.config,
      String(r.n),
      r.experts,
      r.tau === null ? NONE : String(r.tau),
      r.gatingResidual === null ? NONE : r.gatingResidual ? 'yes' : 'no',
      formatCount(r.paramsTotal),
      formatCount(r.paramsActive),
      ms(r.ffnPerToken, 1, 3),
      r.ffnMaxVio.n ? ms(r.ffnMaxVio, 1, 2) : NONE,
      r.deadFfnExperts.n ? ms(r.deadFfnExperts, 1, 1) : NONE,
      ms(r.valLoss),
      ms(r.valPerplexity, 1, 2),
      ms(r.valAccuracy, 100, 2),
      ms(r.testLoss),
      ms(r.testPerplexity, 1, 2),
      ms(r.testAccuracy, 100, 2),
      ms(r.trainTokensPerS, 1, 0),
      r.bench ? r.bench.row.medianMs.toFixed(3) : NONE,
      r.bench && Number.isFinite(inc) ? `${formatSigned(inc! * 100, 1)} %` : r.bench ? 'reference' : NONE,
    ];
  });
  const align: ('l' | 'r')[] = header.map((_, i) => (i === 0 || i === 2 || i === 4 ? 'l' : 'r'));
  const benchNotes = [...new Set(rows.filter((r) => r.bench).map((r) => `${r.config}: bench/${r.bench!.timestamp}, ${r.bench!.row.tokens} tokens, ${r.bench!.row.impl}`))];
  return (
    markdownTable(header, body, align) +
    `\n${MEAN_STD_LEGEND} Accuracy is next-token accuracy. "FFN MaxVio" is the busiest FFN expert's held-out load over the mean ` +
    'FFN load, minus 1, averaged over MoE layers; "dead FFN experts" counts FFN experts under 10 % of the mean FFN load, summed over MoE ' +
    'layers (zero-computation experts excluded from both). "expert fwd" is the median expert forward time of one ' +
    'layer (FFN and ZC experts, dispatch and combine, router excluded) from the newest benchmark with the same layer ' +
    'shape and τ; "throughput increase" is t_MoE / t_MoE++ − 1 against the vanilla-MoE row of that benchmark ' +
    `(paper Table 3).${benchNotes.length ? ` Benchmarks used: ${benchNotes.join('; ')}.` : ' No matching benchmark was found.'}\n`
  );
}

const SUMMARY_FIELDS: [keyof ConfigRow, string][] = [
  ['ffnPerToken', 'ffn_experts_per_token'],
  ['ffnMaxVio', 'ffn_max_vio'],
  ['deadFfnExperts', 'dead_ffn_experts'],
  ['valLoss', 'val_loss'],
  ['valPerplexity', 'val_perplexity'],
  ['valAccuracy', 'val_accuracy'],
  ['testLoss', 'test_loss'],
  ['testPerplexity', 'test_perplexity'],
  ['testAccuracy', 'test_accuracy'],
  ['trainTokensPerS', 'train_tokens_per_s'],
];

/** The summary table as CSV: every statistic in its own column, `_std` sample std, `_n` seeds. */
export function summaryCsv(rows: ConfigRow[]): string {
  const header = [
    'config', 'baseline', 'n_runs', 'seeds', 'ffn_experts', 'zc_experts', 'tau', 'gating_residual', 'params_total',
    'params_active_per_token',
  ];
  for (const [, name] of SUMMARY_FIELDS) for (const s of ['mean', 'std', 'n']) header.push(`${name}_${s}`);
  header.push('bench_timestamp', 'bench_tokens', 'bench_expert_forward_ms', 'bench_throughput_increase');
  const records = rows.map((r) => {
    const rec: Record<string, string | number> = {
      config: r.config,
      baseline: r.isBaseline ? 'yes' : 'no',
      n_runs: r.n,
      seeds: r.seeds.join(' '),
      ffn_experts: r.shape.moe?.ffnExperts ?? 0,
      zc_experts: zcExperts(r.shape),
      tau: csvValue(r.tau),
      gating_residual: r.gatingResidual === null ? '' : r.gatingResidual ? 'yes' : 'no',
      params_total: csvValue(r.paramsTotal),
      params_active_per_token: csvValue(r.paramsActive),
      bench_timestamp: r.bench?.timestamp ?? '',
      bench_tokens: csvValue(r.bench?.row.tokens),
      bench_expert_forward_ms: csvValue(r.bench?.row.medianMs),
      bench_throughput_increase: csvValue(r.bench?.row.increase),
    };
    for (const [key, name] of SUMMARY_FIELDS) {
      const s = r[key] as Summary;
      rec[`${name}_mean`] = csvValue(s.mean);
      rec[`${name}_std`] = csvValue(s.std);
      rec[`${name}_n`] = s.n;
    }
    return rec;
  });
  return formatCsv(header, records);
}

// ---------------------------------------------------------------------------------------------
// Paired deltas against the baseline.

/** A metric compared per seed. `relative` deltas are treatment / baseline − 1 (in %). */
export interface DeltaMetric {
  key: string;
  label: string;
  unit: string;
  get: (run: LoadedRun) => number | undefined;
  relative?: boolean;
  /** Multiplier for display (100 turns an accuracy fraction into percentage points). */
  scale?: number;
}

/** The metrics of the delta table. */
export const DELTA_METRICS: DeltaMetric[] = [
  { key: 'val.loss', label: 'val loss', unit: 'nats', get: (r) => r.summary.val.loss },
  { key: 'val.perplexity', label: 'val perplexity', unit: '', get: (r) => r.summary.val.perplexity },
  { key: 'val.accuracy', label: 'val accuracy', unit: 'pp', get: (r) => r.summary.val.accuracy, scale: 100 },
  { key: 'test.loss', label: 'test loss', unit: 'nats', get: (r) => r.summary.test?.loss },
  { key: 'test.accuracy', label: 'test accuracy', unit: 'pp', get: (r) => r.summary.test?.accuracy, scale: 100 },
  { key: 'ffn_experts_per_token', label: 'FFN experts / token', unit: '', get: (r) => r.summary.params.ffnExpertsPerToken },
  { key: 'ffn_max_vio', label: 'FFN MaxVio', unit: '', get: ffnMaxVio },
  { key: 'dead_ffn_experts', label: 'dead FFN experts', unit: '', get: deadFfnExperts },
  { key: 'train.tokens_per_s', label: 'train tokens/s', unit: '%', get: (r) => r.summary.train.tokensPerSecond, relative: true, scale: 100 },
  // evaluation.json (absent in older run folders: those rows are left out).
  { key: 'cloze.accuracy', label: 'cloze accuracy', unit: 'pp', get: (r) => r.evaluation?.cloze?.accuracy, scale: 100 },
];

/** One (config, metric) cell of the delta table. */
export interface DeltaRow {
  config: string;
  metric: DeltaMetric;
  seeds: number[];
  /** Per-seed deltas in display units (scale applied). */
  deltas: number[];
  ci: BootstrapCI;
}

/** Options of `buildDeltaRows`. */
export interface DeltaOptions {
  resamples?: number;
  confidence?: number;
  seed?: number;
}

/**
 * Paired per-seed deltas of every non-baseline config against the baseline, with a percentile
 * bootstrap CI of the mean delta. Each cell's RNG seed derives from (seed, config, metric).
 */
export function buildDeltaRows(study: LoadedStudy, options: DeltaOptions = {}): DeltaRow[] {
  if (study.baseline === null) return [];
  const base = runsOf(study, study.baseline);
  const out: DeltaRow[] = [];
  for (const config of study.configs) {
    if (config === study.baseline) continue;
    const runs = runsOf(study, config);
    for (const metric of DELTA_METRICS) {
      const toMap = (rs: LoadedRun[]): Map<number, number> => new Map(rs.map((r) => [r.seed, metric.get(r) ?? NaN]));
      const baseMap = toMap(base);
      const { seeds, deltas: raw } = pairedDeltas(baseMap, toMap(runs));
      if (seeds.length === 0 && runs.every((r) => metric.get(r) === undefined)) continue;
      const k = metric.scale ?? 1;
      const deltas = metric.relative
        ? seeds.map((s, i) => (raw[i] / baseMap.get(s)!) * k)
        : raw.map((d) => d * k);
      const ci = bootstrapMeanCI(deltas, {
        resamples: options.resamples,
        confidence: options.confidence,
        seed: cellSeed(options.seed ?? 1, config, metric.key),
      });
      out.push({ config, metric, seeds, deltas, ci });
    }
  }
  return out;
}

/** Whether a CI lies entirely on one side of zero. */
export function excludesZero(ci: BootstrapCI): boolean {
  return Number.isFinite(ci.low) && (ci.low > 0 || ci.high < 0);
}

/** The delta table as Markdown (long format: one line per config and metric) plus legend. */
export function deltasMarkdown(rows: DeltaRow[], baseline: string | null): string {
  if (baseline === null) return 'No baseline: no paired deltas.\n';
  if (rows.length === 0) return `Only the baseline '${baseline}' has complete runs: no paired deltas.\n`;
  const conf = rows[0].ci.confidence;
  const header = ['config', 'metric', 'pairs (seeds)', 'mean Δ', `${Math.round(conf * 100)} % CI`, 'CI excludes 0'];
  const body = rows.map((r) => {
    const spread = Math.abs(r.ci.high - r.ci.low) || Math.abs(r.ci.mean) / 10;
    const d = Math.max(decimalsFor(spread, 3), r.metric.unit === 'pp' || r.metric.unit === '%' ? 2 : 3);
    const unit = r.metric.unit ? ` ${r.metric.unit}` : '';
    return [
      r.config,
      r.metric.label,
      `${r.ci.n} (${r.seeds.join(', ') || NONE})`,
      r.ci.n > 0 ? `${formatSigned(r.ci.mean, d)}${unit}` : NONE,
      Number.isFinite(r.ci.low) ? `[${formatSigned(r.ci.low, d)}, ${formatSigned(r.ci.high, d)}]` : 'n < 2',
      Number.isFinite(r.ci.low) ? (excludesZero(r.ci) ? 'yes' : 'no') : NONE,
    ];
  });
  const resamples = rows[0].ci.resamples;
  return (
    markdownTable(header, body, ['l', 'l', 'r', 'r', 'r', 'l']) +
    `\nΔ = config − ${baseline} on the same seed, averaged over the seeds both have. CI: percentile bootstrap of the ` +
    `mean Δ (${resamples} resamples of the per-seed deltas, seeded, so re-runs give the same interval). ` +
    'pp = percentage points; train tokens/s is a relative change in %. With fewer than about 5 seeds the ' +
    'bootstrap has few distinct resamples and its interval is too narrow: read "CI excludes 0" as a hint, not a test.\n'
  );
}

/** The delta table as CSV, one record per (config, metric), with the per-seed deltas. */
export function deltasCsv(rows: DeltaRow[]): string {
  const ids = ['config', 'metric', 'unit', 'n_pairs', 'seeds', 'deltas', 'mean_delta', 'ci_low', 'ci_high', 'confidence', 'resamples', 'ci_excludes_zero'];
  return formatCsv(
    ids,
    rows.map((r) => ({
      config: r.config,
      metric: r.metric.key,
      unit: r.metric.unit,
      n_pairs: r.ci.n,
      seeds: r.seeds.join(' '),
      deltas: r.deltas.map((d) => csvValue(d)).join(' '),
      mean_delta: csvValue(r.ci.mean),
      ci_low: csvValue(r.ci.low),
      ci_high: csvValue(r.ci.high),
      confidence: r.ci.confidence,
      resamples: r.ci.resamples,
      ci_excludes_zero: Number.isFinite(r.ci.low) ? (excludesZero(r.ci) ? 'yes' : 'no') : '',
    })),
  );
}

/** Skipped runs as Markdown. */
export function skippedMarkdown(skipped: { runId: string; reason: string }[]): string {
  if (skipped.length === 0) return 'No run was skipped.\n';
  return markdownTable(['run', 'reason'], skipped.map((s) => [s.runId, s.reason]));
}

/** Skipped runs as CSV. */
export function skippedCsv(skipped: { runId: string; reason: string }[]): string {
  return formatCsv(['run', 'reason'], skipped.map((s) => ({ run: s.runId, reason: s.reason })));
}
