import { describe, expect, it } from 'vitest';
import { csvNumber, formatCsv, parseCsv, sixDigitNumber } from './csv.ts';

describe('parseCsv', () => {
  it('reads quoted fields, doubled quotes and CRLF', () => {
    const t = parseCsv('a,b,c\r\n1,"x,y","say ""hi"""\r\n2,,z\r\n');
    expect(t.header).toEqual(['a', 'b', 'c']);
    expect(t.rows).toEqual([{ a: '1', b: 'x,y', c: 'say "hi"' }, { a: '2', b: '', c: 'z' }]);
  });

  it('a blank line is not a record', () => {
    expect(parseCsv('a,b\n1,2\n\n3,4\n').rows).toEqual([{ a: '1', b: '2' }, { a: '3', b: '4' }]);
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

describe('formatCsv', () => {
  it('writes the header, then one line per row in column order, every line ending in \\n', () => {
    expect(formatCsv(['step', 'split', 'loss'], [{ loss: 2.5, split: 'val', step: 1 }, { step: 2, split: 'test', loss: 2.25 }])).toBe('step,split,loss\n1,val,2.5\n2,test,2.25\n');
    expect(formatCsv(['a', 'b'], [{ a: 1, b: 2 }], { header: false })).toBe('1,2\n');
    // A new log file starts as its header alone.
    expect(formatCsv(['a', 'b'], [])).toBe('a,b\n');
  });

  it('plain numbers are every digit JavaScript prints, as metrics.csv has always held them', () => {
    // A metrics.csv line as the trainer wrote it before this package existed (csv-writer).
    const line = '1,128,6.2540154457092285,6.251441955566406,0.25735825300216675,3.8098626136779785,0.0015,0.7641309499740601,1293.102333532462,1.109375,1e-7,NaN';
    const columns = line.split(',').map((_, i) => `c${i}`);
    const row = Object.fromEntries(line.split(',').map((v, i) => [`c${i}`, Number(v)]));
    expect(formatCsv(columns, [row], { header: false })).toBe(`${line}\n`);
  });

  it('quotes what would break a cell, leaves empty what is null or undefined', () => {
    expect(formatCsv(['a', 'b', 'c', 'd'], [{ a: 'x,y', b: 'say "hi"', c: null }], { header: false })).toBe('"x,y","say ""hi""",,\n');
    expect(formatCsv(['a'], [{ a: 'two\nlines' }], { header: false })).toBe('"two\nlines"\n');
  });

  it('six-digit numbers (bench CSVs): integers as they are, the rest at 6 significant digits, non-finite empty', () => {
    const six = (a: number) => formatCsv(['a'], [{ a }], { header: false, number: sixDigitNumber });
    expect(six(1 / 3)).toBe('0.333333\n');
    expect(six(123456789)).toBe('123456789\n');
    expect(six(1234.56789)).toBe('1234.57\n');
    expect(six(NaN)).toBe('\n');
    expect(six(-Infinity)).toBe('\n');
  });

  it('what it writes, parseCsv reads back cell for cell', () => {
    const rows = [{ name: 'a,"b"', x: '0.1', y: '' }, { name: 'plain', x: '-3e-8', y: 'z' }];
    expect(parseCsv(formatCsv(['name', 'x', 'y'], rows)).rows).toEqual(rows);
  });
});
