import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCustomCorpus } from './custom-corpus.ts';
import { tempDir } from './fixtures/test-tokenizer.ts';
import { POS_CLASS_ID } from './pos-classes.ts';

function file(name: string, content: string | Uint8Array): string {
  const path = join(tempDir(), name);
  writeFileSync(path, content);
  return path;
}

const words = (d: { text: string; wordStarts: Uint32Array; wordEnds: Uint32Array }) =>
  [...d.wordStarts].map((s, i) => d.text.slice(s, d.wordEnds[i]));

describe('loadCustomCorpus', () => {
  it('reads plain text: documents separated by blank lines, CRLF normalised, BOM dropped', () => {
    const path = file('corpus.txt', '\uFEFFFirst doc, line one.\r\nLine two.\r\n\r\n  \r\nSecond doc: it\'s "here"!\n\n\n');
    const docs = loadCustomCorpus(path);
    expect(docs.map((d) => [d.id, d.genre, d.text])).toEqual([
      ['doc1', null, 'First doc, line one.\nLine two.'],
      ['doc2', null, 'Second doc: it\'s "here"!'],
    ]);
    expect(words(docs[1])).toEqual(['Second', 'doc', ':', "it's", '"', 'here', '"!']);
    expect(new Set(docs[1].wordPos)).toEqual(new Set([POS_CLASS_ID.other]));
  });

  it('reads JSONL with a text field, using id when given, skipping blank lines', () => {
    const path = file('corpus.jsonl', '{"text": "Alpha beta."}\n\n{"id": "x-7", "text": "Gamma\\r\\ndelta", "extra": 1}\n{"id": 3, "text": "Café 😀"}\n');
    const docs = loadCustomCorpus(path);
    expect(docs.map((d) => [d.id, d.text])).toEqual([['line1', 'Alpha beta.'], ['x-7', 'Gamma\ndelta'], ['3', 'Café 😀']]);
    expect(words(docs[2])).toEqual(['Café', '😀']);
  });

  it('format can be forced', () => {
    const path = file('corpus.data', '{"text": "a"}\n');
    expect(loadCustomCorpus(path, { format: 'jsonl' })[0].text).toBe('a');
    expect(loadCustomCorpus(path)[0].text).toBe('{"text": "a"}');
  });

  it('missing file: names the file and says where relative paths resolve', () => {
    expect(() => loadCustomCorpus('/nonexistent/corpus.txt')).toThrow(/Custom corpus file not found: \/nonexistent\/corpus\.txt\. Check the path/);
  });

  it('empty file (or only blank lines / empty texts): names the file and the expected formats', () => {
    for (const [name, content] of [['empty.txt', ''], ['blank.txt', '\n  \n\t\n'], ['empty.jsonl', '{"text": ""}\n{"text": "  "}\n']]) {
      const path = file(name, content);
      expect(() => loadCustomCorpus(path)).toThrow(new RegExp(`Custom corpus ${path.replace(/[.]/g, '\\.')} is empty.*documents separated by blank lines.*\\.jsonl`));
    }
  });

  it('JSONL line without a string text: names file and line and how to fix it', () => {
    const cases: [string, RegExp][] = [
      ['{"text": "ok"}\n{"body": "no text"}\n', /corpus\.jsonl:2: expected a JSON object with a string field "text", got an object without "text"\. Fix or remove this line/],
      ['{"text": "ok"}\n\n{"text": 42}\n', /corpus\.jsonl:3: expected .*got "text" of type number/],
      ['["text"]\n', /corpus\.jsonl:1: expected .*got an array/],
      ['"just a string"\n', /corpus\.jsonl:1: expected .*got a string/],
      ['{"text": "ok"}\n{"text": "unterminated}\n', /corpus\.jsonl:2: not valid JSON \(.*\)\. Each line of corpus\.jsonl must be one JSON object/],
    ];
    for (const [content, message] of cases) expect(() => loadCustomCorpus(file('corpus.jsonl', content))).toThrow(message);
  });

  it('non-UTF-8 file: names the file, the first bad byte and line, and how to convert', () => {
    const latin1 = Buffer.concat([Buffer.from('fine line\nna'), Buffer.from([0xef, 0x76, 0x65]), Buffer.from('\n')]); // "naïve" in Latin-1 (0xEF not followed by continuation bytes)
    const path = file('latin1.txt', latin1);
    expect(() => loadCustomCorpus(path)).toThrow(/latin1\.txt is not valid UTF-8 \(first bad byte at offset 12, line 2\)\. Convert it to UTF-8, e\.g\. `iconv/);
    const jsonl = file('bad.jsonl', Buffer.concat([Buffer.from('{"text": "caf'), Buffer.from([0xe9]), Buffer.from('"}\n')]));
    expect(() => loadCustomCorpus(jsonl)).toThrow(/bad\.jsonl is not valid UTF-8 \(first bad byte at offset 13, line 1\)/);
  });
});
