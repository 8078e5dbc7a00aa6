/**
 * The paper's qualitative claims (paper-claims.ts) as a forest plot: one panel per claim, one
 * point per config with its bootstrap CI over seeds, and the 0 line the claim is judged against.
 */
import type { TopLevelSpec } from 'vega-lite';
import { paperClaims } from '../paper-claims.ts';
import { round, VL_SCHEMA, type FigureContext } from './common.ts';
import type { Figure, SkippedFigure } from './render.ts';

/** Builds the paper-claims figure. */
export function paperClaimsFigure(ctx: FigureContext): Figure | SkippedFigure {
  const name = 'paper-claims';
  const title = "The paper's qualitative claims";
  const rows = paperClaims(ctx.study);
  if (rows.length === 0) return { name, title, reason: 'no claim can be measured on these runs (they need MoE routing; genres and skipped tokens need evaluation.json)' };
  const claims = [...new Set(rows.map((r) => r.claim))];
  const points = rows.map((r) => ({
    claim: r.claim, measure: r.measure, config: r.config, mean: round(r.ci.mean),
    lo: round(Number.isFinite(r.ci.low) ? r.ci.low : r.ci.mean), hi: round(Number.isFinite(r.ci.high) ? r.ci.high : r.ci.mean), verdict: r.verdict, n: r.seeds.length,
  }));
  const panel = (claim: string, i: number) => {
    const measure = rows.find((r) => r.claim === claim)!.measure;
    const y = { field: 'config', type: 'nominal', title: null, sort: null, axis: { labelLimit: 360 } };
    const color = { field: 'verdict', type: 'nominal', title: 'verdict', scale: { domain: ['holds', 'unclear', 'reversed'], range: ['#2f7d32', '#7f7f7f', '#c62828'] } };
    return {
      title: { text: claim, fontSize: 11, subtitle: measure, subtitleFontSize: 9 },
      transform: [{ filter: { field: 'claim', equal: claim } }],
      width: 300,
      layer: [
        { name: `claim_zero_${i}`, mark: { type: 'rule', strokeDash: [3, 3], color: '#444' }, encoding: { x: { datum: 0, type: 'quantitative' } } },
        { name: `claim_ci_${i}`, mark: { type: 'rule', strokeWidth: 2 }, encoding: { y, x: { field: 'lo', type: 'quantitative', title: null }, x2: { field: 'hi' }, color } },
        { name: `claim_point_${i}`, mark: { type: 'point', filled: true, size: 50 }, encoding: { y, x: { field: 'mean', type: 'quantitative' }, color, tooltip: [{ field: 'config' }, { field: 'mean' }, { field: 'lo' }, { field: 'hi' }, { field: 'n', title: 'seeds' }] } },
      ],
    };
  };
  const spec = {
    $schema: VL_SCHEMA,
    description: `The paper's qualitative claims, study ${ctx.study.name}`,
    title: { text: "The paper's qualitative claims, measured", subtitle: 'mean over seeds with a 95 % percentile-bootstrap CI; the dashed line is 0' },
    data: { values: points },
    vconcat: claims.map(panel),
    spacing: 16,
    resolve: { scale: { x: 'independent', y: 'independent' } },
  } as unknown as TopLevelSpec;
  return {
    name,
    title,
    spec,
    caption:
      'One panel per claim (its measure under the title), one row per config or residual pair; green where the CI lies on the side the paper reports, red where it lies on the other, grey where it spans 0. ' +
      'The numbers are in the claims table (tables/claims.csv).',
  };
}

