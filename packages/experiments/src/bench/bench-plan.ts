/**
 * What one benchmark run will measure, from its options: the layer groups (one layer pair, one
 * token count, its measures and τs), the train-step token counts, and the folder's timestamp.
 * Pure: no tensors, no files.
 */
import { MEASURES, type BenchOptions, type ExpertSet, type Width } from './bench-options.ts';
import type { LayerMeasure } from './layer-measures.ts';

/** One interleaved group: a MoE / MoE++ pair at one width and expert count, at one token count. */
export interface LayerGroup {
  width: Width;
  experts: ExpertSet;
  tokens: number;
  measures: LayerMeasure[];
  taus: number[];
}

/** UTC `YYYYMMDD-HHMMSS`. */
export function benchTimestamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/** The layer groups of the grid, merged across slices, in an order that reuses each layer pair. */
export function layerGroups(options: BenchOptions): LayerGroup[] {
  const groups = new Map<string, LayerGroup>();
  for (const slice of options.grid) {
    for (const width of slice.widths) {
      for (const experts of slice.experts) {
        for (const tokens of slice.tokens) {
          const measures = slice.measures.filter((m): m is LayerMeasure => m !== 'train_step');
          if (measures.length === 0) continue;
          const key = `${width}|${experts}|${tokens}`;
          const g = groups.get(key) ?? { width, experts, tokens, measures: [], taus: [] };
          g.measures = MEASURES.filter((m): m is LayerMeasure => m !== 'train_step' && (g.measures.includes(m as LayerMeasure) || measures.includes(m as LayerMeasure)));
          g.taus = [...new Set([...g.taus, ...slice.taus])].sort((a, b) => a - b);
          groups.set(key, g);
        }
      }
    }
  }
  const widthOrder: Width[] = ['small', 'paper'];
  return [...groups.values()].sort((a, b) => widthOrder.indexOf(a.width) - widthOrder.indexOf(b.width) || a.experts - b.experts || a.tokens - b.tokens);
}

/** Token counts of the train-step measure. */
export function trainStepTokens(options: BenchOptions): number[] {
  return [...new Set(options.grid.filter((s) => s.measures.includes('train_step')).flatMap((s) => s.tokens))].sort((a, b) => a - b);
}
