/**
 * Expert kinds are explicit data on a layer: an array with one kind per expert, built from
 * counts. Nothing anywhere infers a kind from an expert's position.
 */

export type ExpertKind = 'ffn' | 'zero' | 'copy' | 'constant';
export const EXPERT_KINDS: readonly ExpertKind[] = ['ffn', 'zero', 'copy', 'constant'];
export const ZERO_COMPUTATION_KINDS: readonly ExpertKind[] = ['zero', 'copy', 'constant'];

/** How many experts of each kind a layer has; omitted kinds count 0. */
export interface ExpertCounts {
  ffn: number;
  zero?: number;
  copy?: number;
  constant?: number;
}

/**
 * The layer's expert kinds in the weight layout of the released MoE++ 7B: FFN experts first,
 * then constant, then copy, then zero — so imported reference weights need no reordering.
 *
 * @example
 * expertKindsFromCounts({ ffn: 2, zero: 1, copy: 1, constant: 1 });
 * // ['ffn', 'ffn', 'constant', 'copy', 'zero']
 */
export function expertKindsFromCounts(counts: ExpertCounts): ExpertKind[] {
  return [
    ...Array<ExpertKind>(counts.ffn).fill('ffn'),
    ...Array<ExpertKind>(counts.constant ?? 0).fill('constant'),
    ...Array<ExpertKind>(counts.copy ?? 0).fill('copy'),
    ...Array<ExpertKind>(counts.zero ?? 0).fill('zero'),
  ];
}

/** Total experts E of a layer. */
export function totalExperts(counts: ExpertCounts): number {
  return counts.ffn + (counts.zero ?? 0) + (counts.copy ?? 0) + (counts.constant ?? 0);
}

/** Number of zero-computation experts. */
export function zeroComputationExperts(counts: ExpertCounts): number {
  return totalExperts(counts) - counts.ffn;
}

/** Indices of the experts of one kind, in layer order. */
export function indicesOfKind(kinds: readonly ExpertKind[], kind: ExpertKind): number[] {
  const out: number[] = [];
  kinds.forEach((k, i) => {
    if (k === kind) out.push(i);
  });
  return out;
}
