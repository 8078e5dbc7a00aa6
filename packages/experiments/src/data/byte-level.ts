/**
 * GPT-2's byte-to-character table, which byte-level BPE vocabularies are written in.
 *
 * Byte-level BPE works on UTF-8 bytes, but vocab files hold strings; GPT-2 maps each of the 256
 * bytes to one printable Unicode character: the printable Latin-1 bytes (`!`…`~`, `¡`…`¬`,
 * `®`…`ÿ`) map to themselves and the other 68 bytes (controls, space, DEL, NBSP, soft hyphen)
 * to U+0100, U+0101, … in byte order — so a space is `Ġ` (U+0120) and a newline `Ċ` (U+010A).
 * The `tokenizers` Node binding has no byte-level decoder, so decoding is done here: map each
 * character of a token back to its byte, then UTF-8-decode the byte string.
 */

/** `BYTE_TO_CHAR[b]` is the character representing byte `b`. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

function buildByteToChar(): string[] {
  const table: string[] = new Array(256);
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCharCode(printable(b) ? b : 256 + next++);
  }
  return table;
}

/**
 * Bytes of a byte-level token string (each character stands for exactly one byte).
 *
 * @example
 * tokenToBytes('Ġthe'); // Uint8Array [32, 116, 104, 101]
 */
export function tokenToBytes(token: string): Uint8Array {
  const bytes = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const b = CHAR_TO_BYTE.get(token[i]);
    if (b === undefined) throw new Error(`'${token}' is not a byte-level token: character U+${token.charCodeAt(i).toString(16)} has no byte.`);
    bytes[i] = b;
  }
  return bytes;
}

/**
 * Byte-level string of some text (the inverse of {@link tokenToBytes} after UTF-8 encoding).
 *
 * @example
 * textToByteLevel(' é'); // 'ĠÃ©'
 */
export function textToByteLevel(text: string): string {
  let s = '';
  for (const b of Buffer.from(text, 'utf8')) s += BYTE_TO_CHAR[b];
  return s;
}
