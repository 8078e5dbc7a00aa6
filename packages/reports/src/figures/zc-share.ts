/**
 * Share of routing slots taken by each kind of zero-computation expert, per MoE layer and
 * config: where in depth tokens are discarded (zero), skip the layer (copy) or are replaced by
 * a learned constant.
 */
import type { TopLevelSpec } from 'vega-lite';
import { runsOf } from '../load-runs.ts';
import { ZC_KINDS } from '../run-folder-format.ts';
import { summarize } from '../statistics.ts';
import { round, VL_SCHEMA, type FigureContext } from './common.ts';
import type { Figure, SkippedFigure } from './render.ts';

/** Fixed colours per ZC kind, so that kinds read the same in every study. */
export const ZC_COLORS: Record<string, string> = { zero: '#4c78a8', copy: '#f58518', constant: '#54a24b' };

/** Builds the ZC-share figure. */
export function zcShareFigure(ctx: FigureContext): Figure | SkippedFigure {
  const name = 'zc-share';
  const title = 'ZC share per kind per layer';
  const { study, rows } = ctx;
  const configs = rows.filter((r) => r.tau !== null).map((r) => r.config);
  if (configs.length === 0) return { name, title, reason: 'no configuration has zero-computation experts' };
  const bars: Record<string, unknown>[] = [];
  for (const config of configs) {
    const runs = runsOf(study, config);
    const layers = [...new Set(runs.flatMap((r) => r.routing.layers.map((l) => l.layer)))].sort((a, b) => a - b);
    for (const layer of layers) {
      for (const kind of ZC_KINDS) {
        const s = summarize(runs.map((r) => r.routing.layers.find((l) => l.layer === layer)?.slotShare[kind] ?? NaN));
        if (s.n > 0 && runs.some((r) => r.routing.layers.some((l) => l.expertKinds.includes(kind)))) bars.push({ config, layer, kind, share: round(s.mean * 100), n: s.n });
      }
    }
  }
  const kinds = ZC_KINDS.filter((k) => bars.some((b) => b.kind === k));
  const spec = {
    $schema: VL_SCHEMA,
    description: `ZC expert share per kind and layer, study ${study.name}`,
    title: { text: 'Zero-computation share per kind and layer', subtitle: 'share of all N·K routing slots, mean over seeds; the rest go to FFN experts' },
    data: { values: bars },
    facet: { column: { field: 'config', type: 'nominal', title: null, sort: configs } },
    spec: {
      width: { step: 28 },
      height: 220,
      layer: [
        {
          name: 'zc_bar',
          mark: { type: 'bar' },
          encoding: {
            x: { field: 'layer', type: 'ordinal', title: 'MoE layer', axis: { labelAngle: 0 } },
            y: { field: 'share', type: 'quantitative', stack: 'zero', title: 'share of all routing slots (%)' },
            color: { field: 'kind', type: 'nominal', title: 'ZC kind', scale: { domain: kinds, range: kinds.map((k) => ZC_COLORS[k]) }, sort: kinds },
            order: { field: 'kind', sort: 'ascending' },
            tooltip: [{ field: 'config' }, { field: 'layer' }, { field: 'kind' }, { field: 'share', title: 'share (%)' }],
          },
        },
      ],
    },
  } as unknown as TopLevelSpec;
  return {
    name,
    title,
    spec,
    caption:
      'Share of all N·K routing slots that go to each kind of zero-computation expert in each MoE layer (mean over seeds; the rest go to FFN experts): ' +
      'a taller bar is a layer where more tokens are discarded, skipped or replaced by a constant.',
  };
}
