/** The paper's Table 3 (moepp-method.md §7): expert forward throughput increase of MoE++ over MoE, in %, by FFN experts and τ. */
export const PAPER_TABLE3: Record<number, Record<string, number>> = {
  8: { '0.1': 164.5, '0.25': 92.7, '0.5': 38.2, '0.75': 25.2, '1': 19.1 },
  16: { '0.1': 111.2, '0.25': 58.7, '0.5': 30.1, '0.75': 22.1, '1': 15.2 },
  32: { '0.1': 63.5, '0.25': 44.3, '0.5': 28.3, '0.75': 21.8, '1': 15.7 },
};

/**
 * @example
 * paperIncrease(16, 0.75); // 22.1
 */
export function paperIncrease(ffnExperts: number, tau: number): number | null {
  return PAPER_TABLE3[ffnExperts]?.[String(tau)] ?? null;
}
