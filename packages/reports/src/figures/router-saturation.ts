/**
 * Router saturation over training (OLMoE §5, for top-1): at each periodic evaluation, the share
 * of a fixed held-out slice's tokens whose top-1 expert is already the final model's, mean over
 * MoE layers, ±1 std over seeds.
 */
import type { TopLevelSpec } from 'vega-lite';
import { runsOf } from '../load-runs.ts';
import { band, configColor, VL_SCHEMA, type FigureContext } from './common.ts';
import type { Figure, SkippedFigure } from './render.ts';

/** Builds the router-saturation figure. */
export function routerSaturationFigure(ctx: FigureContext): Figure | SkippedFigure {
  const name = 'router-saturation';
  const title = 'Router saturation over training';
  const { study } = ctx;
  const points: Record<string, unknown>[] = [];
  for (const config of study.configs) {
    const runs = runsOf(study, config).filter((r) => r.routing.routerSaturation !== null);
    const steps = [...new Set(runs.flatMap((r) => r.routing.routerSaturation?.steps ?? []))].sort((a, b) => a - b);
    for (const step of steps) {
      const values = runs.map((r) => {
        const s = r.routing.routerSaturation!;
        const row = s.top1AgreementWithFinal[s.steps.indexOf(step)];
        return row ? (100 * row.reduce((a, b) => a + b, 0)) / row.length : NaN;
      });
      points.push({ config, step, ...band(values) });
    }
  }
  if (points.length === 0) return { name, title, reason: 'no router-saturation record in routing.json (no periodic evaluation, or run folders written before it was recorded)' };
  const color = configColor(study.configs);
  const x = { field: 'step', type: 'quantitative', title: 'training step' };
  const spec = {
    $schema: VL_SCHEMA,
    description: `Router saturation, study ${study.name}`,
    title: { text: 'Router saturation', subtitle: 'top-1 expert already equal to the final model\'s (%), fixed held-out slice; mean over layers, ±1 std over seeds' },
    width: 360,
    height: 240,
    data: { values: points },
    layer: [
      { name: 'saturation_err', mark: { type: 'rule' }, encoding: { x, y: { field: 'lo', type: 'quantitative', title: 'top-1 agreement with final (%)', scale: { domain: [0, 100] } }, y2: { field: 'hi' }, color } },
      { name: 'saturation_line', mark: { type: 'line' }, encoding: { x, y: { field: 'mean', type: 'quantitative' }, color } },
      { name: 'saturation_point', mark: { type: 'point', filled: true }, encoding: { x, y: { field: 'mean', type: 'quantitative' }, color, tooltip: [{ field: 'config' }, { field: 'step' }, { field: 'mean' }, { field: 'n', title: 'seeds' }] } },
    ],
  } as unknown as TopLevelSpec;
  return {
    name,
    title,
    spec,
    caption:
      'At each periodic evaluation, the share of tokens of the same held-out slice whose top-1 expert equals the final model\'s (OLMoE\'s router saturation, for top-1), ' +
      'averaged over MoE layers: a router that settles early reaches 100 % long before the end.',
  };
}
