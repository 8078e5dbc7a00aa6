/**
 * Zero-computation experts as a difficulty signal: per Brown genre, the validation loss against
 * the FFN experts its tokens got (evaluation.json), one point per genre and MoE++ config (mean
 * over seeds). The paper's reading predicts a rising cloud: harder text, more FFN experts.
 */
import type { TopLevelSpec } from 'vega-lite';
import { runsOf } from '../load-runs.ts';
import { configColor, round, VL_SCHEMA, type FigureContext } from './common.ts';
import type { Figure, SkippedFigure } from './render.ts';

/** Builds the difficulty-by-genre figure. */
export function difficultyByGenreFigure(ctx: FigureContext): Figure | SkippedFigure {
  const name = 'difficulty-by-genre';
  const title = 'Genre difficulty against FFN experts per token';
  const { study } = ctx;
  const points: Record<string, unknown>[] = [];
  for (const config of study.configs) {
    const runs = runsOf(study, config).filter((r) => r.evaluation !== null && (r.shape.moe?.zcExperts ?? 0) > 0);
    const genres = [...new Set(runs.flatMap((r) => Object.keys(r.evaluation!.byGenre)))];
    for (const genre of genres) {
      const groups = runs.map((r) => r.evaluation!.byGenre[genre]).filter((g) => g !== undefined && g.ffnExpertsPerToken !== null);
      if (groups.length === 0) continue;
      const mean = (f: (g: (typeof groups)[number]) => number) => round(groups.reduce((a, g) => a + f(g), 0) / groups.length);
      points.push({ config, genre, loss: mean((g) => g.loss), ffn: mean((g) => g.ffnExpertsPerToken!), tokens: mean((g) => g.tokens), n: groups.length });
    }
  }
  if (points.length === 0) return { name, title, reason: 'no MoE++ run with evaluation.json (genres need it; vanilla MoE has no zero-computation experts to skip to)' };
  const color = configColor(study.configs);
  const spec = {
    $schema: VL_SCHEMA,
    description: `Genre difficulty against FFN experts per token, study ${study.name}`,
    title: { text: 'Genre difficulty against FFN experts per token', subtitle: 'one point per Brown genre and MoE++ config; validation split, mean over seeds' },
    width: 420,
    height: 280,
    data: { values: points },
    mark: { type: 'point', filled: true, size: 45 },
    encoding: {
      x: { field: 'ffn', type: 'quantitative', title: 'FFN experts per token (mean over MoE layers)', scale: { zero: false } },
      y: { field: 'loss', type: 'quantitative', title: 'val loss of the genre (nats)', scale: { zero: false } },
      color,
      tooltip: [{ field: 'config' }, { field: 'genre' }, { field: 'loss' }, { field: 'ffn' }, { field: 'tokens' }, { field: 'n', title: 'seeds' }],
    },
  } as unknown as TopLevelSpec;
  return {
    name,
    title,
    spec,
    caption: 'If zero-computation experts mark easy tokens, genres with lower loss get fewer FFN experts (a rising cloud per config). The per-run Spearman ρ and its CI are in the claims table.',
  };
}
