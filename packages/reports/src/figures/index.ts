/**
 * Every figure of a study report, in report order. Each builder returns a self-contained
 * Vega-Lite spec or the reason the study's data cannot support it.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { FigureContext } from './common.ts';
import { expertLoadFigure } from './expert-load.ts';
import { ffnPerPosFigure } from './ffn-per-pos.ts';
import { lossCurvesFigure } from './loss-curves.ts';
import { BASE_CONFIG, isFigure, type Figure, type SkippedFigure } from './render.ts';
import { routingVarianceFigure } from './routing-variance.ts';
import { tauTradeoffFigure } from './tau-tradeoff.ts';
import { zcShareFigure } from './zc-share.ts';
import { expertLoadPerSeedFigure } from './expert-load-per-seed.ts';
import { routingMeasuresFigure } from './routing-measures.ts';
import { routerSaturationFigure } from './router-saturation.ts';
import { coActivationFigure } from './co-activation.ts';
import { collapseOverTrainingFigure } from './collapse-over-training.ts';
import { paperClaimsFigure } from './paper-claims.ts';
import { accuracyByPosFigure } from './accuracy-by-pos.ts';
import { difficultyByGenreFigure } from './difficulty-by-genre.ts';

/** The figure builders, in the order report.md shows them. */
export const FIGURE_BUILDERS: ((ctx: FigureContext) => Figure | SkippedFigure)[] = [
  lossCurvesFigure,
  tauTradeoffFigure,
  expertLoadFigure,
  expertLoadPerSeedFigure,
  ffnPerPosFigure,
  routingVarianceFigure,
  zcShareFigure,
  routingMeasuresFigure,
  routerSaturationFigure,
  coActivationFigure,
  collapseOverTrainingFigure,
  paperClaimsFigure,
  difficultyByGenreFigure,
  accuracyByPosFigure,
];

/** Builds every figure of a study; specs get the shared look (`BASE_CONFIG`). */
export function buildFigures(ctx: FigureContext): (Figure | SkippedFigure)[] {
  return FIGURE_BUILDERS.map((build) => {
    const f = build(ctx);
    if (!isFigure(f)) return f;
    const own = ((f.spec as { config?: Record<string, object> }).config ?? {}) as Record<string, object>;
    return { ...f, spec: { ...f.spec, config: mergeConfig(BASE_CONFIG, own) } as TopLevelSpec };
  });
}

/** Merges a figure's own config over the base, one level deep (e.g. `axis.grid` only). */
function mergeConfig(base: Record<string, unknown>, own: Record<string, object>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(own)) {
    const b = base[k];
    out[k] = typeof b === 'object' && b !== null && typeof v === 'object' ? { ...b, ...v } : v;
  }
  return out;
}

export type { FigureContext } from './common.ts';
export {
  accuracyByPosFigure, collapseOverTrainingFigure, difficultyByGenreFigure, paperClaimsFigure,
  coActivationFigure, expertLoadFigure, expertLoadPerSeedFigure, ffnPerPosFigure, lossCurvesFigure, routerSaturationFigure, routingMeasuresFigure,
  routingVarianceFigure, tauTradeoffFigure, zcShareFigure,
};
