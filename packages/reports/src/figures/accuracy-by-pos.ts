/**
 * Next-token accuracy by the POS class of the token predicted (evaluation.json), mean ±1 std
 * over seeds, one colour per config: where in the language a config's gain or loss lies.
 */
import type { TopLevelSpec } from 'vega-lite';
import { ACCURACY_CLASSES } from '../beyond-perplexity.ts';
import { runsOf } from '../load-runs.ts';
import { band, configColor, VL_SCHEMA, type FigureContext } from './common.ts';
import type { Figure, SkippedFigure } from './render.ts';

/** Builds the accuracy-by-POS figure. */
export function accuracyByPosFigure(ctx: FigureContext): Figure | SkippedFigure {
  const name = 'accuracy-by-pos';
  const title = 'Next-token accuracy by POS class';
  const { study } = ctx;
  const points: Record<string, unknown>[] = [];
  for (const config of study.configs) {
    const runs = runsOf(study, config).filter((r) => r.evaluation !== null);
    if (runs.length === 0) continue;
    for (const pos of ACCURACY_CLASSES) {
      const values = runs.map((r) => 100 * (r.evaluation!.byTargetPos[pos]?.accuracy ?? NaN));
      points.push({ config, pos, ...band(values) });
    }
  }
  if (points.length === 0) return { name, title, reason: 'no evaluation.json (run folders written before it)' };
  const color = configColor(study.configs);
  const x = { field: 'pos', type: 'nominal', title: 'POS class of the predicted token', sort: [...ACCURACY_CLASSES], axis: { labelAngle: -30 } };
  const xOffset = { field: 'config', type: 'nominal', sort: [...study.configs] };
  const spec = {
    $schema: VL_SCHEMA,
    description: `Next-token accuracy by POS class, study ${study.name}`,
    title: { text: 'Next-token accuracy by POS class of the predicted token', subtitle: 'validation split; mean ±1 std over seeds' },
    width: 560,
    height: 240,
    data: { values: points },
    layer: [
      { name: 'acc_err', mark: { type: 'rule' }, encoding: { x, xOffset, y: { field: 'lo', type: 'quantitative', title: 'top-1 accuracy (%)' }, y2: { field: 'hi' }, color } },
      { name: 'acc_point', mark: { type: 'point', filled: true }, encoding: { x, xOffset, y: { field: 'mean', type: 'quantitative' }, color, tooltip: [{ field: 'config' }, { field: 'pos' }, { field: 'mean' }, { field: 'std' }, { field: 'n', title: 'seeds' }] } },
    ],
  } as unknown as TopLevelSpec;
  return {
    name,
    title,
    spec,
    caption: 'Share of validation predictions whose top-1 token is the target, grouped by the POS class of the target token; the cloze probe and these numbers are in the "Beyond perplexity" table.',
  };
}
