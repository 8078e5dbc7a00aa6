/**
 * Coarse part-of-speech classes carried by every token, and the mapping from Brown Corpus tags.
 *
 * The classes are the ones the run folder's `routing.json` reports routing statistics by
 * (docs/run-folder.md): a token's class is the class of the word it came from. The ids are the
 * indices into {@link POS_CLASSES}, stored per token in a `Uint8Array`.
 */

/** Coarse POS classes, in id order (id = index). `other` is last so new classes never shift ids. */
export const POS_CLASSES = [
  'noun',
  'verb',
  'adjective',
  'adverb',
  'pronoun',
  'determiner',
  'preposition',
  'conjunction',
  'number',
  'punctuation',
  'other',
] as const;

/** One coarse POS class name. */
export type PosClass = (typeof POS_CLASSES)[number];

/** Numeric id of a POS class (index into {@link POS_CLASSES}). */
export type PosClassId = number;

/** Id of each class by name, e.g. `POS_CLASS_ID.noun === 0`. */
export const POS_CLASS_ID: Readonly<Record<PosClass, PosClassId>> = Object.freeze(
  Object.fromEntries(POS_CLASSES.map((name, id) => [name, id])) as Record<PosClass, PosClassId>,
);

/** Piece kinds stored per token: the first BPE piece of a word, or a later piece of it. */
export const PIECE_KINDS = ['initial', 'fragment'] as const;

/** One piece-kind name. */
export type PieceKind = (typeof PIECE_KINDS)[number];

/** `0` = word-initial piece (also used for end-of-document and whitespace-only pieces), `1` = fragment. */
export const PIECE_KIND_ID: Readonly<Record<PieceKind, number>> = Object.freeze({ initial: 0, fragment: 1 });

/**
 * Base Brown tags (after removing the decorations handled in {@link posClassOfBrownTag}) by class.
 * Where the Brown tagset and our classes disagree, the choice follows the universal tagset of
 * Petrov et al. (as in NLTK's `en-brown.map`) except where that tagset has a class we lack:
 * - `ap` (post-determiner: many, few, next, last, other) -> adjective, `od` (ordinal) -> adjective,
 *   `ex` (existential "there") -> determiner: as in the universal tagset.
 * - `cs` (subordinating conjunction: that, if, because) -> conjunction (the universal tagset lumps
 *   it with adpositions; we have a conjunction class, and "that/if" are conjunctions in Penn too).
 * - `rp` (particle: up, out) -> adverb, `abl` (pre-qualifier: quite, rather) -> adverb,
 *   `abn`/`abx` (pre-quantifiers: all, half, both) -> determiner: the universal tagset puts these
 *   under PRT, which we do not have.
 * - `to` (infinitival "to"), `uh` (interjection), `fw` (bare foreign-word tag), `nil` -> other.
 * - `md` (modal) and all forms of be/have/do -> verb.
 */
const BASE_TAG_CLASS: Readonly<Record<string, PosClass>> = Object.freeze({
  // nouns: common, proper, adverbial (home, Friday)
  nn: 'noun', nns: 'noun', np: 'noun', nps: 'noun', nr: 'noun', nrs: 'noun',
  // verbs: lexical, modal, be / have / do in all their forms
  vb: 'verb', vbd: 'verb', vbg: 'verb', vbn: 'verb', vbz: 'verb', md: 'verb',
  be: 'verb', bed: 'verb', bedz: 'verb', beg: 'verb', bem: 'verb', ben: 'verb', ber: 'verb', bez: 'verb',
  do: 'verb', dod: 'verb', doz: 'verb',
  hv: 'verb', hvd: 'verb', hvg: 'verb', hvn: 'verb', hvz: 'verb',
  // adjectives, ordinals, post-determiners
  jj: 'adjective', jjr: 'adjective', jjs: 'adjective', jjt: 'adjective', od: 'adjective', ap: 'adjective',
  // adverbs, qualifiers, particles, wh-adverbs
  rb: 'adverb', rbr: 'adverb', rbt: 'adverb', rn: 'adverb', rp: 'adverb',
  ql: 'adverb', qlp: 'adverb', wql: 'adverb', wrb: 'adverb', abl: 'adverb',
  // pronouns (possessive forms pp$, pp$$, wp$ arrive here with the `$` removed)
  pn: 'pronoun', pp: 'pronoun', ppl: 'pronoun', ppls: 'pronoun', ppo: 'pronoun', pps: 'pronoun',
  ppss: 'pronoun', wp: 'pronoun', wpo: 'pronoun', wps: 'pronoun',
  // determiners, articles, pre-quantifiers, wh-determiners, existential there
  at: 'determiner', dt: 'determiner', dti: 'determiner', dts: 'determiner', dtx: 'determiner',
  abn: 'determiner', abx: 'determiner', wdt: 'determiner', ex: 'determiner',
  in: 'preposition',
  cc: 'conjunction', cs: 'conjunction',
  cd: 'number',
  to: 'other', uh: 'other', fw: 'other', nil: 'other',
});

/**
 * Maps a Brown Corpus tag to its coarse class.
 *
 * Decorations are removed in this order: a `fw-` prefix (foreign word: the rest of the tag gives
 * its English-equivalent class); everything after the first `+` (contractions such as
 * `he'll/pps+md` take the class of their first part); the suffixes `-tl` (title), `-hl`
 * (headline), `-nc` (cited word); then a trailing `*` (negation: `didn't/dod*`) and `$`
 * (possessive: `Atlanta's/np$`). The bare tag `*` ("not", "n't") is an adverb; a tag without
 * letters (`.` `,` `:` `(` `)` `--` `''` `` `` `` `'`) is punctuation; unknown tags are `other`.
 *
 * @example
 * posClassOfBrownTag('nn-tl');   // 'noun'
 * posClassOfBrownTag('pps+md');  // 'pronoun'
 * posClassOfBrownTag('dod*');    // 'verb'
 * posClassOfBrownTag('.-hl');    // 'punctuation'
 */
export function posClassOfBrownTag(tag: string): PosClass {
  let t = tag.toLowerCase();
  if (t.startsWith('fw-')) t = t.slice(3);
  t = t.split('+')[0];
  // `--` is itself a tag (the dash), so only strip letter suffixes, never a bare `-`.
  t = t.replace(/(-(tl|hl|nc))+$/, '');
  if (t === '*') return 'adverb';
  if (!/[a-z]/.test(t)) return t.length > 0 ? 'punctuation' : 'other';
  t = t.replace(/[*$]+$/, '');
  return BASE_TAG_CLASS[t] ?? 'other';
}

/** {@link posClassOfBrownTag} as a class id; memoised because the corpus has ~470 distinct tags. */
export function posClassIdOfBrownTag(tag: string): PosClassId {
  let id = tagIdCache.get(tag);
  if (id === undefined) {
    id = POS_CLASS_ID[posClassOfBrownTag(tag)];
    tagIdCache.set(tag, id);
  }
  return id;
}
const tagIdCache = new Map<string, PosClassId>();
