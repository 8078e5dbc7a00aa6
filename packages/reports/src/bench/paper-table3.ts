/**
 * The paper's Table 3 (moepp-method.md §7): expert-forward throughput increase of MoE++ over
 * MoE, in %, at τ = 0.1 … 1, for each of the paper's models. The one copy of these numbers: the
 * τ figure draws them as curves, the benchmark summary and targets look them up by FFN experts.
 */
export const PAPER_TABLE3: readonly { model: string; ffn: number; zc: number; increase: Readonly<Record<string, number>> }[] = [
  { model: '0.6B (8+4)E', ffn: 8, zc: 4, increase: { '0.1': 164.5, '0.25': 92.7, '0.5': 38.2, '0.75': 25.2, '1': 19.1 } },
  { model: '1B (16+4)E', ffn: 16, zc: 4, increase: { '0.1': 111.2, '0.25': 58.7, '0.5': 30.1, '0.75': 22.1, '1': 15.2 } },
  { model: '2B (32+8)E', ffn: 32, zc: 8, increase: { '0.1': 63.5, '0.25': 44.3, '0.5': 28.3, '0.75': 21.8, '1': 15.7 } },
];

/**
 * The paper's increase (in %) for the model with `ffnExperts` FFN experts at `tau`, or null where
 * the paper has no such cell.
 *
 * @example
 * paperIncrease(16, 0.75); // 22.1
 */
export function paperIncrease(ffnExperts: number, tau: number): number | null {
  return PAPER_TABLE3.find((p) => p.ffn === ffnExperts)?.increase[String(tau)] ?? null;
}
