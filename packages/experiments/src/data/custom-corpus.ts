/**
 * A user's own corpus instead of Brown: a plain-text file (documents separated by blank lines) or
 * JSONL (one JSON object per line with a string field `text`). POS is unknown, so every word has
 * class `other`; words still matter for the initial/fragment piece kind.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import type { CorpusDocument } from './corpus-document.ts';
import { POS_CLASS_ID } from './pos-classes.ts';

/** Format of a custom corpus file. */
export type CustomCorpusFormat = 'text' | 'jsonl';

/** Options of {@link loadCustomCorpus}. */
export interface CustomCorpusOptions {
  /** Force a format; by default `.jsonl` / `.ndjson` files are JSONL and anything else plain text. */
  readonly format?: CustomCorpusFormat;
}

const FORMAT_HELP =
  'A custom corpus is a UTF-8 plain-text file with documents separated by blank lines, ' +
  'or a .jsonl file with one object per line such as {"text": "..."}.';

/**
 * Words of a custom document: runs of letters/digits (with inner apostrophes, as in "don't"), or
 * runs of other non-space symbols — close to how Brown tokenizes, so "initial" and "fragment"
 * mean the same thing on both corpora.
 */
const WORD = /[\p{L}\p{M}\p{N}]+(?:['’][\p{L}\p{M}\p{N}]+)*|[^\s\p{L}\p{M}\p{N}]+/gu;

/**
 * Makes a {@link CorpusDocument} of plain text with unknown POS (all words `other`).
 *
 * @example
 * textDocument('doc1', "It's here.").wordStarts; // Uint32Array [0, 5, 9]  ("It's", "here", ".")
 */
export function textDocument(id: string, text: string, genre: string | null = null): CorpusDocument {
  const starts: number[] = [];
  const ends: number[] = [];
  for (const m of text.matchAll(WORD)) {
    starts.push(m.index);
    ends.push(m.index + m[0].length);
  }
  return {
    id,
    genre,
    text,
    wordStarts: Uint32Array.from(starts),
    wordEnds: Uint32Array.from(ends),
    wordPos: new Uint8Array(starts.length).fill(POS_CLASS_ID.other),
  };
}

/**
 * Loads a custom corpus file. Document ids: `doc<N>` (1-based, in file order) for plain text; for
 * JSONL the object's `id` field when it is a string or number, else `line<N>` — the split hashes
 * these ids, so keep them stable. Text is kept as written except that CRLF becomes LF and a UTF-8
 * byte-order mark is dropped; empty documents are skipped.
 *
 * Throws an Error naming the file (and line) and the fix when the file is missing, is not UTF-8,
 * holds no text, or (JSONL) has a line that is not a JSON object with a string `text`.
 *
 * @example
 * const docs = loadCustomCorpus('my-corpus.jsonl');
 */
export function loadCustomCorpus(path: string, options: CustomCorpusOptions = {}): CorpusDocument[] {
  const full = resolve(path);
  if (!existsSync(full)) {
    throw new Error(`Custom corpus file not found: ${full}. Check the path (relative paths resolve from ${process.cwd()}).`);
  }
  if (!statSync(full).isFile()) throw new Error(`Custom corpus path is not a file: ${full}. ${FORMAT_HELP}`);
  const content = decodeUtf8(readFileSync(full), full);
  const format = options.format ?? (['.jsonl', '.ndjson'].includes(extname(full).toLowerCase()) ? 'jsonl' : 'text');
  const docs = format === 'jsonl' ? parseJsonl(content, full) : parsePlainText(content);
  if (docs.length === 0) {
    throw new Error(`Custom corpus ${full} is empty: it holds no non-blank text. ${FORMAT_HELP}`);
  }
  return docs;
}

/** Splits plain text into documents at blank lines (lines holding only whitespace count as blank). */
function parsePlainText(content: string): CorpusDocument[] {
  const docs: CorpusDocument[] = [];
  for (const block of content.split(/\n[ \t\f\v]*\n\s*/)) {
    const text = block.replace(/^\s+|\s+$/g, '');
    if (text !== '') docs.push(textDocument(`doc${docs.length + 1}`, text));
  }
  return docs;
}

function parseJsonl(content: string, file: string): CorpusDocument[] {
  const docs: CorpusDocument[] = [];
  const name = basename(file);
  const lines = content.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    const where = `${file}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new Error(`${where}: not valid JSON (${(e as Error).message}). Each line of ${name} must be one JSON object like {"text": "..."}.`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof (value as { text?: unknown }).text !== 'string') {
      throw new Error(`${where}: expected a JSON object with a string field "text", got ${describe(value)}. Fix or remove this line of ${name}.`);
    }
    const record = value as { text: string; id?: unknown };
    const text = record.text.replace(/\r\n?/g, '\n');
    if (text.trim() === '') continue;
    const id = typeof record.id === 'string' || typeof record.id === 'number' ? String(record.id) : `line${i + 1}`;
    docs.push(textDocument(id, text));
  }
  return docs;
}

/** Strict UTF-8 decoding; the error names the first bad byte's offset and line. */
function decodeUtf8(bytes: Buffer, file: string): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    const line = bytes.subarray(0, at).filter((b) => b === 0x0a).length + 1;
    throw new Error(
      `Custom corpus ${file} is not valid UTF-8 (first bad byte at offset ${at}, line ${line}). ` +
        `Convert it to UTF-8, e.g. \`iconv -f latin1 -t utf-8 in.txt > out.txt\`.`,
    );
  }
  // TextDecoder drops a leading BOM by default; normalise line endings so that blank-line
  // detection and the text the tokenizer sees are the same on every platform.
  return text.replace(/\r\n?/g, '\n');
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence (RFC 3629). */
function firstInvalidUtf8(bytes: Uint8Array): number {
  const cont = (b: number | undefined, lo = 0x80, hi = 0xbf) => b !== undefined && b >= lo && b <= hi;
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    if (b < 0x80) i += 1;
    else if (b >= 0xc2 && b <= 0xdf && cont(bytes[i + 1])) i += 2;
    else if (
      b >= 0xe0 && b <= 0xef &&
      cont(bytes[i + 1], b === 0xe0 ? 0xa0 : 0x80, b === 0xed ? 0x9f : 0xbf) && // no overlongs, no surrogates
      cont(bytes[i + 2])
    ) i += 3;
    else if (
      b >= 0xf0 && b <= 0xf4 &&
      cont(bytes[i + 1], b === 0xf0 ? 0x90 : 0x80, b === 0xf4 ? 0x8f : 0xbf) && // no overlongs, <= U+10FFFF
      cont(bytes[i + 2]) && cont(bytes[i + 3])
    ) i += 4;
    else return i;
  }
  return bytes.length;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') {
    const text = (value as { text?: unknown }).text;
    return text === undefined ? 'an object without "text"' : `"text" of type ${text === null ? 'null' : typeof text}`;
  }
  return `a ${typeof value}`;
}
