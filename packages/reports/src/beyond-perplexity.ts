/**
 * Evaluation beyond perplexity, per config (evaluation.json): the cloze probe's accuracy and
 * next-token accuracy by the POS class of the token predicted, mean ± std over seeds.
 */
import { formatCsv } from '@moepp/run-format';
import { csvValue, formatMeanStd, markdownTable, NONE } from './format.ts';
import { runsOf, type LoadedRun, type LoadedStudy } from './load-runs.ts';
import { summarize, type Summary } from './statistics.ts';

/** The POS classes of the table, in column order. */
export const ACCURACY_CLASSES = ['noun', 'verb', 'adjective', 'adverb', 'pronoun', 'determiner', 'preposition', 'conjunction', 'punctuation'] as const;

export interface BeyondPerplexityRow {
  config: string;
  n: number;
  /** Chance level of the probe (1 / candidates); NaN without a probe. */
  clozeChance: number;
  cloze: Summary;
  /** Next-token accuracy by the predicted token's POS class. */
  accuracyByPos: Record<string, Summary>;
}

/** One row per config with at least one run that has evaluation.json. */
export function beyondPerplexityRows(study: LoadedStudy): BeyondPerplexityRow[] {
  return study.configs.flatMap((config) => {
    const runs = runsOf(study, config).filter((r): r is LoadedRun & { evaluation: NonNullable<LoadedRun['evaluation']> } => r.evaluation !== null);
    if (runs.length === 0) return [];
    const cloze = runs.map((r) => r.evaluation.cloze?.accuracy ?? NaN);
    const candidates = runs.find((r) => r.evaluation.cloze)?.evaluation.cloze?.candidates;
    return [{
      config,
      n: runs.length,
      clozeChance: candidates ? 1 / candidates : NaN,
      cloze: summarize(cloze),
      accuracyByPos: Object.fromEntries(ACCURACY_CLASSES.map((c) => [c, summarize(runs.map((r) => r.evaluation.byTargetPos[c]?.accuracy ?? NaN))])),
    }];
  });
}

const percent = (s: Summary, n: number) => formatMeanStd(s, { scale: 100, fallbackDecimals: 1, expectedN: n });

/** The table as Markdown (accuracies in %). */
export function beyondPerplexityMarkdown(rows: BeyondPerplexityRow[]): string {
  if (rows.length === 0) return 'No run has evaluation.json (runs trained before it was written).\n';
  const header = ['config', 'seeds', 'cloze acc %', ...ACCURACY_CLASSES.map((c) => `${c} acc %`)];
  const body = rows.map((r) => [r.config, String(r.n), percent(r.cloze, r.n), ...ACCURACY_CLASSES.map((c) => (r.accuracyByPos[c].n ? percent(r.accuracyByPos[c], r.n) : NONE))]);
  const chance = rows.find((r) => Number.isFinite(r.clozeChance))?.clozeChance;
  return (
    markdownTable(header, body, ['l', 'r', ...header.slice(2).map(() => 'r' as const)]) +
    `\nCloze: the true word against ${chance ? `${Math.round(1 / chance) - 1} distractors (chance ${(100 * chance).toFixed(0)} %)` : 'its distractors'} of the same POS class, piece count and nearest training frequency, on the test split (packages/experiments/src/data/README.md). ` +
    'The other columns: next-token top-1 accuracy on the validation tokens of each POS class (of the token predicted). Mean ± std over seeds.\n'
  );
}

/** The table as CSV (fractions, full precision). */
export function beyondPerplexityCsv(rows: BeyondPerplexityRow[]): string {
  const columns = ['config', 'n', 'cloze_chance', 'cloze_accuracy_mean', 'cloze_accuracy_std', ...ACCURACY_CLASSES.flatMap((c) => [`accuracy_${c}_mean`, `accuracy_${c}_std`])];
  return formatCsv(columns, rows.map((r) => ({
    config: r.config, n: r.n, cloze_chance: csvValue(r.clozeChance), cloze_accuracy_mean: csvValue(r.cloze.mean), cloze_accuracy_std: csvValue(r.cloze.std),
    ...Object.fromEntries(ACCURACY_CLASSES.flatMap((c) => [[`accuracy_${c}_mean`, csvValue(r.accuracyByPos[c].mean)], [`accuracy_${c}_std`, csvValue(r.accuracyByPos[c].std)]])),
  })));
}
