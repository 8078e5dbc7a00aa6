/**
 * A tiny seeded RNG for the bootstrap, so that a report is byte-identical on every re-run.
 * mulberry32 (Tommy Ettinger's 32-bit generator): one line, full 2^32 period, good enough for
 * resampling indices; the point here is reproducibility, not cryptographic quality.
 */

/**
 * A generator of uniform floats in [0, 1) determined by `seed`.
 *
 * @example
 * const rand = mulberry32(42);
 * rand(); // 0.6011037519201636, on every machine
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * 32-bit FNV-1a hash of a string: derives an independent, stable seed per table cell, so that
 * adding a config to a study does not change the confidence intervals of the others.
 *
 * @example
 * fnv1a('moepp-tau0.75:val.loss'); // a fixed uint32
 */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
