/**
 * The paper's qualitative claims (MoE++ §5; the method doc, §8), each measured per run and
 * summarised over seeds with a percentile-bootstrap CI. A claim holds where the CI lies on the
 * side the paper says, is reversed where it lies on the other side, and is unclear otherwise.
 *
 *   verbs > nouns           FFN experts per token, verb − noun (input token's POS; MoE++ configs)
 *   verbs the most          verb − the most-served other word class (punctuation, numbers, other left out)
 *   fragments the fewest    word-initial pieces − fragments
 *   residual lowers variance  routing-score variance with / without the gating residual − 1,
 *                           mean over layers, paired by seed between configs that differ only there
 *   residual improves       val loss with − without the residual, the same pairs
 *   adjacent layers         bias-corrected Cramér's V of adjacent layers' expert choices, mean over pairs
 *   harder text, more FFN   Spearman ρ over genres of (genre loss, FFN experts per token)
 *   skipping tokens easier  loss of tokens that got fewer than K FFN experts (layer mean) − loss of
 *                           those that got K in every layer
 *
 * Routing scores are softmax probabilities over a layer's E experts, so their mean is 1/E in every
 * config: the paper's "without moving their mean" holds by construction and is not measured.
 */
import { formatCsv } from '@moepp/run-format';
import { cramersV, spearman } from './association.ts';
import { csvValue, decimalsFor, formatSigned, markdownTable } from './format.ts';
import { runsOf, type LoadedRun, type LoadedStudy } from './load-runs.ts';
import { bootstrapMeanCI, cellSeed, pairedDeltas, type BootstrapCI } from './statistics.ts';

export type ClaimVerdict = 'holds' | 'reversed' | 'unclear';

/** One claim measured on one config (or one pair of configs). */
export interface ClaimRow {
  claim: string;
  /** What is computed per run, with its unit. */
  measure: string;
  /** The config, or `A vs B` for a paired claim. */
  config: string;
  seeds: number[];
  values: number[];
  ci: BootstrapCI;
  verdict: ClaimVerdict;
}

interface Claim {
  claim: string;
  measure: string;
  /** +1: the paper says the measure is > 0; −1: < 0. */
  direction: 1 | -1;
  /** The measure of one run; undefined where the run cannot give it. */
  value: (run: LoadedRun) => number | undefined;
  /** Which configs it applies to. */
  applies: (run: LoadedRun) => boolean;
}

const WORD_CLASSES = ['noun', 'verb', 'adjective', 'adverb', 'pronoun', 'determiner', 'preposition', 'conjunction'];
const isMoepp = (run: LoadedRun) => (run.shape.moe?.zcExperts ?? 0) > 0;
const isMoe = (run: LoadedRun) => run.shape.moe !== null;
const ffnOf = (run: LoadedRun, pos: string) => run.routing.byPos[pos]?.ffnExpertsPerToken;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

const CLAIMS: Claim[] = [
  {
    claim: 'Verbs get more FFN experts than nouns',
    measure: 'FFN experts per token, verb − noun',
    direction: 1,
    applies: isMoepp,
    value: (run) => {
      const [verb, noun] = [ffnOf(run, 'verb'), ffnOf(run, 'noun')];
      return verb === undefined || noun === undefined ? undefined : verb - noun;
    },
  },
  {
    claim: 'Verbs get the most FFN experts of all word classes',
    measure: 'FFN experts per token, verb − the highest other word class',
    direction: 1,
    applies: isMoepp,
    value: (run) => {
      const verb = ffnOf(run, 'verb');
      const others = WORD_CLASSES.filter((c) => c !== 'verb' && (run.routing.byPos[c]?.tokens ?? 0) > 0).map((c) => ffnOf(run, c)!);
      return verb === undefined || others.length === 0 ? undefined : verb - Math.max(...others);
    },
  },
  {
    claim: 'Word fragments get fewer FFN experts than word-initial pieces',
    measure: 'FFN experts per token, initial − fragment',
    direction: 1,
    applies: isMoepp,
    value: (run) => {
      const [initial, fragment] = [run.routing.byPiece.initial?.ffnExpertsPerToken, run.routing.byPiece.fragment?.ffnExpertsPerToken];
      return initial === undefined || fragment === undefined ? undefined : initial - fragment;
    },
  },
  {
    claim: 'Expert choice is correlated across adjacent layers',
    measure: "Cramér's V of adjacent layers' expert choices (bias-corrected), mean over pairs",
    direction: 1,
    applies: isMoe,
    value: (run) => {
      const vs = run.routing.coActivation.map((c) => cramersV(c.counts)).filter(Number.isFinite);
      return vs.length ? mean(vs) : undefined;
    },
  },
  {
    claim: 'Harder text gets more FFN experts (fewer zero-computation slots)',
    measure: 'Spearman ρ over genres of (val loss, FFN experts per token)',
    direction: 1,
    applies: isMoepp,
    value: (run) => {
      const genres = Object.values(run.evaluation?.byGenre ?? {}).filter((g) => g.ffnExpertsPerToken !== null);
      const rho = spearman(genres.map((g) => g.loss), genres.map((g) => g.ffnExpertsPerToken!));
      return Number.isFinite(rho) ? rho : undefined;
    },
  },
  {
    claim: 'Tokens that skip FFN experts are the easier ones',
    measure: 'val loss (nats) of tokens with fewer than K FFN experts − of tokens with K in every layer',
    direction: -1,
    applies: isMoepp,
    value: (run) => {
      const groups = run.evaluation?.byFfnExperts;
      const k = run.shape.moe?.topK;
      if (!groups || k === undefined) return undefined;
      const full = groups[String(k)];
      const fewer = Object.entries(groups).filter(([key]) => Number(key) < k).map(([, g]) => g);
      const tokens = fewer.reduce((a, g) => a + g.tokens, 0);
      if (!full || full.tokens === 0 || tokens === 0) return undefined;
      return fewer.reduce((a, g) => a + g.loss * g.tokens, 0) / tokens - full.loss;
    },
  },
];

const RESIDUAL_KEY = 'model.moe.gatingResidual';
const RESIDUAL_LOSS_CLAIM = 'The gating residual improves the model';

/** The configs of a study as pairs (with residual, without) whose settings differ only in the gating residual. */
export function residualPairs(study: LoadedStudy): [string, string][] {
  const key = (run: LoadedRun) => JSON.stringify(Object.entries(run.settings).filter(([k]) => k !== RESIDUAL_KEY).sort(([a], [b]) => (a < b ? -1 : 1)));
  const first = new Map(study.configs.map((c) => [c, runsOf(study, c)[0]] as const));
  const pairs: [string, string][] = [];
  for (const [withName, withRun] of first) {
    if (withRun?.settings[RESIDUAL_KEY] !== true) continue;
    for (const [withoutName, withoutRun] of first) {
      if (withoutRun?.settings[RESIDUAL_KEY] === false && key(withoutRun) === key(withRun)) pairs.push([withName, withoutName]);
    }
  }
  return pairs;
}

function verdict(ci: BootstrapCI, direction: 1 | -1): ClaimVerdict {
  if (!Number.isFinite(ci.low)) return 'unclear';
  const [low, high] = direction === 1 ? [ci.low, ci.high] : [-ci.high, -ci.low];
  return low > 0 ? 'holds' : high < 0 ? 'reversed' : 'unclear';
}

/** Mean routing-score variance over a run's MoE layers. */
const routingVariance = (run: LoadedRun) => mean(run.routing.layers.map((l) => l.routingScoreVariance));

/**
 * Every claim on every config it applies to (configs with at least one run giving the measure),
 * then the residual claim on every residual pair.
 *
 * @example
 * paperClaims(loadStudy('results', 'paper-lite')).filter((r) => r.verdict === 'holds');
 */
export function paperClaims(study: LoadedStudy, seed = 1): ClaimRow[] {
  const rows: ClaimRow[] = [];
  for (const claim of CLAIMS) {
    for (const config of study.configs) {
      const runs = runsOf(study, config).filter(claim.applies);
      const measured = runs.flatMap((r) => {
        const v = claim.value(r);
        return v === undefined || !Number.isFinite(v) ? [] : [{ seed: r.seed, v }];
      });
      if (measured.length === 0) continue;
      const values = measured.map((m) => m.v);
      const ci = bootstrapMeanCI(values, { seed: cellSeed(seed, 'claim', claim.claim, config) });
      rows.push({ claim: claim.claim, measure: claim.measure, config, seeds: measured.map((m) => m.seed), values, ci, verdict: verdict(ci, claim.direction) });
    }
  }
  const claim = 'The gating residual lowers the variance of routing scores';
  for (const [withName, withoutName] of residualPairs(study)) {
    const per = (c: string) => new Map(runsOf(study, c).filter(isMoe).map((r) => [r.seed, routingVariance(r)] as const));
    const [withVar, withoutVar] = [per(withName), per(withoutName)];
    const { seeds } = pairedDeltas(withoutVar, withVar);
    if (seeds.length === 0) continue;
    const values = seeds.map((s) => withVar.get(s)! / withoutVar.get(s)! - 1);
    const ci = bootstrapMeanCI(values, { seed: cellSeed(seed, 'claim', claim, withName, withoutName) });
    rows.push({
      claim, measure: 'routing-score variance with / without the residual − 1, mean over layers, paired by seed',
      config: `${withName} vs ${withoutName}`, seeds, values, ci, verdict: verdict(ci, -1),
    });
    // Paper Table 6: the residual raises accuracy (47.5 → 47.7); here, does it lower val loss?
    const loss = (c: string) => new Map(runsOf(study, c).map((r) => [r.seed, r.summary.val.loss] as const));
    const gain = pairedDeltas(loss(withoutName), loss(withName));
    const lossCi = bootstrapMeanCI(gain.deltas, { seed: cellSeed(seed, 'claim', RESIDUAL_LOSS_CLAIM, withName, withoutName) });
    rows.push({
      claim: RESIDUAL_LOSS_CLAIM, measure: 'val loss (nats) with − without the residual, paired by seed',
      config: `${withName} vs ${withoutName}`, seeds: gain.seeds, values: gain.deltas, ci: lossCi, verdict: verdict(lossCi, -1),
    });
  }
  return rows;
}

/** The claims as Markdown: one row per claim and config, with its verdict. */
export function claimsMarkdown(rows: ClaimRow[]): string {
  if (rows.length === 0) return 'No claim can be measured on these runs (they need MoE routing and, for genres and skipped tokens, evaluation.json).\n';
  const header = ['claim', 'config', 'measure', 'seeds', 'mean', '95 % CI', 'verdict'];
  const body = rows.map((r) => {
    const spread = Math.abs(r.ci.high - r.ci.low) || Math.abs(r.ci.mean) / 10;
    const d = Math.max(decimalsFor(spread, 3), 2);
    return [
      r.claim, r.config, r.measure, String(r.seeds.length), formatSigned(r.ci.mean, d),
      Number.isFinite(r.ci.low) ? `[${formatSigned(r.ci.low, d)}, ${formatSigned(r.ci.high, d)}]` : 'n < 2', r.verdict,
    ];
  });
  return (
    markdownTable(header, body, ['l', 'l', 'l', 'r', 'r', 'r', 'l']) +
    '\nVerdict: `holds` when the CI (percentile bootstrap over seeds) lies on the side the paper reports, `reversed` when it lies on the other side, ' +
    '`unclear` when it spans 0. With 3 seeds the interval is optimistic: a hint, not a test. Routing scores are softmax probabilities, ' +
    "so their mean is 1/E in every config and the paper's \"without moving their mean\" holds by construction.\n"
  );
}

/** The claims as CSV, with the per-seed values. */
export function claimsCsv(rows: ClaimRow[]): string {
  const columns = ['claim', 'config', 'measure', 'seeds', 'values', 'mean', 'ci_low', 'ci_high', 'verdict'];
  return formatCsv(columns, rows.map((r) => ({
    claim: r.claim, config: r.config, measure: r.measure, seeds: r.seeds.join(' '), values: r.values.map((v) => csvValue(v)).join(' '),
    mean: csvValue(r.ci.mean), ci_low: csvValue(r.ci.low), ci_high: csvValue(r.ci.high), verdict: r.verdict,
  })));
}
