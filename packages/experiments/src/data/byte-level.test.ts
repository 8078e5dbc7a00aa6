import { byteLevelAlphabet } from 'tokenizers';
import { describe, expect, it } from 'vitest';
import { BYTE_TO_CHAR, textToByteLevel, tokenToBytes } from './byte-level.ts';

describe('byte-level table', () => {
  it('is the same 256 characters the tokenizers library uses', () => {
    expect(new Set(BYTE_TO_CHAR).size).toBe(256);
    expect([...BYTE_TO_CHAR].sort()).toEqual([...byteLevelAlphabet()].sort());
    expect(BYTE_TO_CHAR[32]).toBe('Ġ');
    expect(BYTE_TO_CHAR[10]).toBe('Ċ');
    expect(BYTE_TO_CHAR[65]).toBe('A');
  });

  it('round-trips any UTF-8 text', () => {
    const text = 'Straße — naïve 😀\n\ttab';
    const bl = textToByteLevel(text);
    expect(Buffer.from(tokenToBytes(bl)).toString('utf8')).toBe(text);
    expect(textToByteLevel(' é')).toBe('ĠÃ©');
    expect(() => tokenToBytes('Ā€')).toThrow(/not a byte-level token/);
  });
});
