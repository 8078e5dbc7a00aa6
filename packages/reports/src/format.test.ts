import { describe, expect, it } from 'vitest';
import { decimalsFor, formatCount, formatMeanStd, formatSigned, markdownTable } from './format.ts';

describe('format', () => {
  it('shows two significant digits of the std, and the mean to the same decimals', () => {
    expect(formatMeanStd({ mean: 3.21456, std: 0.01234, n: 3 }, { expectedN: 3 })).toBe('3.215 ± 0.012');
    expect(formatMeanStd({ mean: 5212.3, std: 48.1, n: 3 }, { expectedN: 3 })).toBe('5212 ± 48');
    expect(formatMeanStd({ mean: 0.2235, std: 0.0018, n: 3 }, { expectedN: 3, scale: 100 })).toBe('22.35 ± 0.18');
  });

  it('marks a cell whose n differs from the row and handles one or no value', () => {
    expect(formatMeanStd({ mean: 4.155, std: 0.00707, n: 2 }, { expectedN: 3 })).toBe('4.1550 ± 0.0071 (n=2)');
    expect(formatMeanStd({ mean: 3.21456, std: NaN, n: 1 }, { expectedN: 3 })).toBe('3.2146 (n=1)');
    expect(formatMeanStd({ mean: NaN, std: NaN, n: 0 }, { expectedN: 3 })).toBe('–');
  });

  it('decimals follow the spread', () => {
    expect(decimalsFor(0.02)).toBe(3);
    expect(decimalsFor(1.2)).toBe(1);
    expect(decimalsFor(50)).toBe(0);
    expect(decimalsFor(0)).toBe(4);
  });

  it('compact counts keep significant zeros', () => {
    expect(formatCount(890_496)).toBe('890k');
    expect(formatCount(1_500_000)).toBe('1.5M');
    expect(formatCount(1_234_567_890)).toBe('1.23B');
    expect(formatCount(999)).toBe('999');
  });

  it('signed numbers and Markdown tables', () => {
    expect(formatSigned(0.0123, 3)).toBe('+0.012');
    expect(formatSigned(-0.3, 2)).toBe('-0.30');
    expect(markdownTable(['a', 'b'], [['x|y', '1']], ['l', 'r'])).toBe('| a | b |\n|---|---:|\n| x\\|y | 1 |\n');
  });
});
