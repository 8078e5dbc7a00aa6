/**
 * Measures of association for the paper's qualitative claims: Cramér's V of a contingency table
 * (how strongly one layer's expert choice predicts the next layer's), bias-corrected so that an
 * independent table gives ≈ 0 at any sample size, and Spearman's rank correlation (ties get
 * their mean rank).
 */

/**
 * Bias-corrected Cramér's V (Bergsma 2013) of an r × c table of counts; rows and columns without
 * counts (dead experts) are left out. 0 = independent, 1 = one determines the other. NaN when
 * fewer than two rows or columns have counts.
 *
 * @example
 * cramersV([[10, 0], [0, 10]]); // 0.947… (1 before the bias correction)
 * cramersV([[5, 5], [5, 5]]);   // 0
 */
export function cramersV(table: readonly (readonly number[])[]): number {
  const rowSum = table.map((r) => r.reduce((a, b) => a + b, 0));
  const colSum = (table[0] ?? []).map((_, j) => table.reduce((a, r) => a + r[j], 0));
  const rows = rowSum.flatMap((s, i) => (s > 0 ? [i] : []));
  const cols = colSum.flatMap((s, j) => (s > 0 ? [j] : []));
  const n = rows.reduce((a, i) => a + rowSum[i], 0);
  if (rows.length < 2 || cols.length < 2 || n < 2) return NaN;
  let chi2 = 0;
  for (const i of rows) {
    for (const j of cols) {
      const expected = (rowSum[i] * colSum[j]) / n;
      chi2 += (table[i][j] - expected) ** 2 / expected;
    }
  }
  const r = rows.length;
  const k = cols.length;
  const phi2 = Math.max(0, chi2 / n - ((k - 1) * (r - 1)) / (n - 1));
  const rCorr = r - (r - 1) ** 2 / (n - 1);
  const kCorr = k - (k - 1) ** 2 / (n - 1);
  const denominator = Math.min(kCorr - 1, rCorr - 1);
  return denominator > 0 ? Math.sqrt(phi2 / denominator) : NaN;
}

/** Ranks 1…n, ties sharing their mean rank. */
function ranks(xs: readonly number[]): number[] {
  const order = xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(xs.length);
  for (let start = 0; start < order.length;) {
    let end = start;
    while (end + 1 < order.length && order[end + 1][0] === order[start][0]) end++;
    for (let k = start; k <= end; k++) out[order[k][1]] = (start + end) / 2 + 1;
    start = end + 1;
  }
  return out;
}

/**
 * Spearman's ρ: the Pearson correlation of the ranks. NaN for fewer than 3 pairs or a constant side.
 *
 * @example
 * spearman([1, 2, 3, 4], [10, 20, 30, 25]); // 0.8
 */
export function spearman(xs: readonly number[], ys: readonly number[]): number {
  if (xs.length !== ys.length) throw new Error(`spearman: ${xs.length} x values against ${ys.length} y values`);
  if (xs.length < 3) return NaN;
  const [rx, ry] = [ranks(xs), ranks(ys)];
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const [mx, my] = [mean(rx), mean(ry)];
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < rx.length; i++) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) ** 2;
    syy += (ry[i] - my) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}
