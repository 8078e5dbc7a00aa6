/**
 * The per-layer routing measures papers compare MoE designs by (core's routing-measures.ts):
 * MaxVio, load entropy, routing entropy, dead experts and drop rate, one panel each, per MoE
 * layer, mean ±1 std over seeds, one colour per config.
 */
import type { TopLevelSpec } from 'vega-lite';
import { runsOf } from '../load-runs.ts';
import type { RoutingMeasures } from '../run-folder-format.ts';
import { band, configColor, VL_SCHEMA, type FigureContext } from './common.ts';
import type { Figure, SkippedFigure } from './render.ts';

/** The measures drawn, in panel order, with their axis titles. */
export const ROUTING_MEASURE_PANELS: { key: keyof RoutingMeasures; title: string }[] = [
  { key: 'maxVio', title: 'MaxVio (max load / balanced load − 1)' },
  { key: 'loadEntropy', title: 'load entropy / log E' },
  { key: 'routingEntropy', title: 'routing entropy per token (nats)' },
  { key: 'deadExperts', title: 'dead experts (< 10 % of balanced load)' },
  { key: 'dropRate', title: 'drop rate (share of slots over capacity)' },
];

/** Builds the routing-measures figure. */
export function routingMeasuresFigure(ctx: FigureContext): Figure | SkippedFigure {
  const name = 'routing-measures';
  const title = 'Routing measures per layer';
  const { study } = ctx;
  const points: Record<string, unknown>[] = [];
  for (const config of study.configs) {
    const runs = runsOf(study, config).filter((r) => r.routing.layers.some((l) => l.measures !== null));
    const layers = [...new Set(runs.flatMap((r) => r.routing.layers.map((l) => l.layer)))].sort((a, b) => a - b);
    for (const { key, title: measure } of ROUTING_MEASURE_PANELS) {
      for (const layer of layers) {
        const values = runs.map((r) => r.routing.layers.find((l) => l.layer === layer)?.measures?.[key] ?? NaN);
        points.push({ config, layer, measure, ...band(values) });
      }
    }
  }
  if (points.length === 0) return { name, title, reason: 'no routing measures in routing.json (run folders written before they were recorded)' };
  const color = configColor(study.configs);
  const x = { field: 'layer', type: 'ordinal', title: 'MoE layer', axis: { labelAngle: 0 } };
  const panel = ({ title: measure }: { title: string }, i: number) => ({
    title: { text: measure, fontSize: 11 },
    transform: [{ filter: { field: 'measure', equal: measure } }],
    width: 170,
    height: 150,
    layer: [
      { name: `measure_err_${i}`, mark: { type: 'rule' }, encoding: { x, y: { field: 'lo', type: 'quantitative', title: null, axis: { format: '~g' } }, y2: { field: 'hi' }, color } },
      { name: `measure_line_${i}`, mark: { type: 'line' }, encoding: { x, y: { field: 'mean', type: 'quantitative' }, color } },
      { name: `measure_point_${i}`, mark: { type: 'point', filled: true }, encoding: { x, y: { field: 'mean', type: 'quantitative' }, color, tooltip: [{ field: 'config' }, { field: 'layer' }, { field: 'mean' }, { field: 'std' }, { field: 'n', title: 'seeds' }] } },
    ],
  });
  const spec = {
    $schema: VL_SCHEMA,
    description: `Routing measures per layer, study ${study.name}`,
    title: { text: 'Routing measures per MoE layer', subtitle: 'held-out data; mean ±1 std over seeds' },
    data: { values: points },
    hconcat: ROUTING_MEASURE_PANELS.map(panel),
    spacing: 14,
  } as unknown as TopLevelSpec;
  return {
    name,
    title,
    spec,
    caption:
      'Per MoE layer on held-out data: MaxVio (0 = every expert at its balanced load — the mean for FFN experts, the heterogeneous τ-weighted target with ZC experts), ' +
      'entropy of the load over experts (1 = uniform), mean per-token entropy of the routing scores, experts under 10 % of their balanced load, and the share of slots dropped by capacity.',
  };
}
