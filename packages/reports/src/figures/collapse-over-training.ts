/**
 * The FFN-expert collapse as a run trains: FFN MaxVio and dead FFN experts per MoE layer at
 * every periodic evaluation (routing.json `loadOverTraining`, the same held-out slice each time)
 * and at the end (the final evaluation), mean ±1 std over seeds, one colour per config.
 */
import type { TopLevelSpec } from 'vega-lite';
import { ffnLoads, layerFfnCollapse } from '../ffn-collapse.ts';
import { runsOf, type LoadedRun } from '../load-runs.ts';
import { band, configColor, VL_SCHEMA, type FigureContext } from './common.ts';
import type { Figure, SkippedFigure } from './render.ts';

const MEASURES = [
  { key: 'maxVio', title: 'FFN MaxVio' },
  { key: 'dead', title: 'dead FFN experts' },
] as const;

/** (step, per-layer FFN collapse) of a run: its periodic records, then its final evaluation. */
function history(run: LoadedRun): { step: number; layers: { maxVio: number; dead: number }[] }[] {
  const h = run.routing.loadOverTraining;
  if (!h) return [];
  const at = (loads: readonly (readonly number[])[]) => ffnLoads(run, loads).map(layerFfnCollapse);
  return [
    ...h.steps.map((step, s) => ({ step, layers: at(h.tokensPerExpert[s]) })),
    { step: run.summary.steps, layers: at(run.routing.layers.map((l) => l.tokensPerExpert)) },
  ];
}

/** Builds the collapse-over-training figure. */
export function collapseOverTrainingFigure(ctx: FigureContext): Figure | SkippedFigure {
  const name = 'collapse-over-training';
  const title = 'FFN-expert collapse over training';
  const { study } = ctx;
  const points: Record<string, unknown>[] = [];
  let layerCount = 0;
  for (const config of study.configs) {
    const histories = runsOf(study, config).map(history).filter((h) => h.length > 0 && h[0].layers.length > 0);
    if (histories.length === 0) continue;
    const steps = [...new Set(histories.flatMap((h) => h.map((p) => p.step)))].sort((a, b) => a - b);
    layerCount = Math.max(layerCount, ...histories.map((h) => h[0].layers.length));
    for (const step of steps) {
      for (let layer = 0; layer < layerCount; layer++) {
        for (const { key, title: measure } of MEASURES) {
          const values = histories.map((h) => h.find((p) => p.step === step)?.layers[layer]?.[key] ?? NaN);
          points.push({ config, step, layer: `MoE layer ${layer}`, measure, ...band(values) });
        }
      }
    }
  }
  if (points.length === 0) return { name, title, reason: 'no expert load over training in routing.json (run folders written before it was recorded, or runs without periodic evaluation)' };
  const color = configColor(study.configs);
  const x = { field: 'step', type: 'quantitative', title: 'step' };
  const panel = (measure: string, layer: number, i: number) => ({
    title: { text: `MoE layer ${layer}`, fontSize: 11 },
    transform: [{ filter: { and: [{ field: 'measure', equal: measure }, { field: 'layer', equal: `MoE layer ${layer}` }] } }],
    width: 150,
    height: 120,
    layer: [
      { name: `collapse_band_${i}`, mark: { type: 'area', opacity: 0.15 }, encoding: { x, y: { field: 'lo', type: 'quantitative', title: layer === 0 ? measure : null }, y2: { field: 'hi' }, color } },
      { name: `collapse_line_${i}`, mark: { type: 'line', point: true }, encoding: { x, y: { field: 'mean', type: 'quantitative' }, color, tooltip: [{ field: 'config' }, { field: 'step' }, { field: 'mean' }, { field: 'std' }, { field: 'n', title: 'seeds' }] } },
    ],
  });
  const spec = {
    $schema: VL_SCHEMA,
    description: `FFN-expert collapse over training, study ${study.name}`,
    title: { text: 'FFN-expert collapse over training, per MoE layer', subtitle: 'held-out slice at each periodic evaluation, then the final evaluation; mean ±1 std over seeds' },
    data: { values: points },
    vconcat: MEASURES.map(({ title: measure }, m) => ({ hconcat: Array.from({ length: layerCount }, (_, l) => panel(measure, l, m * layerCount + l)) })),
    spacing: 10,
  } as unknown as TopLevelSpec;
  return {
    name,
    title,
    spec,
    caption:
      'FFN experts only (zero-computation experts left out): top row, the busiest FFN expert\'s load over the mean FFN load − 1; bottom row, FFN experts under 10 % of the mean FFN load. ' +
      'Periodic points use the first evaluation windows of the validation split, the last point the final evaluation\'s larger set; when the collapse sets in says whether warm-up or the balance loss can prevent it.',
  };
}
