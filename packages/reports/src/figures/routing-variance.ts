/**
 * Variance of the routing scores (router probabilities over tokens and experts) per MoE layer,
 * for configs with and without the gating residual: the paper reports that the residual lowers
 * this variance without moving the mean.
 */
import type { TopLevelSpec } from 'vega-lite';
import { runsOf } from '../load-runs.ts';
import { band, configColor, VL_SCHEMA, type FigureContext } from './common.ts';
import type { Figure, SkippedFigure } from './render.ts';

/** Builds the routing-score variance figure. */
export function routingVarianceFigure(ctx: FigureContext): Figure | SkippedFigure {
  const name = 'routing-variance';
  const title = 'Routing-score variance per layer';
  const { study, rows } = ctx;
  const points: Record<string, unknown>[] = [];
  for (const row of rows) {
    if (row.gatingResidual === null) continue;
    const runs = runsOf(study, row.config);
    const layers = [...new Set(runs.flatMap((r) => r.routing.layers.map((l) => l.layer)))].sort((a, b) => a - b);
    for (const layer of layers) {
      const vals = runs.map((r) => r.routing.layers.find((l) => l.layer === layer)?.routingScoreVariance ?? NaN);
      points.push({ config: row.config, layer, residual: row.gatingResidual ? 'with gating residual' : 'without gating residual', ...band(vals) });
    }
  }
  if (points.length === 0) return { name, title, reason: 'no MoE configuration with routing statistics' };
  const residuals = new Set(points.map((p) => p.residual));
  const color = configColor(study.configs);
  const x = { field: 'layer', type: 'ordinal', title: 'MoE layer', axis: { labelAngle: 0 } };
  const strokeDash = { field: 'residual', type: 'nominal', title: null, scale: { domain: ['with gating residual', 'without gating residual'], range: [[1, 0], [5, 3]] } };
  const spec = {
    $schema: VL_SCHEMA,
    description: `Routing-score variance per layer, study ${study.name}`,
    title: { text: 'Routing-score variance per layer', subtitle: 'variance of router probabilities over tokens and experts; mean ±1 std over seeds' },
    width: 360,
    height: 240,
    data: { values: points },
    layer: [
      { name: 'var_err', mark: { type: 'rule' }, encoding: { x, y: { field: 'lo', type: 'quantitative', title: 'routing-score variance', axis: { format: '.2~e' } }, y2: { field: 'hi' }, color } },
      { name: 'var_line', mark: { type: 'line' }, encoding: { x, y: { field: 'mean', type: 'quantitative' }, color, strokeDash } },
      { name: 'var_point', mark: { type: 'point', filled: true }, encoding: { x, y: { field: 'mean', type: 'quantitative' }, color } },
    ],
  } as unknown as TopLevelSpec;
  const both = residuals.size === 2;
  return {
    name,
    title,
    spec,
    caption: both
      ? 'Variance of the routing probabilities in each MoE layer, solid with gating residual and dashed without; the paper finds the residual lowers it (configs also differ in their expert sets, compare like with like).'
      : `Variance of the routing probabilities in each MoE layer; every config here is ${[...residuals][0]}, so the figure cannot isolate the residual's effect.`,
  };
}
