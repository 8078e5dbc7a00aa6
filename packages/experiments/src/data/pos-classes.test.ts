import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BROWN_DOCUMENT_COUNT, brownCorpusDir, parseBrownFile, readBrownGenres } from './brown-corpus.ts';
import { POS_CLASSES, POS_CLASS_ID, posClassIdOfBrownTag, posClassOfBrownTag } from './pos-classes.ts';

describe('posClassOfBrownTag', () => {
  it.each([
    ['at', 'determiner'], ['np-tl', 'noun'], ['nn-tl', 'noun'], ['jj-tl', 'adjective'], ['vbd', 'verb'],
    ['nr', 'noun'], ['np$', 'noun'], ['nns$-tl', 'noun'], ['pp$', 'pronoun'], ['pp$$', 'pronoun'], ['wp$', 'pronoun'],
    ['pps+md', 'pronoun'], ['ppss+bem', 'pronoun'], ['vb+ppo', 'verb'], ['dod*', 'verb'], ['md*-hl', 'verb'],
    ['*', 'adverb'], ['*-hl', 'adverb'], ['md', 'verb'], ['bedz', 'verb'], ['hvz', 'verb'], ['cs', 'conjunction'],
    ['cc-tl', 'conjunction'], ['in', 'preposition'], ['cd', 'number'], ['cd-hl', 'number'], ['od', 'adjective'],
    ['ap', 'adjective'], ['abn', 'determiner'], ['ex', 'determiner'], ['wdt', 'determiner'], ['rp', 'adverb'],
    ['ql', 'adverb'], ['wrb', 'adverb'], ['fw-nn', 'noun'], ['fw-in+at-tl', 'preposition'], ['fw-*', 'adverb'],
    ['.', 'punctuation'], ['.-hl', 'punctuation'], [',', 'punctuation'], ['--', 'punctuation'], ['---hl', 'punctuation'],
    ["''", 'punctuation'], ['``', 'punctuation'], ["'", 'punctuation'], ['(', 'punctuation'], [')-hl', 'punctuation'],
    ['to', 'other'], ['uh', 'other'], ['nil', 'other'], ['fw', 'other'], ['xyz', 'other'],
  ])('%s -> %s', (tag, expected) => {
    expect(posClassOfBrownTag(tag)).toBe(expected);
    expect(posClassIdOfBrownTag(tag)).toBe(POS_CLASS_ID[expected as (typeof POS_CLASSES)[number]]);
  });

  it('ids are the indices of POS_CLASSES, other last', () => {
    POS_CLASSES.forEach((c, i) => expect(POS_CLASS_ID[c]).toBe(i));
    expect(POS_CLASSES.at(-1)).toBe('other');
  });

  it('maps every tag in the corpus to a real class except the deliberate "other" tags', () => {
    const dir = brownCorpusDir();
    const tags = new Map<string, number>();
    for (const id of readBrownGenres(dir).keys()) {
      for (const p of parseBrownFile(readFileSync(join(dir, id), 'utf8'))) for (const t of p) tags.set(t.tag, (tags.get(t.tag) ?? 0) + 1);
    }
    expect(readBrownGenres(dir).size).toBe(BROWN_DOCUMENT_COUNT);
    const unmapped = [...tags.keys()].filter((t) => posClassOfBrownTag(t) === 'other');
    // Every tag left as "other" reduces to to / uh / nil / bare fw once decorations are removed.
    for (const t of unmapped) expect(t.replace(/^fw-/, '').split('+')[0].replace(/(-(tl|hl|nc))+$/, '')).toMatch(/^(to|uh|nil|fw)$/);
    let other = 0, total = 0;
    for (const [t, n] of tags) {
      total += n;
      if (unmapped.includes(t)) other += n;
    }
    expect(total).toBe(1_161_192);
    expect(other / total).toBeLessThan(0.02); // "to" (~15k) dominates the rest
  });
});
