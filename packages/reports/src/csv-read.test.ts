import { describe, expect, it } from 'vitest';
import { csvNumber, parseCsv } from './csv-read.ts';

describe('parseCsv', () => {
  it('reads quoted fields, doubled quotes and CRLF', () => {
    const t = parseCsv('a,b,c\r\n1,"x,y","say ""hi"""\r\n2,,z\r\n');
    expect(t.header).toEqual(['a', 'b', 'c']);
    expect(t.rows).toEqual([{ a: '1', b: 'x,y', c: 'say "hi"' }, { a: '2', b: '', c: 'z' }]);
  });

  it('rejects a truncated last line instead of reading zeros', () => {
    expect(() => parseCsv('step,loss\n1,2.5\n2', 'metrics.csv')).toThrow(/metrics.csv line 3 has 1 fields, header has 2/);
  });

  it('numbers: empty is NaN (not measured), garbage is an error', () => {
    const [row] = parseCsv('x,y,z\n1.5,,abc\n').rows;
    expect(csvNumber(row, 'x')).toBe(1.5);
    expect(csvNumber(row, 'y')).toBeNaN();
    expect(() => csvNumber(row, 'z', 'eval.csv')).toThrow(/eval.csv: z = 'abc' is not a number/);
  });
});
